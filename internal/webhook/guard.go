package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress: a webhook would reach a link-local (cloud metadata
// at 169.254.169.254, fe80::/10), unspecified or multicast address.
var ErrForbiddenAddress = errors.New("webhook destinations may not be link-local, unspecified or multicast addresses")

// forbidden reports whether a webhook may never be delivered to ip.
func forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()
}

// CheckURL checks a relying party's webhook URL at registration: https,
// or http to a loopback host (tests, a local relay) unless allowInsecure
// (the operator's allow_insecure_webhooks) lifts that; never a literal
// link-local, unspecified or multicast address. Names are checked again,
// once resolved, at every delivery (SafeDialer).
func CheckURL(raw string, allowInsecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("webhook URL %q must be an https URL", raw)
	}
	host := u.Hostname()
	ip, ipErr := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if ipErr == nil && forbidden(ip) {
		return fmt.Errorf("webhook URL %q: %w", raw, ErrForbiddenAddress)
	}
	if u.Scheme == "http" && !allowInsecure {
		loopback := host == "localhost" || (ipErr == nil && ip.Unmap().IsLoopback())
		if !loopback {
			return fmt.Errorf("webhook URL %q must be https (plain http only to a loopback address, or with allow_insecure_webhooks in the serve config)", raw)
		}
	}
	return nil
}

// controlDial refuses a connection to a forbidden address. It runs after
// name resolution, on the address actually dialled, so a name that
// resolves (or is rebound) to such an address is refused too.
func controlDial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: dial %s: %w", address, err)
	}
	if forbidden(ap.Addr()) {
		return fmt.Errorf("webhook: dial %s: %w", address, ErrForbiddenAddress)
	}
	return nil
}

// SafeDialer is the dialer of webhook deliveries: it refuses link-local,
// unspecified and multicast destinations once resolved.
func SafeDialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: controlDial}
}

// safeClient is the default delivery client: SafeDialer, no proxy (a
// proxy would dial on the webhook's behalf, past the check), timeout.
func safeClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = SafeDialer().DialContext
	return &http.Client{Timeout: timeout, Transport: tr}
}
