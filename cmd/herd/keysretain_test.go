package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/store/sqlite"
)

type listedKey struct {
	KID                string
	Signing, Published bool
}

func keysList(t *testing.T, args ...string) []listedKey {
	t.Helper()
	code, out, errs := runCmd(t, runKeys, append([]string{"list", "--json"}, args...)...)
	var listed struct{ Keys []listedKey }
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil {
		t.Fatalf("keys list %v = %d %s %s", args, code, out, errs)
	}
	return listed.Keys
}

// A server started with an 8-hour certificate lifetime; its first key was
// retired 5 hours ago. herd keys (no lifetime flag) must keep it
// published, before and after another rotation; the KEK is found beside
// the database --db names.
func TestKeysRetainForTheServersLifetimeAndFindKEKBesideDB(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "herd.db")
	dsn := "sqlite:" + db
	sixHoursAgo := time.Now().Add(-6 * time.Hour)
	n, err := node.Open(ctx, node.Config{DataDir: dir, KEKFile: filepath.Join(dir, "kek"), Now: func() time.Time { return sixHoursAgo },
		Authority: authority.Config{Issuer: "https://herd.example", CertificateLifetime: 8 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	_, oldKID := n.Keys.Signer()
	n.Close()
	// A rotation 5 hours ago (a node's own clock, so the retirement is in
	// the past).
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	kek, _, err := keyring.LoadKEK(filepath.Join(dir, "kek"), false)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.OpenWith(ctx, st, keyring.Options{KEK: kek, Now: func() time.Time { return time.Now().Add(-5 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Rotate(ctx, "EdDSA"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	check := func(when string, keys []listedKey, want int) {
		t.Helper()
		if len(keys) != want {
			t.Fatalf("%s: %d keys, want %d: %+v", when, len(keys), want, keys)
		}
		if keys[0].KID != oldKID || !keys[0].Published {
			t.Errorf("%s: first key %+v; want %s published (8h certificates it signed live 3 more hours)", when, keys[0], oldKID)
		}
	}
	// No --kek-file and no --data-dir: the kek beside herd.db is used.
	check("before rotating", keysList(t, "--db", dsn), 2)
	code, out, errs := runCmd(t, runKeys, "rotate", "--db", dsn)
	if code != 0 || !strings.Contains(out, "new signing key") {
		t.Fatalf("keys rotate --db = %d %s %s", code, out, errs)
	}
	check("after a CLI rotation", keysList(t, "--db", dsn), 3)
	// A floor shorter than the noted lifetime changes nothing.
	check("with --cert-lifetime 1h", keysList(t, "--db", dsn, "--cert-lifetime", "1h"), 3)
}

// With no KEK beside the database, the error names every place looked.
func TestKeysKEKErrorNamesPlacesTried(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	ctx := context.Background()
	dir, elsewhere := t.TempDir(), t.TempDir()
	n, err := node.Open(ctx, node.Config{DataDir: dir, KEKFile: filepath.Join(elsewhere, "kek"), Authority: authority.Config{Issuer: "https://herd.example"}})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	code, _, errs := runCmd(t, runKeys, "list", "--db", "sqlite:"+filepath.Join(dir, "herd.db"))
	if code != 1 || !strings.Contains(errs, filepath.Join(dir, "kek")) || !strings.Contains(errs, keyring.KEKEnv) {
		t.Errorf("keys list without the KEK beside the database = %d %q; want exit 1 naming %s and %s", code, errs, filepath.Join(dir, "kek"), keyring.KEKEnv)
	}
	if code, out, errs := runCmd(t, runKeys, "list", "--db", "sqlite:"+filepath.Join(dir, "herd.db"), "--kek-file", filepath.Join(elsewhere, "kek")); code != 0 || !strings.Contains(out, "signing") {
		t.Errorf("keys list --kek-file = %d %s %s", code, out, errs)
	}
}
