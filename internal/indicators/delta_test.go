package indicators

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

type dentry struct {
	typ, value string
	port       uint16
	src, fam   string
}

func setOf(t *testing.T, version int64, list ...dentry) *Set {
	t.Helper()
	b := NewBuilder(version)
	for _, e := range list {
		if err := b.Add(e.typ, e.value, e.port, e.src, e.fam); err != nil {
			t.Fatalf("Add(%v): %v", e, err)
		}
	}
	return b.Build()
}

func listOf(s *Set) []string {
	var out []string
	s.Each(func(typ, value string, port uint16, r Ref) {
		out = append(out, fmt.Sprintf("%s %s %d %s %s", typ, value, port, r.Source, r.Family))
	})
	slices.Sort(out)
	return out
}

func TestDeltaApply(t *testing.T) {
	a := dentry{TypeIPv4, "127.0.0.2", 4444, "feodotracker", "QakBot"}
	b := dentry{TypeDomain, "c2.example", 0, "urlhaus", ""}
	c := dentry{TypeSHA256, strings.Repeat("ab", 32), 0, "malwarebazaar", "AgentTesla"}
	n := dentry{TypeIPv4, "198.51.100.0/24", 0, "stix", ""}
	p := dentry{TypeIPv6, "2001:db8::1", 443, "threatfox", "Emotet"}
	a2 := a
	a2.fam = "Pikabot"
	old := setOf(t, 3, a, b, c)
	d := Delta{From: 3, To: 5, Add: setOf(t, 5, a2, n, p), Remove: setOf(t, 5, b)}
	got, err := DecodeDelta(d.Encode())
	if err != nil {
		t.Fatalf("DecodeDelta: %v", err)
	}
	if got.From != 3 || got.To != 5 {
		t.Fatalf("decoded delta %d→%d, want 3→5", got.From, got.To)
	}
	applied, err := old.Apply(got)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := setOf(t, 5, a2, c, n, p)
	if !slices.Equal(listOf(applied), listOf(want)) {
		t.Errorf("applied = %q\nwant %q", listOf(applied), listOf(want))
	}
	if applied.Version() != 5 || string(applied.Encode()) != string(want.Encode()) {
		t.Errorf("applied set encodes differently from the set built directly (version %d)", applied.Version())
	}
	if _, err := setOf(t, 4).Apply(got); err == nil {
		t.Error("a delta from 3 applied to version 4")
	}
}

func TestDecodeDeltaRejects(t *testing.T) {
	good := Delta{From: 1, To: 2, Add: setOf(t, 2), Remove: setOf(t, 2)}.Encode()
	for name, data := range map[string][]byte{
		"empty":     nil,
		"bundle":    setOf(t, 1).Encode(),
		"truncated": good[:len(good)-3],
		"trailing":  append(slices.Clone(good), 0),
		"backwards": Delta{From: 2, To: 2, Add: setOf(t, 2), Remove: setOf(t, 2)}.Encode(),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeDelta(data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("DecodeDelta = %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzDecodeDelta(f *testing.F) {
	f.Add(Delta{From: 1, To: 2, Add: NewBuilder(2).Build(), Remove: NewBuilder(2).Build()}.Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := DecodeDelta(data)
		if err == nil {
			NewBuilder(d.From).Build().Apply(d)
		}
	})
}
