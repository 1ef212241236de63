package agent

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyCreatedOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := Store{Dir: dir}
	k1, err := s.LoadOrCreateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		path string
		want fs.FileMode
	}{
		{"dir", dir, 0o700},
		{"key", filepath.Join(dir, keyFile), 0o600},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := os.Stat(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != c.want {
				t.Errorf("mode %v, want %v", got, c.want)
			}
		})
	}
	k2, err := s.LoadOrCreateKey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Error("a second LoadOrCreateKey made a new key instead of loading the first")
	}
}

func TestKeyReadableByOthersRefused(t *testing.T) {
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660} {
		t.Run(mode.String(), func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			if _, err := s.LoadOrCreateKey(); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(s.Dir, keyFile)
			if err := os.Chmod(name, mode); err != nil {
				t.Fatal(err)
			}
			_, err := s.LoadKey()
			if err == nil {
				t.Fatal("a key readable by others was accepted")
			}
			for _, want := range []string{name, "readable by others", "chmod 600 " + name} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// LoadOrCreateKey must not replace it with a fresh key either.
			if _, err := s.LoadOrCreateKey(); err == nil {
				t.Error("LoadOrCreateKey accepted a key readable by others")
			}
		})
	}
}

func TestKeyNotPEM(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(s.Dir, keyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadKey(); err == nil || !strings.Contains(err.Error(), "not a PEM key") {
		t.Fatalf("err = %v, want a not-a-PEM-key error", err)
	}
}

func TestStateNotEnrolled(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if _, err := s.LoadState(); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("LoadState on an empty dir: %v, want ErrNotEnrolled", err)
	}
	if _, err := s.LoadLast(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadLast on an empty dir: %v, want fs.ErrNotExist", err)
	}
}

func TestStateAtomicWrite(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	st := &State{Authority: "https://herd.example", DeviceID: "dev-1"}
	st.Trust("shop.example", "https://shop.example")
	st.Trust("shop.example", "https://shop.example", "https://m.shop.example")
	if err := s.SaveState(st); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	if got.DeviceID != "dev-1" || len(got.RelyingParties) != 1 || len(got.RelyingParties[0].Origins) != 2 {
		t.Fatalf("round trip gave %+v", got)
	}
	info, err := os.Stat(filepath.Join(s.Dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("state.json mode %v, want 0600", info.Mode().Perm())
	}
	// No temporary file is left beside it.
	ents, _ := os.ReadDir(s.Dir)
	for _, e := range ents {
		if e.Name() != stateFile {
			t.Errorf("left over in the state dir: %s", e.Name())
		}
	}
	// A write that cannot complete (the value does not encode) leaves
	// the previous file whole.
	if err := s.writeJSON(stateFile, map[string]any{"bad": func() {}}); err == nil {
		t.Fatal("encoding a func succeeded")
	}
	again, err := s.LoadState()
	if err != nil || again.DeviceID != "dev-1" {
		t.Fatalf("after a failed write: %+v, %v", again, err)
	}
	// A rename over the old file is what makes the write atomic: the inode
	// changes, the old content is never truncated in place.
	before, _ := os.Stat(filepath.Join(s.Dir, stateFile))
	st.DeviceID = "dev-2"
	if err := s.SaveState(st); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(s.Dir, stateFile))
	if os.SameFile(before, after) {
		t.Error("state.json was rewritten in place, not replaced by a rename")
	}
}

func TestStateDirTightened(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (Store{Dir: dir}).SaveState(&State{DeviceID: "d"}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", st.Mode().Perm())
	}
}
