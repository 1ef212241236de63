package indicators

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"testing"

	"github.com/herd-health/herd/internal/checks"
)

type entry struct {
	typ, value string
	port       uint16
	source     string
	family     string
}

var sample = []entry{
	{"ipv4", "203.0.113.77", 443, "feodotracker", "QakBot"},
	{"ipv4", "192.0.2.10", 0, "misp", "Dridex"},
	{"ipv4", "192.0.2.10", 4643, "feodotracker", "Dridex"}, // shadowed by the any-port entry
	{"ipv4", "198.51.100.0/24", 0, "stix", ""},
	{"ipv4", "198.51.0.0/16", 0, "stix", "Wide"},
	{"ipv4", "203.0.112.0/24", 8080, "misp", "Emotet"}, // a network bound to one port
	{"ipv6", "2001:db8:2::/48", 53, "stix", "Net6Port"},
	{"ipv4", "127.0.0.1", 0, "test", "Loopback"},
	{"ipv6", "2001:db8::15", 8443, "threatfox", "Cobalt Strike"},
	{"ipv6", "2001:db8:1::/48", 0, "stix", "Net6"},
	{"ipv6", "::ffff:192.0.2.99", 0, "mapped", ""}, // stored as IPv4
	{"domain", "Evil.Example.TEST.", 0, "threatfox", "Remcos"},
	{"sha256", "A788ACF214C7D24112A1B3B8038010F2A28F252D07997184BD5C7F14D05DAFC8", 0, "malwarebazaar", "Mirai"},
	{"sha256", "a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8", 0, "threatfox", "Mirai"}, // duplicate
	{"process", "XMRig", 0, "authority", "CoinMiner"},
	{"process", `C:\Users\Public\EvilLoader.exe`, 0, "misp", "Loader"}, // the program's name is kept
}

func build(t testing.TB, version int64, list []entry) *Set {
	t.Helper()
	b := NewBuilder(version)
	for _, e := range list {
		if err := b.Add(e.typ, e.value, e.port, e.source, e.family); err != nil {
			t.Fatalf("Add(%+v): %v", e, err)
		}
	}
	return b.Build()
}

