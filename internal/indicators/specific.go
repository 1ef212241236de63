package indicators

import (
	"errors"
	"fmt"
	"net/netip"
)

// One indicator must never be able to condemn every device: a network
// that covers a large part of the Internet, or an address no server
// can have (and every device's listening sockets show as the remote end,
// like 0.0.0.0), would turn the whole population contraindicated. So an
// indicator names at most a /16 of IPv4 or a /32 of IPv6, and never the
// unspecified address, a multicast or broadcast address, or a link-local
// one (a device's own router and a cloud's metadata service live there,
// no Internet server does). Documentation and loopback ranges are kept:
// feeds list them, and tests rely on them.
const (
	// MinBits4 is the shortest IPv4 prefix an indicator may have.
	MinBits4 = 16
	// MinBits6 is the shortest IPv6 prefix an indicator may have.
	MinBits6 = 32
)

// ErrNotSpecific: an address or network would match far more than one
// botnet server (too broad, unspecified, multicast, broadcast or
// link-local). The errors CheckAddr and CheckPrefix return say which,
// and match it with errors.Is.
var ErrNotSpecific = errors.New("not specific enough to be an indicator")

type notSpecific string

func (e notSpecific) Error() string        { return string(e) }
func (e notSpecific) Is(target error) bool { return target == ErrNotSpecific }

var unfit = []struct {
	p         netip.Prefix
	addr, net string // what an address in it is; what a network including it includes
}{
	{netip.MustParsePrefix("0.0.0.0/32"), "the unspecified address, which no server has", "the unspecified address"},
	{netip.MustParsePrefix("::/128"), "the unspecified address, which no server has", "the unspecified address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address, not a server's", "multicast addresses"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address, not a server's", "multicast addresses"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address, not a server's", "the broadcast address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address, not a server on the Internet", "link-local addresses"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address, not a server on the Internet", "link-local addresses"},
}

// CheckAddr tells whether a can be an indicator's address: not the
// unspecified address, not multicast, broadcast or link-local.
func CheckAddr(a netip.Addr) error {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return notSpecific("invalid address")
	}
	return CheckPrefix(netip.PrefixFrom(a, a.BitLen()))
}

// CheckPrefix tells whether p can be an indicator's network: at most
// MinBits4 (IPv4) or MinBits6 (IPv6) bits wide, and overlapping none of
// the ranges CheckAddr refuses.
func CheckPrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return notSpecific("invalid network")
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	min := MinBits4
	if p.Addr().Is6() {
		min = MinBits6
	}
	if p.Bits() < min {
		return notSpecific(fmt.Sprintf("%v is too broad: a network indicator is at most a /%d (IPv4) or a /%d (IPv6)", p, MinBits4, MinBits6))
	}
	for _, u := range unfit {
		if p.Overlaps(u.p) {
			if p.IsSingleIP() {
				return notSpecific(fmt.Sprintf("%v is %s", p.Addr(), u.addr))
			}
			return notSpecific(fmt.Sprintf("%v includes %s", p, u.net))
		}
	}
	return nil
}
