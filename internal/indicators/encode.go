package indicators

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"
)

// The bundle encoding, version 2. All integers are little-endian except
// addresses, which are in network order. Sections follow one another,
// each a uint32 count and its entries:
//
//	"HERDIOC\n"  magic, 8 bytes
//	uint16       encoding version (2)
//	int64        bundle version
//	refs         count; per ref: uvarint length + source, uvarint length + family
//	ipv4         count; per entry: 4 address, uint16 port, uint32 ref
//	ipv6         count; per entry: 16 address, uint16 port, uint32 ref
//	ipv4 nets    count; per entry: 4 address, uint8 bits, uint16 port, uint32 ref
//	ipv6 nets    count; per entry: 16 address, uint8 bits, uint16 port, uint32 ref
//	domains      count; per entry: uvarint length + name, uint32 ref
//	sha256       count; per entry: 32 hash, uint32 ref
//	processes    count; per entry: uvarint length + name, uint32 ref
//	uint32       CRC-32 (IEEE) of everything before it
//
// Entries are in the Set's sorted order with no duplicate keys, so one set
// has exactly one encoding. The CRC catches damage; authenticity comes
// from the signature the authority puts around the bundle. Version 1,
// still read, had no port on networks (every network matched any port).
// A bundle holding an address or network CheckAddr or CheckPrefix
// refuses is corrupt: the authority never makes one.
const (
	magic           = "HERDIOC\n"
	EncodingVersion = 2
	// encodingV1 is the previous encoding, read but no longer written.
	encodingV1 = 1
)

// ErrCorrupt: the bytes are not a valid bundle.
var ErrCorrupt = errors.New("indicator bundle is corrupt")

// ErrVersion: the bundle uses an encoding this agent does not read.
var ErrVersion = errors.New("indicator bundle encoding is not supported")

// Encode writes s in the bundle encoding.
func (s *Set) Encode() []byte {
	size := len(magic) + 2 + 8 + 8*4 + 4 + len(s.v4)*10 + len(s.v6)*22 + len(s.p4)*11 + len(s.p6)*23 +
		len(s.hashes)*36 + len(s.domains.blob) + s.domains.len()*6 + len(s.procs.blob) + s.procs.len()*6
	for _, r := range s.refs {
		size += len(r.Source) + len(r.Family) + 4
	}
	b := make([]byte, 0, size)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint16(b, EncodingVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.version))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.refs)))
	for _, r := range s.refs {
		b = appendString(b, r.Source)
		b = appendString(b, r.Family)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.v4)))
	for _, e := range s.v4 {
		b = binary.BigEndian.AppendUint32(b, e.addr)
		b = binary.LittleEndian.AppendUint16(b, e.port)
		b = binary.LittleEndian.AppendUint32(b, e.ref)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.v6)))
	for _, e := range s.v6 {
		b = append(b, e.addr[:]...)
		b = binary.LittleEndian.AppendUint16(b, e.port)
		b = binary.LittleEndian.AppendUint32(b, e.ref)
	}
	for _, l := range []struct {
		list []prefixEntry
		n    int
	}{{s.p4, 4}, {s.p6, 16}} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(l.list)))
		for _, e := range l.list {
			b = append(b, e.addr[:l.n]...)
			b = append(b, e.bits)
			b = binary.LittleEndian.AppendUint16(b, e.port)
			b = binary.LittleEndian.AppendUint32(b, e.ref)
		}
	}
	b = appendNames(b, &s.domains)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.hashes)))
	for _, e := range s.hashes {
		b = append(b, e.sum[:]...)
		b = binary.LittleEndian.AppendUint32(b, e.ref)
	}
	b = appendNames(b, &s.procs)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendNames(b []byte, n *names) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(n.len()))
	for i := range n.len() {
		b = appendString(b, n.at(i))
		b = binary.LittleEndian.AppendUint32(b, n.refs[i])
	}
	return b
}

// decoder reads a bundle, failing on the first problem.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.fail("ends early")
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

// count reads a section count and checks the entries can fit in what is
// left, so a damaged count cannot make Decode allocate gigabytes.
func (d *decoder) count(minSize int) int {
	n := int(d.u32())
	if d.err == nil && n > len(d.b)/minSize {
		d.fail("count %d does not fit", n)
		return 0
	}
	return n
}

func (d *decoder) str() string { return string(d.bytes()) }

// bytes reads a length-prefixed UTF-8 string without copying it.
func (d *decoder) bytes() []byte {
	if d.err != nil {
		return nil
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)) {
		d.fail("bad string length")
		return nil
	}
	d.take(k)
	s := d.take(int(n))
	if !utf8.Valid(s) {
		d.fail("string is not UTF-8")
	}
	return s
}

func (d *decoder) ref(nrefs int) uint32 {
	r := d.u32()
	if d.err == nil && int(r) >= nrefs {
		d.fail("reference %d out of range", r)
	}
	return r
}