func TestMatch(t *testing.T) {
	s := build(t, 7, sample)
	type lookup func(*Set) (checks.Match, bool)
	addr := func(a string, port uint16) lookup {
		return func(s *Set) (checks.Match, bool) { return s.MatchAddr(netip.MustParseAddr(a), port) }
	}
	exact := func(a string, port uint16) lookup {
		return func(s *Set) (checks.Match, bool) { return s.MatchAddrPort(netip.MustParseAddr(a), port) }
	}
	host := func(a string) lookup {
		return func(s *Set) (checks.Match, bool) { return s.MatchHost(netip.MustParseAddr(a)) }
	}
	tests := []struct {
		name string
		look lookup
		want *checks.Match
	}{
		{"v4 with its port", addr("203.0.113.77", 443), &checks.Match{Type: "ipv4", Indicator: "203.0.113.77:443", Source: "feodotracker", Family: "QakBot"}},
		{"v4 other port", addr("203.0.113.77", 80), nil},
		{"v4 any port", addr("192.0.2.10", 9), &checks.Match{Type: "ipv4", Indicator: "192.0.2.10", Source: "misp", Family: "Dridex"}},
		{"v4 in /24 before /16", addr("198.51.100.200", 1), &checks.Match{Type: "ipv4", Indicator: "198.51.100.0/24", Source: "stix"}},
		{"v4 in /16", addr("198.51.7.1", 1), &checks.Match{Type: "ipv4", Indicator: "198.51.0.0/16", Source: "stix", Family: "Wide"}},
		{"v4 outside", addr("198.52.0.1", 1), nil},
		{"loopback kept", addr("127.0.0.1", 22), &checks.Match{Type: "ipv4", Indicator: "127.0.0.1", Source: "test", Family: "Loopback"}},
		{"mapped connection", addr("::ffff:203.0.113.77", 443), &checks.Match{Type: "ipv4", Indicator: "203.0.113.77:443", Source: "feodotracker", Family: "QakBot"}},
		{"mapped entry", addr("192.0.2.99", 5), &checks.Match{Type: "ipv4", Indicator: "192.0.2.99", Source: "mapped"}},
		{"v6 port", addr("2001:db8::15", 8443), &checks.Match{Type: "ipv6", Indicator: "[2001:db8::15]:8443", Source: "threatfox", Family: "Cobalt Strike"}},
		{"v6 wrong port", addr("2001:db8::15", 443), nil},
		{"v4 net with its port", addr("203.0.112.9", 8080), &checks.Match{Type: "ipv4", Indicator: "203.0.112.0/24", Source: "misp", Family: "Emotet"}},
		{"v4 net other port", addr("203.0.112.9", 80), nil},
		{"v6 net with its port", addr("2001:db8:2::1", 53), &checks.Match{Type: "ipv6", Indicator: "2001:db8:2::/48", Source: "stix", Family: "Net6Port"}},
		{"v6 net other port", addr("2001:db8:2::1", 443), nil},
		{"v6 net", addr("2001:db8:1:2::3", 443), &checks.Match{Type: "ipv6", Indicator: "2001:db8:1::/48", Source: "stix", Family: "Net6"}},
		{"v6 zone ignored", addr("2001:db8:1::9%eth0", 1), &checks.Match{Type: "ipv6", Indicator: "2001:db8:1::/48", Source: "stix", Family: "Net6"}},
		{"invalid addr", func(s *Set) (checks.Match, bool) { return s.MatchAddr(netip.Addr{}, 1) }, nil},
		{"hash, first source in order", func(s *Set) (checks.Match, bool) {
			return s.MatchHash("A788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8")
		}, &checks.Match{Type: "sha256", Indicator: "a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8", Source: "malwarebazaar", Family: "Mirai"}},
		{"other hash", func(s *Set) (checks.Match, bool) {
			return s.MatchHash("0000000000000000000000000000000000000000000000000000000000000000")
		}, nil},
		{"bad hash", func(s *Set) (checks.Match, bool) { return s.MatchHash("xyz") }, nil},
		{"process any case", func(s *Set) (checks.Match, bool) { return s.MatchProcess("xmrig") }, &checks.Match{Type: "process", Indicator: "xmrig", Source: "authority", Family: "CoinMiner"}},
		{"process with .exe", func(s *Set) (checks.Match, bool) { return s.MatchProcess("XMRig.exe") }, &checks.Match{Type: "process", Indicator: "xmrig", Source: "authority", Family: "CoinMiner"}},
		{"only .exe", func(s *Set) (checks.Match, bool) { return s.MatchProcess(".exe") }, nil},
		{"other process", func(s *Set) (checks.Match, bool) { return s.MatchProcess("sshd") }, nil},
		{"process from a path", func(s *Set) (checks.Match, bool) { return s.MatchProcess("EvilLoader.exe") }, &checks.Match{Type: "process", Indicator: "evilloader.exe", Source: "misp", Family: "Loader"}},
		{"domain exact", func(s *Set) (checks.Match, bool) { return s.MatchDomain("evil.example.test") }, &checks.Match{Type: "domain", Indicator: "evil.example.test", Source: "threatfox", Family: "Remcos"}},
		{"subdomain", func(s *Set) (checks.Match, bool) { return s.MatchDomain("C2.Evil.Example.Test.") }, &checks.Match{Type: "domain", Indicator: "evil.example.test", Source: "threatfox", Family: "Remcos"}},
		{"parent not matched", func(s *Set) (checks.Match, bool) { return s.MatchDomain("example.test") }, nil},
		// MatchAddrPort: only an entry naming that very port.
		{"exact port", exact("203.0.113.77", 443), &checks.Match{Type: "ipv4", Indicator: "203.0.113.77:443", Source: "feodotracker", Family: "QakBot"}},
		{"exact port behind an any-port entry", exact("192.0.2.10", 4643), &checks.Match{Type: "ipv4", Indicator: "192.0.2.10:4643", Source: "feodotracker", Family: "Dridex"}},
		{"any-port entry is not exact", exact("192.0.2.10", 80), nil},
		{"network is not exact", exact("198.51.100.200", 80), nil},
		{"exact port 0", exact("203.0.113.77", 0), nil},
		{"exact v6", exact("2001:db8::15", 8443), &checks.Match{Type: "ipv6", Indicator: "[2001:db8::15]:8443", Source: "threatfox", Family: "Cobalt Strike"}},
		{"exact v6 other port", exact("2001:db8::15", 443), nil},
		// MatchHost: any entry for the address, or a network.
		{"host of a port entry", host("203.0.113.77"), &checks.Match{Type: "ipv4", Indicator: "203.0.113.77:443", Source: "feodotracker", Family: "QakBot"}},
		{"host in a network", host("198.51.7.1"), &checks.Match{Type: "ipv4", Indicator: "198.51.0.0/16", Source: "stix", Family: "Wide"}},
		{"host v6", host("2001:db8::15"), &checks.Match{Type: "ipv6", Indicator: "[2001:db8::15]:8443", Source: "threatfox", Family: "Cobalt Strike"}},
		{"host outside", host("203.0.113.78"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.look(s)
			if ok != (tc.want != nil) {
				t.Fatalf("ok = %v, match %+v", ok, got)
			}
			if ok && got != *tc.want {
				t.Errorf("got %+v, want %+v", got, *tc.want)
			}
		})
	}
	if s.Version() != 7 {
		t.Errorf("version = %d", s.Version())
	}
	want := map[string]int{"ipv4": 8, "ipv6": 3, "domain": 1, "sha256": 1, "process": 2}
	if got := s.Counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
}

