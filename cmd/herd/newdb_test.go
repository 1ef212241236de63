package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/herd-health/herd/internal/store/storeopen"
)

// newDB makes an empty SQLite database at path, as `herd serve` would on
// first start, and returns its DSN: the operator commands open existing
// databases only.
func newDB(t *testing.T, path string) string {
	t.Helper()
	st, err := storeopen.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return "sqlite:" + path
}

// tempDB is newDB in a fresh temporary directory.
func tempDB(t *testing.T) string {
	t.Helper()
	return newDB(t, filepath.Join(t.TempDir(), "herd.db"))
}
