// Package indicators is the compact, read-only set of indicators of
// compromise a device holds: IP addresses (with or without a port),
// networks, domain names, SHA-256 file hashes and process names, each
// pointing at the feed and malware family it came from.
//
// A Set is built once with a Builder, or decoded from a bundle made by
// Encode, and then only read: sorted fixed-width arrays searched with
// binary search, so a million indicators take a few tens of megabytes and
// a lookup a few hundred nanoseconds. The encoding is deterministic (the
// same indicators give the same bytes whatever order they were added in)
// so the authority can sign bundles.
package indicators

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/herd-health/herd/internal/checks"
)

// Type names of the entries a Set holds, as checks.Match.Type reports them.
const (
	TypeIPv4    = "ipv4"
	TypeIPv6    = "ipv6"
	TypeDomain  = "domain"
	TypeSHA256  = "sha256"
	TypeProcess = "process"
)

// ErrUnsupported: the indicator type is not one a device matches (URLs,
// MD5 and SHA-1 stay with the authority).
var ErrUnsupported = errors.New("indicator type is not held on devices")

// Ref is where an indicator came from.
type Ref struct {
	Source string
	Family string
}

type v4Entry struct {
	addr uint32
	port uint16
	ref  uint32
}

type v6Entry struct {
	addr [16]byte
	port uint16
	ref  uint32
}

type prefixEntry struct {
	addr [16]byte // masked; IPv4 in the first 4 bytes
	bits uint8
	port uint16 // 0: any port
	ref  uint32
}

type hashEntry struct {
	sum [32]byte
	ref uint32
}

// names is a sorted list of strings in one blob.
type names struct {
	blob []byte
	offs []uint32 // len n+1
	refs []uint32
}

func (n *names) len() int { return len(n.refs) }
func (n *names) at(i int) string {
	return string(n.blob[n.offs[i]:n.offs[i+1]])
}

func (n *names) find(s string) (uint32, bool) {
	i := sort.Search(n.len(), func(i int) bool {
		return string(n.blob[n.offs[i]:n.offs[i+1]]) >= s
	})
	if i < n.len() && n.at(i) == s {
		return n.refs[i], true
	}
	return 0, false
}

// Set is a read-only indicator set. It implements checks.Indicators and
// is safe for concurrent use. A nil *Set holds nothing and has version 0.
type Set struct {
	version int64
	refs    []Ref
	v4      []v4Entry     // sorted by addr, port
	v6      []v6Entry     // sorted by addr, port
	p4, p6  []prefixEntry // sorted by bits descending, then addr, port
	domains names
	hashes  []hashEntry // sorted by sum
	procs   names
}

var _ checks.Indicators = (*Set)(nil)

// Version is the bundle version the set came from.
func (s *Set) Version() int64 {
	if s == nil {
		return 0
	}
	return s.version
}

// Counts says how many entries of each type the set holds (networks count
// with their address family).
func (s *Set) Counts() map[string]int {
	return map[string]int{
		TypeIPv4: len(s.v4) + len(s.p4), TypeIPv6: len(s.v6) + len(s.p6),
		TypeDomain: s.domains.len(), TypeSHA256: len(s.hashes), TypeProcess: s.procs.len(),
	}
}

// Len is the number of entries.
func (s *Set) Len() int {
	return len(s.v4) + len(s.v6) + len(s.p4) + len(s.p6) + s.domains.len() + len(s.hashes) + s.procs.len()
}

func (s *Set) match(typ, value string, ref uint32) checks.Match {
	r := s.refs[ref]
	return checks.Match{Type: typ, Indicator: value, Source: r.Source, Family: r.Family}
}