func TestAddRejects(t *testing.T) {
	b := NewBuilder(1)
	for _, e := range []entry{
		{"url", "http://a.test/", 0, "", ""},
		{"md5", "406a4a9f09f3522bff25b06210ca0818", 0, "", ""},
		{"ipv4", "192.0.2.300", 0, "", ""},
		{"ipv4", "192.0.2.0/33", 0, "", ""},
		{"domain", "localhost", 0, "", ""},
		{"sha256", "abc", 0, "", ""},
		{"process", " ", 0, "", ""},
		// Never one indicator that matches every device.
		{"ipv4", "0.0.0.0/0", 0, "", ""},
		{"ipv6", "::/0", 0, "", ""},
		{"ipv4", "0.0.0.0/0", 443, "", ""},
		{"ipv4", "10.0.0.0/8", 0, "", ""},
		{"ipv6", "2001:db8::/31", 0, "", ""},
		{"ipv4", "0.0.0.0", 0, "", ""},
		{"ipv6", "::", 443, "", ""},
		{"ipv4", "0.0.0.0/16", 0, "", ""},
		{"ipv4", "224.0.0.251", 5353, "", ""},
		{"ipv6", "ff02::fb", 0, "", ""},
		{"ipv4", "255.255.255.255", 0, "", ""},
		{"ipv4", "169.254.169.254", 80, "", ""},
		{"ipv6", "fe80::/64", 0, "", ""},
		// Process names every ordinary computer runs, and too short ones.
		{"process", "svchost.exe", 0, "", ""},
		{"process", "Explorer.EXE", 0, "", ""},
		{"process", "python", 0, "", ""},
		{"process", "bash", 0, "", ""},
		{"process", `C:\Windows\System32\svchost.exe`, 0, "", ""},
		{"process", "/usr/sbin/sshd", 0, "", ""},
		{"process", "nc", 0, "", ""},
		{"process", "ab.exe", 0, "", ""},
	} {
		if err := b.Add(e.typ, e.value, e.port, e.source, e.family); err == nil {
			t.Errorf("Add(%+v) accepted", e)
		}
	}
	if err := b.Add("url", "http://a.test/", 0, "", ""); !errors.Is(err, ErrUnsupported) {
		t.Errorf("url: %v", err)
	}
	if s := b.Build(); s.Len() != 0 {
		t.Errorf("len = %d", s.Len())
	}
}

func TestEncodeRoundTripDeterministic(t *testing.T) {
	a := build(t, 42, sample)
	rev := make([]entry, len(sample))
	for i, e := range sample {
		rev[len(sample)-1-i] = e
	}
	b := build(t, 42, rev)
	ea, eb := a.Encode(), b.Encode()
	if !bytes.Equal(ea, eb) {
		t.Fatal("the encoding depends on the order of adding")
	}
	d, err := Decode(ea)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Encode(), ea) {
		t.Error("decode then encode changed the bytes")
	}
	if d.Version() != 42 || d.Len() != a.Len() {
		t.Errorf("version %d len %d, want 42 %d", d.Version(), d.Len(), a.Len())
	}
	m, ok := d.MatchAddr(netip.MustParseAddr("198.51.100.9"), 1)
	if !ok || m.Indicator != "198.51.100.0/24" {
		t.Errorf("decoded set: %+v %v", m, ok)
	}
	empty := NewBuilder(0).Build()
	if d, err := Decode(empty.Encode()); err != nil || d.Len() != 0 {
		t.Errorf("empty: %v", err)
	}
}

