package source

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

const stanzaFile = "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\nDescription: on alice-laptop\n\n\nPackage: c\nVersion: 3\n"

func hasB(s string) bool { return strings.Contains(s, "Package: b\n") }

func TestScanStanzas(t *testing.T) {
	all, err := ScanStanzas(strings.NewReader(stanzaFile), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Package: a\nVersion: 1\n", "Package: b\nVersion: 2\nDescription: on alice-laptop\n", "Package: c\nVersion: 3\n"}
	if strings.Join(all, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", all, want)
	}
}

func TestStanzasRecordReplay(t *testing.T) {
	s := NewSnapshot("linux", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), "root", "/root")
	s.Files["/var/lib/apt/lists/x_Packages"] = FileEntry{Data: []byte(stanzaFile)}
	live := namedHost{NewReplay(s), "alice-laptop"}
	rec := NewRecorder(live, RecorderOptions{})
	got, err := ReadStanzas(rec, "/var/lib/apt/lists/x_Packages", hasB)
	if err != nil || len(got) != 1 || !strings.Contains(got[0], "alice-laptop") {
		t.Fatalf("through the recorder: %q, %v (the check sees the real text)", got, err)
	}
	// A second read keeping another stanza merges with the first.
	ReadStanzas(rec, "/var/lib/apt/lists/x_Packages", func(s string) bool { return strings.HasPrefix(s, "Package: a\n") })

	var buf bytes.Buffer
	if err := rec.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	js := buf.String()
	if strings.Contains(js, "Package: c") || strings.Contains(js, "alice-laptop") {
		t.Errorf("snapshot holds a stanza no check kept, or the host name:\n%s", js)
	}
	if !strings.Contains(js, `"stanzas"`) {
		t.Errorf("snapshot does not mark the entry as stanzas:\n%s", js)
	}
	snap, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rp := NewReplay(snap)
	again, err := ReadStanzas(rp, "/var/lib/apt/lists/x_Packages", hasB)
	if err != nil || len(again) != 1 || !strings.Contains(again[0], "Version: 2") {
		t.Errorf("replayed: %q, %v", again, err)
	}
	a, _ := ReadStanzas(rp, "/var/lib/apt/lists/x_Packages", func(string) bool { return true })
	if len(a) != 2 {
		t.Errorf("replay holds %d stanzas, want the 2 kept", len(a))
	}
	if _, err := rp.ReadFile("/var/lib/apt/lists/x_Packages"); !errors.Is(err, ErrFiltered) {
		t.Errorf("ReadFile of recorded stanzas: err = %v, want ErrFiltered", err)
	}
	if _, err := rp.ReadFileHead("/var/lib/apt/lists/x_Packages", 10); !errors.Is(err, ErrFiltered) {
		t.Errorf("ReadFileHead of recorded stanzas: err = %v, want ErrFiltered", err)
	}
}

func TestStanzasFromWholeFile(t *testing.T) {
	snap := NewSnapshot("linux", time.Now(), "root", "/root")
	snap.Files["/p"] = FileEntry{Data: []byte(stanzaFile)}
	got, err := ReadStanzas(NewReplay(snap), "/p", hasB)
	if err != nil || len(got) != 1 {
		t.Errorf("got %q, %v", got, err)
	}
}

// namedHost is a source on a host with the given name.
type namedHost struct {
	*Replay
	host string
}

func (n namedHost) Hostname() (string, error) { return n.host, nil }