// MatchAddr looks up a remote address and port. An entry without a port
// matches every port; an entry with one matches only that port; a
// network matches every address in it (on its port, when it has one).
func (s *Set) MatchAddr(addr netip.Addr, port uint16) (checks.Match, bool) {
	addr = addr.Unmap().WithZone("")
	if s == nil || !addr.IsValid() {
		return checks.Match{}, false
	}
	if addr.Is4() {
		a4 := addr.As4()
		a := binary.BigEndian.Uint32(a4[:])
		i := sort.Search(len(s.v4), func(i int) bool { return s.v4[i].addr >= a })
		for ; i < len(s.v4) && s.v4[i].addr == a; i++ {
			if e := s.v4[i]; e.port == 0 || e.port == port {
				return s.match(TypeIPv4, addrText(addr, e.port), e.ref), true
			}
		}
		return s.matchPrefix(s.p4, addr, port, false, TypeIPv4)
	}
	a := addr.As16()
	i := sort.Search(len(s.v6), func(i int) bool { return bytes.Compare(s.v6[i].addr[:], a[:]) >= 0 })
	for ; i < len(s.v6) && s.v6[i].addr == a; i++ {
		if e := s.v6[i]; e.port == 0 || e.port == port {
			return s.match(TypeIPv6, addrText(addr, e.port), e.ref), true
		}
	}
	return s.matchPrefix(s.p6, addr, port, false, TypeIPv6)
}

// MatchAddrPort looks up an address with exactly this port: only an
// entry that names the port matches, not one for any port nor a network.
// It is the strict lookup for a socket this device listens on.
func (s *Set) MatchAddrPort(addr netip.Addr, port uint16) (checks.Match, bool) {
	addr = addr.Unmap().WithZone("")
	if s == nil || !addr.IsValid() || port == 0 {
		return checks.Match{}, false
	}
	if addr.Is4() {
		a4 := addr.As4()
		a := binary.BigEndian.Uint32(a4[:])
		i := sort.Search(len(s.v4), func(i int) bool {
			return s.v4[i].addr > a || s.v4[i].addr == a && s.v4[i].port >= port
		})
		if i < len(s.v4) && s.v4[i].addr == a && s.v4[i].port == port {
			return s.match(TypeIPv4, addrText(addr, port), s.v4[i].ref), true
		}
		return checks.Match{}, false
	}
	a := addr.As16()
	i := sort.Search(len(s.v6), func(i int) bool {
		c := bytes.Compare(s.v6[i].addr[:], a[:])
		return c > 0 || c == 0 && s.v6[i].port >= port
	})
	if i < len(s.v6) && s.v6[i].addr == a && s.v6[i].port == port {
		return s.match(TypeIPv6, addrText(addr, port), s.v6[i].ref), true
	}
	return checks.Match{}, false
}

// MatchHost looks up an address whatever the port: an entry for it with
// or without a port, or a network holding it. It is the lookup for an
// address a name is pointed at (a hosts file), where no port is known.
func (s *Set) MatchHost(addr netip.Addr) (checks.Match, bool) {
	addr = addr.Unmap().WithZone("")
	if s == nil || !addr.IsValid() {
		return checks.Match{}, false
	}
	if addr.Is4() {
		a4 := addr.As4()
		a := binary.BigEndian.Uint32(a4[:])
		i := sort.Search(len(s.v4), func(i int) bool { return s.v4[i].addr >= a })
		if i < len(s.v4) && s.v4[i].addr == a {
			return s.match(TypeIPv4, addrText(addr, s.v4[i].port), s.v4[i].ref), true
		}
		return s.matchPrefix(s.p4, addr, 0, true, TypeIPv4)
	}
	a := addr.As16()
	i := sort.Search(len(s.v6), func(i int) bool { return bytes.Compare(s.v6[i].addr[:], a[:]) >= 0 })
	if i < len(s.v6) && s.v6[i].addr == a {
		return s.match(TypeIPv6, addrText(addr, s.v6[i].port), s.v6[i].ref), true
	}
	return s.matchPrefix(s.p6, addr, 0, true, TypeIPv6)
}