// reseal fixes the checksum after a test edits a bundle's body.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(append([]byte{}, body...), crc32.ChecksumIEEE(body))
}

func TestDecodeRejects(t *testing.T) {
	good := build(t, 1, sample).Encode()
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"not a bundle", []byte("hello, this is not a bundle at all"), ErrCorrupt},
		{"flipped bit", func() []byte { b := bytes.Clone(good); b[len(b)/2] ^= 1; return b }(), ErrCorrupt},
		{"cut", good[:len(good)-10], ErrCorrupt},
		{"future encoding", func() []byte { b := bytes.Clone(good); b[len(magic)] = 9; return reseal(b) }(), ErrVersion},
		{"trailing bytes", reseal(append(bytes.Clone(good[:len(good)-4]), 0, 0, 0, 0, 0)), ErrCorrupt},
		{"huge count", func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint32(b[len(magic)+10:], 1<<31)
			return reseal(b)
		}(), ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.data); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// encodeV1 writes refs, and networks as version 1 did (no port), with
// no addresses, domains, hashes or processes.
func encodeV1(version int64, refs []Ref, p4 []netip.Prefix) []byte {
	b := []byte(magic)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint64(b, uint64(version))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(refs)))
	for _, r := range refs {
		b = appendString(b, r.Source)
		b = appendString(b, r.Family)
	}
	b = binary.LittleEndian.AppendUint32(b, 0) // ipv4
	b = binary.LittleEndian.AppendUint32(b, 0) // ipv6
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p4)))
	for _, p := range p4 {
		a := p.Addr().As4()
		b = append(b, a[:]...)
		b = append(b, byte(p.Bits()))
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	for range 4 { // ipv6 nets, domains, hashes, processes
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// TestDecodeV1: a bundle an agent kept before networks had ports still
// loads, its networks matching any port, and one holding a network no
// indicator may name is refused.
func TestDecodeV1(t *testing.T) {
	refs := []Ref{{"stix", "Net"}}
	s, err := Decode(encodeV1(5, refs, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := s.MatchAddr(netip.MustParseAddr("198.51.100.7"), 12345); !ok || m.Indicator != "198.51.100.0/24" || m.Family != "Net" {
		t.Errorf("v1 network: %+v %v", m, ok)
	}
	if s.Version() != 5 {
		t.Errorf("version = %d", s.Version())
	}
	for _, p := range []string{"0.0.0.0/0", "10.0.0.0/8", "224.0.0.0/16"} {
		if _, err := Decode(encodeV1(5, refs, []netip.Prefix{netip.MustParsePrefix(p)})); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", p, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(build(f, 1, sample).Encode())
	f.Add(encodeV1(2, []Ref{{"a", "b"}}, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}))
	f.Add(NewBuilder(3).Build().Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			return
		}
		// An accepted bundle re-encodes to the same bytes (an older
		// encoding to bytes that decode to the same set) and answers.
		enc := s.Encode()
		if binary.LittleEndian.Uint16(data[len(magic):]) == EncodingVersion && !bytes.Equal(enc, data) {
			t.Fatal("accepted bundle is not in canonical form")
		}
		if again, err := Decode(enc); err != nil || !bytes.Equal(again.Encode(), enc) {
			t.Fatalf("re-encoded bundle does not decode to itself: %v", err)
		}
		s.MatchAddr(netip.MustParseAddr("192.0.2.1"), 80)
		s.MatchAddr(netip.MustParseAddr("2001:db8::1"), 80)
		s.MatchHash("a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8")
		s.MatchProcess("x")
		s.MatchDomain("a.b.c")
	})
}

// million makes n indicators from 20 feeds and 10 families: 35% IPv4
// with ports, 10% IPv6, 5% networks (IPv4 /24 on a port or any port,
// IPv6 /48), 10% domains, 35% SHA-256 and 5% process names. seed picks
// the random values, so two seeds give two mostly different sets.
func million(n int) []entry { return millionSeed(n, 1) }

func millionSeed(n int, seed uint64) []entry {
	r := rand.New(rand.NewPCG(seed, 2))
	v4 := func() netip.Addr {
		for {
			a := netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			if CheckAddr(a) == nil {
				return a
			}
		}
	}
	v6 := func() netip.Addr {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], r.Uint64())
		binary.LittleEndian.PutUint64(b[8:], r.Uint64())
		b[0] = 0x20
		return netip.AddrFrom16(b)
	}
	out := make([]entry, 0, n)
	for i := range n {
		src := fmt.Sprintf("feed%d", i%20)
		fam := fmt.Sprintf("family%d", i%10)
		switch i % 20 {
		case 0, 1, 2, 3, 4, 5, 6:
			out = append(out, entry{"ipv4", v4().String(), uint16(r.Uint32()), src, fam})
		case 7, 8:
			out = append(out, entry{"ipv6", v6().String(), 0, src, fam})
		case 9:
			var p netip.Prefix
			var port uint16
			if i%40 == 9 {
				p, _ = v4().Prefix(24)
				if CheckPrefix(p) != nil {
					p, _ = netip.MustParseAddr("198.51.100.0").Prefix(24)
				}
				port = uint16(r.Uint32() % 3 * 443) // 0 (any port), 443 or 886
			} else {
				p, _ = v6().Prefix(48)
			}
			typ := "ipv6"
			if p.Addr().Is4() {
				typ = "ipv4"
			}
			out = append(out, entry{typ, p.String(), port, src, fam})
		case 10, 11:
			out = append(out, entry{"domain", fmt.Sprintf("h%x.example%d.test", r.Uint64(), i%50), 0, src, fam})
		case 19:
			out = append(out, entry{"process", fmt.Sprintf("miner-%x.exe", r.Uint64()), 0, src, fam})
		default:
			out = append(out, entry{"sha256", fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()), 0, src, fam})
		}
	}
	return out
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBuild1M builds a set of a million indicators from text and
// reports the heap the set holds.
func BenchmarkBuild1M(b *testing.B) {
	list := million(1_000_000)
	b.ResetTimer()
	var held uint64
	for b.Loop() {
		b.StopTimer()
		before := heapInUse()
		b.StartTimer()
		s := build(b, 1, list)
		b.StopTimer()
		held = heapInUse() - before
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(float64(held)/(1<<20), "MB-held")
}

// BenchmarkDecode1M loads a million-indicator bundle, as the agent does.
func BenchmarkDecode1M(b *testing.B) {
	data := build(b, 1, million(1_000_000)).Encode()
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(len(data))/(1<<20), "MB-bundle")
	b.ResetTimer()
	var held uint64
	for b.Loop() {
		b.StopTimer()
		before := heapInUse()
		b.StartTimer()
		s, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		held = heapInUse() - before
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(float64(held)/(1<<20), "MB-held")
}

// BenchmarkMatchDevice matches what the malware check looks at on a busy
// device, 500 connections and 300 processes (their executables' hashes
// and their names), against a million indicators.
func BenchmarkMatchDevice(b *testing.B) {
	list := million(1_000_000)
	s := build(b, 1, list)
	r := rand.New(rand.NewPCG(3, 4))
	conns := make([]netip.AddrPort, 500)
	for i := range conns {
		conns[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}), 443)
	}
	conns[0] = netip.MustParseAddrPort("[" + list[7].value + "]:1")                       // one v6 hit
	conns[1] = netip.AddrPortFrom(netip.MustParsePrefix(list[29].value).Addr().Next(), 1) // one in a /48
	hashes := make([]string, 300)
	names := make([]string, 300)
	for i := range hashes {
		hashes[i] = fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		names[i] = fmt.Sprintf("worker-%d.exe", i)
	}
	hashes[0] = list[12].value // one hash hit
	names[0] = list[19].value  // one process name hit
	b.ResetTimer()
	for b.Loop() {
		hits := 0
		for _, c := range conns {
			if _, ok := s.MatchAddr(c.Addr(), c.Port()); ok {
				hits++
			}
		}
		for i, h := range hashes {
			if _, ok := s.MatchHash(h); ok {
				hits++
			}
			if _, ok := s.MatchProcess(names[i]); ok {
				hits++
			}
		}
		if hits < 4 {
			b.Fatalf("hits = %d", hits)
		}
	}
}