// Decode reads a bundle made by Encode and checks it thoroughly: a bundle
// that Decode accepts answers every lookup correctly.
func Decode(data []byte) (*Set, error) {
	if len(data) < len(magic)+2+8+4 || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not an indicator bundle", ErrCorrupt)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	d := &decoder{b: body[len(magic):]}
	enc := d.u16()
	if enc != EncodingVersion && enc != encodingV1 {
		return nil, fmt.Errorf("%w: encoding %d", ErrVersion, enc)
	}
	s := &Set{version: int64(binary.LittleEndian.Uint64(d.take(8)))}

	nrefs := d.count(2)
	s.refs = make([]Ref, 0, nrefs)
	for range nrefs {
		s.refs = append(s.refs, Ref{Source: d.str(), Family: d.str()})
	}
	for i := 1; i < len(s.refs) && d.err == nil; i++ {
		a, b := s.refs[i-1], s.refs[i]
		if a.Source > b.Source || a.Source == b.Source && a.Family >= b.Family {
			d.fail("references out of order")
		}
	}

	n := d.count(10)
	s.v4 = make([]v4Entry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		e := v4Entry{addr: binaryBE32(d.take(4)), port: d.u16(), ref: d.ref(nrefs)}
		if d.err == nil {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], e.addr)
			if err := CheckAddr(netip.AddrFrom4(a)); err != nil {
				d.fail("ipv4 entry: %v", err)
			}
		}
		if i > 0 && d.err == nil {
			p := s.v4[i-1]
			if p.addr > e.addr || p.addr == e.addr && p.port >= e.port {
				d.fail("ipv4 entries out of order")
			}
		}
		s.v4 = append(s.v4, e)
	}

	n = d.count(22)
	s.v6 = make([]v6Entry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var e v6Entry
		copy(e.addr[:], d.take(16))
		e.port, e.ref = d.u16(), d.ref(nrefs)
		if d.err == nil && netip.AddrFrom16(e.addr).Is4In6() {
			d.fail("ipv6 entry holds an IPv4 address")
		}
		if d.err == nil {
			if err := CheckAddr(netip.AddrFrom16(e.addr)); err != nil {
				d.fail("ipv6 entry: %v", err)
			}
		}
		if i > 0 && d.err == nil {
			p := s.v6[i-1]
			c := bytes.Compare(p.addr[:], e.addr[:])
			if c > 0 || c == 0 && p.port >= e.port {
				d.fail("ipv6 entries out of order")
			}
		}
		s.v6 = append(s.v6, e)
	}

	s.p4 = d.prefixes(4, nrefs, enc)
	s.p6 = d.prefixes(16, nrefs, enc)
	s.domains = d.names(nrefs, "domain")

	n = d.count(36)
	s.hashes = make([]hashEntry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var e hashEntry
		copy(e.sum[:], d.take(32))
		e.ref = d.ref(nrefs)
		if i > 0 && d.err == nil && bytes.Compare(s.hashes[i-1].sum[:], e.sum[:]) >= 0 {
			d.fail("hashes out of order")
		}
		s.hashes = append(s.hashes, e)
	}
	s.procs = d.names(nrefs, "process")
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the last section", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

func binaryBE32(p []byte) uint32 {
	if len(p) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (d *decoder) prefixes(alen, nrefs int, enc uint16) []prefixEntry {
	size := alen + 7
	if enc == encodingV1 {
		size = alen + 5
	}
	n := d.count(size)
	out := make([]prefixEntry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var e prefixEntry
		copy(e.addr[:], d.take(alen))
		bits := d.take(1)
		if enc != encodingV1 {
			e.port = d.u16()
		}
		e.ref = d.ref(nrefs)
		if d.err != nil {
			break
		}
		e.bits = bits[0]
		if int(e.bits) >= alen*8 {
			d.fail("network /%d too long", e.bits)
			break
		}
		var a netip.Addr
		if alen == 4 {
			a = netip.AddrFrom4([4]byte(e.addr[:4]))
		} else {
			a = netip.AddrFrom16(e.addr)
			if a.Is4In6() {
				d.fail("ipv6 network holds an IPv4 address")
				break
			}
		}
		p := netip.PrefixFrom(a, int(e.bits))
		if p.Masked() != p {
			d.fail("network %v is not masked", p)
			break
		}
		if err := CheckPrefix(p); err != nil {
			d.fail("network: %v", err)
			break
		}
		if i > 0 && cmpPrefix(out[i-1], e) >= 0 || i > 0 && out[i-1].bits == e.bits && out[i-1].addr == e.addr && out[i-1].port == e.port {
			d.fail("networks out of order")
			break
		}
		out = append(out, e)
	}
	return out
}

func (d *decoder) names(nrefs int, what string) names {
	n := d.count(6)
	out := names{offs: make([]uint32, 1, n+1), refs: make([]uint32, 0, n)}
	var prev []byte
	for i := 0; i < n && d.err == nil; i++ {
		s := d.bytes()
		ref := d.ref(nrefs)
		if d.err != nil {
			break
		}
		if len(s) == 0 || !isLower(s) || i > 0 && bytes.Compare(s, prev) <= 0 {
			d.fail("%s names empty, not lowercase or out of order", what)
			break
		}
		out.blob = append(out.blob, s...)
		out.offs = append(out.offs, uint32(len(out.blob)))
		out.refs = append(out.refs, ref)
		prev = s
	}
	out.blob = slices.Clip(out.blob)
	return out
}

// isLower reports whether s is unchanged by strings.ToLower.
func isLower(s []byte) bool {
	for _, c := range s {
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			return string(s) == strings.ToLower(string(s))
		}
	}
	return true
}