func addrText(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// matchPrefix tries the most specific networks first: for each prefix
// length present, mask the address and search. A network with a port
// holds the address only on that port, unless anyPort (no port known).
func (s *Set) matchPrefix(list []prefixEntry, addr netip.Addr, port uint16, anyPort bool, typ string) (checks.Match, bool) {
	for i := 0; i < len(list); {
		bits := list[i].bits
		// The group of this length ends where a shorter one starts.
		j := i + sort.Search(len(list)-i, func(k int) bool { return list[i+k].bits < bits })
		p, err := addr.Prefix(int(bits))
		if err == nil {
			key := prefixKey(p.Addr())
			grp := list[i:j]
			k := sort.Search(len(grp), func(k int) bool { return bytes.Compare(grp[k].addr[:], key[:]) >= 0 })
			for ; k < len(grp) && grp[k].addr == key; k++ {
				if e := grp[k]; anyPort || e.port == 0 || e.port == port {
					return s.match(typ, p.String(), e.ref), true
				}
			}
		}
		i = j
	}
	return checks.Match{}, false
}

func prefixKey(a netip.Addr) [16]byte {
	var k [16]byte
	if a.Is4() {
		b := a.As4()
		copy(k[:], b[:])
		return k
	}
	return a.As16()
}

// MatchHash looks up a file's hex SHA-256 (any case).
func (s *Set) MatchHash(sha256 string) (checks.Match, bool) {
	sum, ok := parseSHA256(sha256)
	if s == nil || !ok {
		return checks.Match{}, false
	}
	i := sort.Search(len(s.hashes), func(i int) bool { return bytes.Compare(s.hashes[i].sum[:], sum[:]) >= 0 })
	if i < len(s.hashes) && s.hashes[i].sum == sum {
		return s.match(TypeSHA256, hex.EncodeToString(sum[:]), s.hashes[i].ref), true
	}
	return checks.Match{}, false
}

func parseSHA256(s string) ([32]byte, bool) {
	var sum [32]byte
	if len(s) != 64 {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(s)); err != nil {
		return sum, false
	}
	return sum, true
}

// MatchProcess looks up a process name, ignoring case (Windows names are
// case-insensitive, and no two malware names differ only by case). A
// name ending in ".exe" also matches an entry without the extension, so
// one entry "xmrig" covers xmrig and XMRig.exe.
func (s *Set) MatchProcess(name string) (checks.Match, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if s == nil || n == "" {
		return checks.Match{}, false
	}
	if ref, ok := s.procs.find(n); ok {
		return s.match(TypeProcess, n, ref), true
	}
	if base, ok := strings.CutSuffix(n, ".exe"); ok && base != "" {
		if ref, ok := s.procs.find(base); ok {
			return s.match(TypeProcess, base, ref), true
		}
	}
	return checks.Match{}, false
}

// MatchDomain looks up a host name and each of its parent domains, so an
// entry for evil.example matches c2.evil.example.
func (s *Set) MatchDomain(name string) (checks.Match, bool) {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	for s != nil && n != "" {
		if ref, ok := s.domains.find(n); ok {
			return s.match(TypeDomain, n, ref), true
		}
		_, rest, ok := strings.Cut(n, ".")
		if !ok {
			break
		}
		n = rest
	}
	return checks.Match{}, false
}

// Builder collects indicators for a Set.
type Builder struct {
	version int64
	refIdx  map[Ref]uint32
	refs    []Ref
	v4      []v4Entry
	v6      []v6Entry
	p4, p6  []prefixEntry
	domains []strEntry
	hashes  []hashEntry
	procs   []strEntry
}

type strEntry struct {
	s   string
	ref uint32
}

// NewBuilder starts a set for bundle version.
func NewBuilder(version int64) *Builder {
	return &Builder{version: version, refIdx: map[Ref]uint32{}}
}

func (b *Builder) ref(r Ref) uint32 {
	if i, ok := b.refIdx[r]; ok {
		return i
	}
	i := uint32(len(b.refs))
	b.refIdx[r] = i
	b.refs = append(b.refs, r)
	return i
}

// AddAddr adds an address; port 0 means any port. An address no server
// can have is refused (CheckAddr).
func (b *Builder) AddAddr(a netip.Addr, port uint16, r Ref) error {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" {
		return fmt.Errorf("invalid address %v", a)
	}
	if err := CheckAddr(a); err != nil {
		return err
	}
	if a.Is4() {
		a4 := a.As4()
		b.v4 = append(b.v4, v4Entry{binary.BigEndian.Uint32(a4[:]), port, b.ref(r)})
	} else {
		b.v6 = append(b.v6, v6Entry{a.As16(), port, b.ref(r)})
	}
	return nil
}