// applyRebuild is how Apply worked before it merged in place: every
// entry turned into text and added to a new Builder. Kept to measure the
// merge against, and to check that both give the same set.
func applyRebuild(s *Set, d Delta) (*Set, error) {
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

// delta1M is a million-indicator set and a delta from it: 10,000 of its
// entries removed, 10,000 new ones and 1,000 of its own with a new family
// added, as a day of feed updates might bring.
func delta1M(b *testing.B) (*Set, Delta) {
	list := million(1_000_000)
	s := build(b, 1, list)
	fresh := millionSeed(10_000, 99)
	var changed []entry
	for i := 0; i < 1000; i++ {
		e := list[i*997]
		e.family = "renamed"
		changed = append(changed, e)
	}
	var removed []entry
	for i := 0; i < 10_000; i++ {
		removed = append(removed, list[i*97+1])
	}
	return s, Delta{From: 1, To: 2, Add: build(b, 2, append(fresh, changed...)), Remove: build(b, 2, removed)}
}

// BenchmarkApplyDelta1M applies a delta to a million indicators, as the
// agent does with each update: "merge" is Apply, "rebuild" the earlier
// way, measured in the same run (the machine is shared: compare the
// ratio). B/op is what one application allocates; MB-held what the new
// set holds.
func BenchmarkApplyDelta1M(b *testing.B) {
	s, d := delta1M(b)
	ref, err := applyRebuild(s, d)
	if err != nil {
		b.Fatal(err)
	}
	want := ref.Len()
	ref = nil
	for _, m := range []struct {
		name  string
		apply func(*Set, Delta) (*Set, error)
	}{{"merge", (*Set).Apply}, {"rebuild", applyRebuild}} {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			var held uint64
			for b.Loop() {
				b.StopTimer()
				before := heapInUse()
				b.StartTimer()
				out, err := m.apply(s, d)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				held = heapInUse() - before
				if out.Len() != want {
					b.Fatalf("%d entries after the delta, want %d", out.Len(), want)
				}
				runtime.KeepAlive(out)
				b.StartTimer()
			}
			b.ReportMetric(float64(held)/(1<<20), "MB-held")
		})
	}
}

