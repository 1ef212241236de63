package indicators

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// The delta encoding, version 1: what changed in the indicator set from
// one bundle version to another.
//
//	"HERDDLT\n"  magic, 8 bytes
//	uint16       encoding version (1)
//	int64        from version
//	int64        to version
//	uint32       length, then a bundle (Encode) of the entries added
//	uint32       length, then a bundle of the entries removed
//
// An entry whose source or family changed is in the additions; an entry
// listed in both is replaced by its added form. Integers are little-endian.
const deltaMagic = "HERDDLT\n"

// Delta is the change from version From to version To.
type Delta struct {
	From, To int64
	Add      *Set
	Remove   *Set
}

// EncodeDelta writes d in the delta encoding.
func (d Delta) Encode() []byte {
	add, rem := d.Add.Encode(), d.Remove.Encode()
	b := make([]byte, 0, len(deltaMagic)+2+16+8+len(add)+len(rem))
	b = append(b, deltaMagic...)
	b = binary.LittleEndian.AppendUint16(b, EncodingVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(d.From))
	b = binary.LittleEndian.AppendUint64(b, uint64(d.To))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(add)))
	b = append(b, add...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(rem)))
	b = append(b, rem...)
	return b
}

// IsDelta reports whether data is in the delta encoding (rather than a
// full bundle).
func IsDelta(data []byte) bool {
	return len(data) >= len(deltaMagic) && string(data[:len(deltaMagic)]) == deltaMagic
}

// DecodeDelta reads a delta made by Delta.Encode.
func DecodeDelta(data []byte) (Delta, error) {
	var d Delta
	if !IsDelta(data) || len(data) < len(deltaMagic)+2+16+4 {
		return d, fmt.Errorf("%w: not a delta", ErrCorrupt)
	}
	p := data[len(deltaMagic):]
	if v := binary.LittleEndian.Uint16(p); v != EncodingVersion {
		return d, fmt.Errorf("%w: delta encoding %d", ErrVersion, v)
	}
	d.From = int64(binary.LittleEndian.Uint64(p[2:]))
	d.To = int64(binary.LittleEndian.Uint64(p[10:]))
	p = p[18:]
	part := func() (*Set, error) {
		if len(p) < 4 {
			return nil, fmt.Errorf("%w: delta ends early", ErrCorrupt)
		}
		n := binary.LittleEndian.Uint32(p)
		p = p[4:]
		if uint64(n) > uint64(len(p)) {
			return nil, fmt.Errorf("%w: delta ends early", ErrCorrupt)
		}
		s, err := Decode(p[:n])
		p = p[n:]
		return s, err
	}
	var err error
	if d.Add, err = part(); err != nil {
		return Delta{}, err
	}
	if d.Remove, err = part(); err != nil {
		return Delta{}, err
	}
	if len(p) != 0 {
		return Delta{}, fmt.Errorf("%w: %d bytes after the delta", ErrCorrupt, len(p))
	}
	if d.To <= d.From {
		return Delta{}, fmt.Errorf("%w: delta from %d to %d goes backwards", ErrCorrupt, d.From, d.To)
	}
	return d, nil
}

// Each calls fn with every entry of s in the form Builder.Add takes.
func (s *Set) Each(fn func(typ, value string, port uint16, r Ref)) {
	if s == nil {
		return
	}
	for _, e := range s.v4 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], e.addr)
		fn(TypeIPv4, netip.AddrFrom4(a).String(), e.port, s.refs[e.ref])
	}
	for _, e := range s.v6 {
		fn(TypeIPv6, netip.AddrFrom16(e.addr).String(), e.port, s.refs[e.ref])
	}
	for _, e := range s.p4 {
		fn(TypeIPv4, netip.PrefixFrom(netip.AddrFrom4([4]byte(e.addr[:4])), int(e.bits)).String(), e.port, s.refs[e.ref])
	}
	for _, e := range s.p6 {
		fn(TypeIPv6, netip.PrefixFrom(netip.AddrFrom16(e.addr), int(e.bits)).String(), e.port, s.refs[e.ref])
	}
	for i := range s.domains.len() {
		fn(TypeDomain, s.domains.at(i), 0, s.refs[s.domains.refs[i]])
	}
	for _, e := range s.hashes {
		fn(TypeSHA256, fmt.Sprintf("%x", e.sum), 0, s.refs[e.ref])
	}
	for i := range s.procs.len() {
		fn(TypeProcess, s.procs.at(i), 0, s.refs[s.procs.refs[i]])
	}
}

