package source

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadSnapshot feeds the snapshot reader what a user may hand to
// `herd-agent check --snapshot`: it never panics, and what it accepts
// writes out and reads back to the same snapshot, which replays without
// panicking.
func FuzzReadSnapshot(f *testing.F) {
	for _, pat := range []string{"../checks/*/testdata/*/*.json", "../checks/*/testdata/*/*/*.json"} {
		files, _ := filepath.Glob(pat)
		for i, p := range files {
			if i%4 != 0 {
				continue // a sample of each package's cases is seed enough
			}
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"version":1,"os":"linux","collected_at":"2026-12-03T18:00:00Z","files":{"/a":{"base64":"AA=="},"/b":{"error":"permission denied"},"/c":{"stanzas":"Package: x\n"},"/d":{"base64":"YWI=","head":true}},"dirs":{"/":["a"],"/e":{"error":"x"}},"commands":[{"argv":["a"],"exit":1}],"registry":{"HKLM\\X":{"v":{"type":"REG_DWORD","value":"7"}},"HKLM\\Y":{"error":"access is denied"}},"wmi":{"c":{"error":"x"}}}`))
	f.Add([]byte(`{"version":1,"os":"windows","collected_at":"2026-12-03T18:00:00Z","registry":{"K":{"error":5}}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadSnapshot(bytes.NewReader(b))
		if err != nil {
			return
		}
		var once bytes.Buffer
		if err := s.Write(&once); err != nil {
			t.Fatalf("an accepted snapshot does not write: %v", err)
		}
		back, err := ReadSnapshot(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("a written snapshot does not read back: %v\n%s", err, once.Bytes())
		}
		var twice bytes.Buffer
		back.Write(&twice)
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Errorf("the snapshot changes on a second round:\n%s\n%s", once.Bytes(), twice.Bytes())
		}
		// Replaying any of it never panics.
		r := NewReplay(back)
		ctx := context.Background()
		for name := range back.Files {
			r.ReadFile(name)
			r.ReadFileHead(name, 16)
			r.ReadStanzas(name, func(string) bool { return true })
			r.HashFile(name)
		}
		for name := range back.Dirs {
			r.ReadDir(name)
		}
		for _, c := range back.Commands {
			r.Run(ctx, c.Argv...)
		}
		for k := range back.Registry {
			r.Registry(k)
		}
		for c := range back.WMI {
			r.WMI(ctx, c)
		}
		r.Processes(ctx)
		r.Connections(ctx)
	})
}

// FuzzScanStanzas splits anything into stanzas without losing or
// inventing a line: kept whole, the stanzas hold exactly the input's
// non-blank lines, and none holds a blank line.
func FuzzScanStanzas(f *testing.F) {
	f.Add(stanzaFile)
	f.Add("Package: a\r\nVersion: 1\r\n\r\n\r\nPackage: b\n \n\t\n")
	f.Add("\n\n\n")
	f.Add("\x1f\x8b\x08\x00") // a gzip header, cut short
	f.Add("\x04\x22\x4d\x18") // an LZ4 frame header, cut short
	f.Fuzz(func(t *testing.T, s string) {
		all, err := ScanStanzas(strings.NewReader(s), func(string) bool { return true })
		if err != nil || strings.HasPrefix(s, "\x1f\x8b") || strings.HasPrefix(s, "\x04\x22\x4d\x18") {
			return // compressed or unreadable: nothing more to compare
		}
		var lines []string
		for _, l := range strings.SplitAfter(s, "\n") {
			if strings.TrimRight(l, "\r\n \t") != "" {
				lines = append(lines, l)
			}
		}
		got := strings.Join(all, "")
		if got != strings.Join(lines, "") {
			t.Errorf("%q: stanzas %q", s, all)
		}
		for _, st := range all {
			if st == "" || strings.Contains(st, "\n\n") {
				t.Errorf("%q: stanza %q is empty or holds a blank line", s, st)
			}
		}
		none, _ := ScanStanzas(strings.NewReader(s), func(string) bool { return false })
		if len(none) != 0 {
			t.Errorf("%q: keep false kept %q", s, none)
		}
	})
}