// AddPrefix adds a network, on one port or (port 0) any port; a
// full-length prefix is an address. A network broader than MinBits4 or
// MinBits6, or one that includes addresses no server has, is refused
// (CheckPrefix).
func (b *Builder) AddPrefix(p netip.Prefix, port uint16, r Ref) error {
	if !p.IsValid() || p.Addr().Zone() != "" {
		return fmt.Errorf("invalid network %v", p)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	if p.Bits() == p.Addr().BitLen() {
		return b.AddAddr(p.Addr(), port, r)
	}
	if err := CheckPrefix(p); err != nil {
		return err
	}
	e := prefixEntry{addr: prefixKey(p.Addr()), bits: uint8(p.Bits()), port: port, ref: b.ref(r)}
	if p.Addr().Is4() {
		b.p4 = append(b.p4, e)
	} else {
		b.p6 = append(b.p6, e)
	}
	return nil
}

// AddDomain adds a domain name (lowercased, without a final dot).
func (b *Builder) AddDomain(name string, r Ref) error {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	if n == "" || !strings.Contains(n, ".") {
		return fmt.Errorf("invalid domain name %q", name)
	}
	b.domains = append(b.domains, strEntry{n, b.ref(r)})
	return nil
}

// AddHash adds a hex SHA-256.
func (b *Builder) AddHash(sha256 string, r Ref) error {
	sum, ok := parseSHA256(strings.TrimSpace(sha256))
	if !ok {
		return fmt.Errorf("invalid SHA-256 %q", sha256)
	}
	b.hashes = append(b.hashes, hashEntry{sum, b.ref(r)})
	return nil
}

// AddProcess adds a process name (matched ignoring case). A name
// ProcessName refuses (too short, or a common program's) is refused.
func (b *Builder) AddProcess(name string, r Ref) error {
	n, err := ProcessName(name)
	if err != nil {
		return err
	}
	b.procs = append(b.procs, strEntry{n, b.ref(r)})
	return nil
}

// Add adds an indicator given as text, as intel.Indicator carries it:
// typ is ipv4 or ipv6 (value an address or a CIDR network, port 0 for
// any port), domain, sha256 or process. Other types give ErrUnsupported.
func (b *Builder) Add(typ, value string, port uint16, source, family string) error {
	r := Ref{Source: source, Family: family}
	switch typ {
	case TypeIPv4, TypeIPv6:
		if strings.Contains(value, "/") {
			p, err := netip.ParsePrefix(strings.TrimSpace(value))
			if err != nil {
				return fmt.Errorf("invalid network %q", value)
			}
			return b.AddPrefix(p, port, r)
		}
		a, err := netip.ParseAddr(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("invalid address %q", value)
		}
		return b.AddAddr(a, port, r)
	case TypeDomain:
		return b.AddDomain(value, r)
	case TypeSHA256:
		return b.AddHash(value, r)
	case TypeProcess:
		return b.AddProcess(value, r)
	}
	return fmt.Errorf("%w: %q", ErrUnsupported, typ)
}

// Build sorts and deduplicates what was added into a Set. Of entries with
// the same key, the one with the first reference in (source, family)
// order is kept, so the result does not depend on the order of adding.
// The Builder must not be used afterwards.
func (b *Builder) Build() *Set {
	// Number the references in sorted order.
	order := make([]uint32, len(b.refs))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(x, y uint32) int {
		return cmp.Or(strings.Compare(b.refs[x].Source, b.refs[y].Source), strings.Compare(b.refs[x].Family, b.refs[y].Family))
	})
	remap := make([]uint32, len(b.refs))
	refs := make([]Ref, len(b.refs))
	for newIdx, old := range order {
		remap[old] = uint32(newIdx)
		refs[newIdx] = b.refs[old]
	}
	for i := range b.v4 {
		b.v4[i].ref = remap[b.v4[i].ref]
	}
	for i := range b.v6 {
		b.v6[i].ref = remap[b.v6[i].ref]
	}
	for _, l := range [][]prefixEntry{b.p4, b.p6} {
		for i := range l {
			l[i].ref = remap[l[i].ref]
		}
	}
	for i := range b.hashes {
		b.hashes[i].ref = remap[b.hashes[i].ref]
	}
	for _, l := range [][]strEntry{b.domains, b.procs} {
		for i := range l {
			l[i].ref = remap[l[i].ref]
		}
	}

	s := &Set{version: b.version, refs: refs}
	slices.SortFunc(b.v4, cmpV4)
	s.v4 = slices.Clip(slices.CompactFunc(b.v4, func(x, y v4Entry) bool { return x.addr == y.addr && x.port == y.port }))
	slices.SortFunc(b.v6, cmpV6)
	s.v6 = slices.Clip(slices.CompactFunc(b.v6, func(x, y v6Entry) bool { return x.addr == y.addr && x.port == y.port }))
	s.p4 = sortPrefixes(b.p4)
	s.p6 = sortPrefixes(b.p6)
	slices.SortFunc(b.hashes, cmpHash)
	s.hashes = slices.Clip(slices.CompactFunc(b.hashes, func(x, y hashEntry) bool { return x.sum == y.sum }))
	s.domains = packNames(b.domains)
	s.procs = packNames(b.procs)
	*b = Builder{}
	return s
}

