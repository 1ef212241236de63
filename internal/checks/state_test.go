package checks

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileState(t *testing.T) {
	dir := t.TempDir()
	st := NewFileState(filepath.Join(dir, "checks-state.json"))
	var v struct{ N int }
	if ok, err := st.Load("a", &v); ok || err != nil {
		t.Fatalf("a missing file: %v, %v", ok, err)
	}
	if err := st.Store("a", struct{ N int }{1}); err != nil {
		t.Fatal(err)
	}
	if err := st.Store("b", []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Load("a", &v); !ok || err != nil || v.N != 1 {
		t.Errorf("a = %+v, %v, %v", v, ok, err)
	}
	var b []string
	if ok, _ := st.Load("b", &b); !ok || len(b) != 1 {
		t.Errorf("b = %v: storing one key lost another", b)
	}
	fi, err := os.Stat(st.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".checks-state-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// A damaged file is an error to Load and is replaced by Store.
	os.WriteFile(st.Path, []byte("{not json"), 0o600)
	if _, err := st.Load("a", &v); err == nil {
		t.Error("a damaged file loads without error")
	}
	if err := st.Store("a", struct{ N int }{2}); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Load("a", &v); !ok || err != nil || v.N != 2 {
		t.Errorf("after replacing a damaged file: %+v, %v, %v", v, ok, err)
	}
	// A value of the wrong shape is an error, not a silent zero.
	st.Store("b", []string{"x"})
	var wrong map[string]int
	if _, err := st.Load("b", &wrong); err == nil {
		t.Error("a list loaded into a map without error")
	}
	// Too large is refused, and what was kept stays.
	if err := st.Store("big", strings.Repeat("x", MaxStateSize)); err == nil {
		t.Error("an oversized value was kept")
	}
	if ok, _ := st.Load("a", &v); !ok || v.N != 2 {
		t.Error("a refused value damaged the file")
	}
	// A missing directory is ErrNoStateDir, and nothing is created.
	missing := filepath.Join(dir, "no", "such", "dir")
	if err := NewFileState(filepath.Join(missing, "f.json")).Store("a", 1); !errors.Is(err, ErrNoStateDir) {
		t.Errorf("storing into a missing directory: %v, want ErrNoStateDir", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the missing directory was created: %v", err)
	}
}
