package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
)

// A store whose signing keys are sealed, opened without its KEK, fails
// with an error naming the KEK file and HERD_KEK, and writes no new KEK
// (which could never open those keys).
func TestSealedStoreWithoutKEK(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	dir := t.TempDir()
	kekFile := filepath.Join(dir, "kek")
	cfg := node.Config{DataDir: dir, KEKFile: kekFile, Authority: authority.Config{Issuer: "http://127.0.0.1:1"}}
	n, err := node.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Keys.Keys()[0].Encrypted {
		t.Fatal("the first start did not seal the signing key")
	}
	n.Close()
	if _, err := os.Stat(kekFile); err != nil {
		t.Fatalf("first start made no KEK: %v", err)
	}

	if err := os.Rename(kekFile, kekFile+".elsewhere"); err != nil {
		t.Fatal(err)
	}
	n, err = node.Open(t.Context(), cfg)
	if err == nil {
		n.Close()
		t.Fatal("the node opened sealed keys without their KEK")
	}
	for _, want := range []string{kekFile, keyring.KEKEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := os.Stat(kekFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a new KEK was written beside the database (%v)", err)
	}

	// With the KEK back in place it opens again.
	if err := os.Rename(kekFile+".elsewhere", kekFile); err != nil {
		t.Fatal(err)
	}
	n, err = node.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("reopen with the KEK: %v", err)
	}
	n.Close()
}