type entryKey struct {
	typ, value string
	port       uint16
}

// Apply returns the set d makes of s: s must be at version d.From. It
// merges the sorted entries of s and of the delta's sets section by
// section, so it allocates about what the new set holds and leaves s
// untouched (it may still be in use).
func (s *Set) Apply(d Delta) (*Set, error) {
	if s.Version() != d.From {
		return nil, fmt.Errorf("delta from version %d does not apply to version %d", d.From, s.Version())
	}
	base, add, rem := orEmpty(s), orEmpty(d.Add), orEmpty(d.Remove)
	refs, fromBase, fromAdd := unionRefs(base.refs, add.refs)
	out := &Set{version: d.To, refs: refs}
	out.v4 = mergeEntries(base.v4, rem.v4, add.v4, keyV4, func(e v4Entry, m []uint32) v4Entry { e.ref = m[e.ref]; return e }, fromBase, fromAdd)
	out.v6 = mergeEntries(base.v6, rem.v6, add.v6, keyV6, func(e v6Entry, m []uint32) v6Entry { e.ref = m[e.ref]; return e }, fromBase, fromAdd)
	pref := func(e prefixEntry, m []uint32) prefixEntry { e.ref = m[e.ref]; return e }
	out.p4 = mergeEntries(base.p4, rem.p4, add.p4, keyPrefix, pref, fromBase, fromAdd)
	out.p6 = mergeEntries(base.p6, rem.p6, add.p6, keyPrefix, pref, fromBase, fromAdd)
	out.hashes = mergeEntries(base.hashes, rem.hashes, add.hashes, keyHash, func(e hashEntry, m []uint32) hashEntry { e.ref = m[e.ref]; return e }, fromBase, fromAdd)
	out.domains = mergeNames(&base.domains, &rem.domains, &add.domains, fromBase, fromAdd)
	out.procs = mergeNames(&base.procs, &rem.procs, &add.procs, fromBase, fromAdd)
	out.dropUnusedRefs()
	return out, nil
}

// dropUnusedRefs forgets references no entry uses any more, renumbering
// the others in place, so the set encodes exactly as one built from its
// entries.
func (s *Set) dropUnusedRefs() {
	used := make([]bool, len(s.refs))
	s.eachRef(func(r *uint32) { used[*r] = true })
	if !slices.Contains(used, false) {
		return
	}
	renum := make([]uint32, len(s.refs))
	kept := s.refs[:0]
	for i, r := range s.refs {
		if used[i] {
			renum[i] = uint32(len(kept))
			kept = append(kept, r)
		}
	}
	s.refs = slices.Clip(kept)
	s.eachRef(func(r *uint32) { *r = renum[*r] })
}

// eachRef calls fn with every entry's reference.
func (s *Set) eachRef(fn func(*uint32)) {
	for i := range s.v4 {
		fn(&s.v4[i].ref)
	}
	for i := range s.v6 {
		fn(&s.v6[i].ref)
	}
	for _, l := range [][]prefixEntry{s.p4, s.p6} {
		for i := range l {
			fn(&l[i].ref)
		}
	}
	for i := range s.hashes {
		fn(&s.hashes[i].ref)
	}
	for _, n := range []*names{&s.domains, &s.procs} {
		for i := range n.refs {
			fn(&n.refs[i])
		}
	}
}

var emptySet = &Set{}

func orEmpty(s *Set) *Set {
	if s == nil {
		return emptySet
	}
	return s
}

