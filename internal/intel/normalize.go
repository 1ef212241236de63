package intel

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/indicators"
)

// NormalizeAddr parses an IP address or CIDR prefix and returns its type
// and canonical text. Documentation and loopback ranges are kept: feeds
// publish what they saw. What would match far more than a botnet server
// is refused with an error matching indicators.ErrNotSpecific: a network
// broader than a /16 (IPv4) or a /32 (IPv6), and the unspecified,
// multicast, broadcast and link-local addresses. An IPv4-mapped IPv6
// address becomes IPv4; a host prefix (/32, /128) becomes an address.
func NormalizeAddr(s string) (Type, string, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", "", fmt.Errorf("%q is not an IP address or network", s)
		}
		a := p.Addr()
		if a.Zone() != "" {
			return "", "", fmt.Errorf("%q has a zone", s)
		}
		bits := p.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		p = netip.PrefixFrom(a, bits).Masked()
		if err := indicators.CheckPrefix(p); err != nil {
			return "", "", err
		}
		if bits == a.BitLen() {
			return addrType(a), a.String(), nil
		}
		return addrType(a), p.String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", "", fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	if err := indicators.CheckAddr(a); err != nil {
		return "", "", err
	}
	return addrType(a), a.String(), nil
}

func addrType(a netip.Addr) Type {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// NormalizeAddrPort splits "ip:port" or "[ipv6]:port".
func NormalizeAddrPort(s string) (Type, string, uint16, error) {
	s = strings.TrimSpace(s)
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", "", 0, fmt.Errorf("%q is not an address and port", s)
	}
	t, v, err := NormalizeAddr(ap.Addr().String())
	if err != nil {
		return "", "", 0, err
	}
	return t, v, ap.Port(), nil
}

// ParsePort reads a TCP/UDP port number; 0 and empty are "any port".
func ParsePort(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	return uint16(n), nil
}

// NormalizeDomain lowercases a host name, drops a final dot and checks it
// is a syntactically valid ASCII name with at least two labels (IDNs
// arrive in their xn-- form in feeds).
func NormalizeDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if d == "" {
		return "", errors.New("empty domain name")
	}
	if len(d) > 253 {
		return "", fmt.Errorf("domain name %.40q… is too long", d)
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return "", fmt.Errorf("%q is an IP address, not a domain name", d)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%q is not a fully qualified domain name", d)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("%q has an empty or overlong label", d)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return "", fmt.Errorf("%q is not a valid domain name", d)
			}
		}
	}
	return d, nil
}

// NormalizeURL checks a URL has a scheme and a host, and lowercases both.
func NormalizeURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an absolute URL", s)
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "", fmt.Errorf("%q contains white space", s)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	return u.String(), nil
}

// hashLen is the hex length of each hash type.
var hashLen = map[Type]int{SHA256: 64, SHA1: 40, MD5: 32}

// NormalizeHash checks a hex digest of type t and lowercases it.
func NormalizeHash(t Type, s string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	if len(h) != hashLen[t] {
		return "", fmt.Errorf("%q is not a %s hash (%d hex digits)", s, t, hashLen[t])
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("%q is not a hex %s hash", s, t)
		}
	}
	return h, nil
}

// hashType guesses a hash's type from its length.
func hashType(s string) Type {
	switch len(strings.TrimSpace(s)) {
	case 64:
		return SHA256
	case 40:
		return SHA1
	case 32:
		return MD5
	}
	return ""
}

// Normalize checks and normalises value as an indicator of type t.
func Normalize(t Type, value string) (Type, string, error) {
	switch t {
	case IPv4, IPv6:
		nt, v, err := NormalizeAddr(value)
		if err == nil && nt != t {
			return "", "", fmt.Errorf("%q is not an %s address", value, t)
		}
		return nt, v, err
	case Domain, URL, SHA256, SHA1, MD5, Process:
		var v string
		var err error
		switch t {
		case Domain:
			v, err = NormalizeDomain(value)
		case URL:
			v, err = NormalizeURL(value)
		case Process:
			v, err = indicators.ProcessName(value)
		default:
			v, err = NormalizeHash(t, value)
		}
		if err != nil {
			return "", "", err
		}
		return t, v, nil
	}
	return "", "", fmt.Errorf("unsupported indicator type %q", t)
}

// parseTime reads the date layouts feeds use; the zero time when none fits.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" || s == "n/a" || s == "None" || s == "null" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02 15:04:05 MST", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < 1<<40 {
		return time.Unix(n, 0).UTC()
	}
	return time.Time{}
}

// emptyValue reports the placeholders feeds use for "no value".
func emptyValue(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "n/a", "None", "none", "null", "-":
		return true
	}
	return false
}

// splitTags splits a comma-joined tag list, dropping placeholders.
func splitTags(s string) []string {
	if emptyValue(s) {
		return nil
	}
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); !emptyValue(t) {
			out = append(out, t)
		}
	}
	return out
}