// TestApplyMatchesRebuild: merging a delta gives exactly the set (the
// same bytes) that building from the result's entries gives, for random
// sets and deltas with every kind of entry, additions, removals,
// replacements and entries in both.
func TestApplyMatchesRebuild(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		all := millionSeed(400, seed)
		pick := func(n int) []entry {
			var out []entry
			for range n {
				e := all[r.IntN(len(all))]
				if r.IntN(4) == 0 {
					e.family = fmt.Sprintf("fam%d", r.IntN(3))
				}
				if r.IntN(6) == 0 {
					e.source = fmt.Sprintf("src%d", r.IntN(3))
				}
				out = append(out, e)
			}
			return out
		}
		s := build(t, 3, pick(200))
		d := Delta{From: 3, To: 4, Add: build(t, 4, pick(1+r.IntN(60))), Remove: build(t, 4, pick(r.IntN(60)))}
		got, err := s.Apply(d)
		if err != nil {
			t.Fatal(err)
		}
		want, err := applyRebuild(s, d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Encode(), want.Encode()) {
			t.Fatalf("seed %d: merged set differs from the rebuilt one:\n%q\n%q", seed, listOf(got), listOf(want))
		}
		if _, err := Decode(got.Encode()); err != nil {
			t.Fatalf("seed %d: merged set does not decode: %v", seed, err)
		}
	}
	// A delta without sets, and one to an empty set.
	s := build(t, 1, sample)
	if got, err := s.Apply(Delta{From: 1, To: 2}); err != nil || !slices.Equal(listOf(got), listOf(s)) || got.Version() != 2 {
		t.Errorf("empty delta: %v", err)
	}
	if got, err := NewBuilder(0).Build().Apply(Delta{From: 0, To: 1, Add: s}); err != nil || got.Len() != s.Len() {
		t.Errorf("delta onto an empty set: %v", err)
	}
}
