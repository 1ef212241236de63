package indicators

import (
	"encoding/binary"
	"fmt"
	"net/netip"
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

// Apply returns the set d makes of s: s must be at version d.From.
func (s *Set) Apply(d Delta) (*Set, error) {
	if s.Version() != d.From {
		return nil, fmt.Errorf("delta from version %d does not apply to version %d", d.From, s.Version())
	}
	drop := map[entryKey]bool{}
	mark := func(typ, value string, port uint16, _ Ref) { drop[entryKey{typ, value, port}] = true }
	d.Remove.Each(mark)
	d.Add.Each(mark)
	b := NewBuilder(d.To)
	var err error
	keep := func(typ, value string, port uint16, r Ref) {
		if err == nil {
			err = b.Add(typ, value, port, r.Source, r.Family)
		}
	}
	s.Each(func(typ, value string, port uint16, r Ref) {
		if !drop[entryKey{typ, value, port}] {
			keep(typ, value, port, r)
		}
	})
	d.Add.Each(keep)
	if err != nil {
		return nil, err
	}
	return b.Build(), nil
}