// The comparisons short-circuit (cmp.Or would evaluate every key), as
// they run tens of millions of times when a large set is built.

func cmpV4(x, y v4Entry) int {
	if x.addr != y.addr {
		return cmp.Compare(x.addr, y.addr)
	}
	if x.port != y.port {
		return cmp.Compare(x.port, y.port)
	}
	return cmp.Compare(x.ref, y.ref)
}

func cmpV6(x, y v6Entry) int {
	if c := bytes.Compare(x.addr[:], y.addr[:]); c != 0 {
		return c
	}
	if x.port != y.port {
		return cmp.Compare(x.port, y.port)
	}
	return cmp.Compare(x.ref, y.ref)
}

func cmpPrefix(x, y prefixEntry) int {
	if x.bits != y.bits {
		return cmp.Compare(y.bits, x.bits)
	}
	if c := bytes.Compare(x.addr[:], y.addr[:]); c != 0 {
		return c
	}
	if x.port != y.port {
		return cmp.Compare(x.port, y.port)
	}
	return cmp.Compare(x.ref, y.ref)
}

func cmpHash(x, y hashEntry) int {
	if c := bytes.Compare(x.sum[:], y.sum[:]); c != 0 {
		return c
	}
	return cmp.Compare(x.ref, y.ref)
}

func sortPrefixes(l []prefixEntry) []prefixEntry {
	slices.SortFunc(l, cmpPrefix)
	return slices.Clip(slices.CompactFunc(l, func(x, y prefixEntry) bool { return x.bits == y.bits && x.addr == y.addr && x.port == y.port }))
}

func packNames(l []strEntry) names {
	slices.SortFunc(l, func(x, y strEntry) int {
		if c := strings.Compare(x.s, y.s); c != 0 {
			return c
		}
		return cmp.Compare(x.ref, y.ref)
	})
	l = slices.CompactFunc(l, func(x, y strEntry) bool { return x.s == y.s })
	size := 0
	for _, e := range l {
		size += len(e.s)
	}
	n := names{blob: make([]byte, 0, size), offs: make([]uint32, 1, len(l)+1), refs: make([]uint32, 0, len(l))}
	for _, e := range l {
		n.blob = append(n.blob, e.s...)
		n.offs = append(n.offs, uint32(len(n.blob)))
		n.refs = append(n.refs, e.ref)
	}
	return n
}