// unionRefs merges two sorted, distinct reference lists and says where
// each of their references went.
func unionRefs(a, b []Ref) (out []Ref, fromA, fromB []uint32) {
	cmpRef := func(x, y Ref) int {
		if c := strings.Compare(x.Source, y.Source); c != 0 {
			return c
		}
		return strings.Compare(x.Family, y.Family)
	}
	out = make([]Ref, 0, len(a)+len(b))
	fromA, fromB = make([]uint32, len(a)), make([]uint32, len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var c int
		switch {
		case i == len(a):
			c = 1
		case j == len(b):
			c = -1
		default:
			c = cmpRef(a[i], b[j])
		}
		n := uint32(len(out))
		switch {
		case c < 0:
			out, fromA[i] = append(out, a[i]), n
			i++
		case c > 0:
			out, fromB[j] = append(out, b[j]), n
			j++
		default:
			out, fromA[i], fromB[j] = append(out, a[i]), n, n
			i, j = i+1, j+1
		}
	}
	return slices.Clip(out), fromA, fromB
}

// The keys entries are identified by, in their sorted order.

func keyV4(x, y v4Entry) int {
	if x.addr != y.addr {
		return cmp.Compare(x.addr, y.addr)
	}
	return cmp.Compare(x.port, y.port)
}

func keyV6(x, y v6Entry) int {
	if c := bytes.Compare(x.addr[:], y.addr[:]); c != 0 {
		return c
	}
	return cmp.Compare(x.port, y.port)
}

func keyPrefix(x, y prefixEntry) int {
	if x.bits != y.bits {
		return cmp.Compare(y.bits, x.bits)
	}
	if c := bytes.Compare(x.addr[:], y.addr[:]); c != 0 {
		return c
	}
	return cmp.Compare(x.port, y.port)
}

func keyHash(x, y hashEntry) int { return bytes.Compare(x.sum[:], y.sum[:]) }

// mergeEntries is base without the keys of rem and of add, with add's
// entries, in key order; references are renumbered with fromBase and
// fromAdd. Each list is sorted by key without repeats.
func mergeEntries[E any](base, rem, add []E, key func(x, y E) int, reref func(E, []uint32) E, fromBase, fromAdd []uint32) []E {
	out := make([]E, 0, len(base)+len(add))
	j, k := 0, 0 // in rem, in add
	for _, e := range base {
		for j < len(rem) && key(rem[j], e) < 0 {
			j++
		}
		for k < len(add) && key(add[k], e) < 0 {
			out = append(out, reref(add[k], fromAdd))
			k++
		}
		switch {
		case k < len(add) && key(add[k], e) == 0: // replaced by its added form
			out = append(out, reref(add[k], fromAdd))
			k++
		case j < len(rem) && key(rem[j], e) == 0: // removed
		default:
			out = append(out, reref(e, fromBase))
		}
	}
	for ; k < len(add); k++ {
		out = append(out, reref(add[k], fromAdd))
	}
	return slices.Clip(out)
}

// mergeNames is mergeEntries for a names section.
func mergeNames(base, rem, add *names, fromBase, fromAdd []uint32) names {
	name := func(n *names, i int) []byte { return n.blob[n.offs[i]:n.offs[i+1]] }
	out := names{
		blob: make([]byte, 0, len(base.blob)+len(add.blob)),
		offs: make([]uint32, 1, base.len()+add.len()+1),
		refs: make([]uint32, 0, base.len()+add.len()),
	}
	put := func(n *names, i int, m []uint32) {
		out.blob = append(out.blob, name(n, i)...)
		out.offs = append(out.offs, uint32(len(out.blob)))
		out.refs = append(out.refs, m[n.refs[i]])
	}
	j, k := 0, 0
	for i := range base.len() {
		e := name(base, i)
		for j < rem.len() && bytes.Compare(name(rem, j), e) < 0 {
			j++
		}
		for k < add.len() && bytes.Compare(name(add, k), e) < 0 {
			put(add, k, fromAdd)
			k++
		}
		switch {
		case k < add.len() && bytes.Equal(name(add, k), e):
			put(add, k, fromAdd)
			k++
		case j < rem.len() && bytes.Equal(name(rem, j), e):
		default:
			put(base, i, fromBase)
		}
	}
	for ; k < add.len(); k++ {
		put(add, k, fromAdd)
	}
	out.blob, out.offs, out.refs = slices.Clip(out.blob), slices.Clip(out.offs), slices.Clip(out.refs)
	return out
}
