package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/store"
)

const keysUsage = `usage: herd keys rotate [--db DSN] [--alg EdDSA|ES256] [--kek-file FILE]
       herd keys list [--db DSN] [--kek-file FILE] [--json]

rotate adds a new signing key, which every busy node signs with within
seconds (it asks the store for a keys version every 5 s; an idle node
reads the keys at the latest a minute after rotation, on its first
request); the old key stays in the JWKS until the last certificate it
signed has expired: the longest certificate lifetime any node was started
with is kept in the store, so this command needs no lifetime. list shows
every key.

The key-encryption key comes from HERD_KEK, else --kek-file, else the
kek file in --data-dir, else the kek file beside the SQLite database
--db names, else the default data directory.`

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprintln(stderr, keysUsage)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("herd keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store: sqlite:PATH or postgres://… (default SQLite in the data directory)")
	dataDir := fs.String("data-dir", "", "data directory (default "+node.DefaultDataDir()+")")
	kekFile := fs.String("kek-file", "", "key-encryption key file (default DATA-DIR/kek, or kek beside the --db SQLite file; HERD_KEK overrides)")
	lifetime := fs.Duration("cert-lifetime", 0, "keep retired keys published at least this long; the store already keeps them for the longest certificate lifetime any node issued with")
	alg := fs.String("alg", healthcert.EdDSA, "algorithm of the new key: EdDSA or ES256 (rotate)")
	asJSON := fs.Bool("json", false, "print JSON (list)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "herd keys: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "herd keys %s: %v\n", sub, err)
		return 1
	}
	kek, tried, err := findKEK(*kekFile, *dataDir, *db)
	if err != nil {
		return fail(err)
	}
	st, err := openExisting(ctx, *db, *dataDir)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	kr, err := keyring.OpenWith(ctx, st, keyring.Options{MinRetention: *lifetime, KEK: kek})
	if errors.Is(err, keyring.ErrKEKRequired) || errors.Is(err, keyring.ErrWrongKEK) {
		return fail(fmt.Errorf("%w (looked in %s)", err, strings.Join(tried, ", ")))
	}
	if err != nil {
		return fail(err)
	}
	if sub == "rotate" {
		var kid string
		if err := audited(ctx, st.(store.Audit), "key.rotate", *alg, func() (err error) {
			kid, err = kr.Rotate(ctx, *alg)
			return err
		}); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "new signing key %s (%s)\n", kid, *alg)
		return 0
	}
	infos := kr.Keys()
	if *asJSON {
		type key struct {
			KID       string     `json:"kid"`
			Alg       string     `json:"alg"`
			CreatedAt time.Time  `json:"created_at"`
			RetiredAt *time.Time `json:"retired_at,omitempty"`
			Signing   bool       `json:"signing"`
			Published bool       `json:"published"`
			Encrypted bool       `json:"encrypted"`
		}
		out := []key{}
		for _, k := range infos {
			j := key{KID: k.KID, Alg: k.Alg, CreatedAt: k.CreatedAt, Signing: k.Signing, Published: k.Published, Encrypted: k.Encrypted}
			if !k.RetiredAt.IsZero() {
				r := k.RetiredAt
				j.RetiredAt = &r
			}
			out = append(out, j)
		}
		json.NewEncoder(stdout).Encode(map[string]any{"keys": out})
		return 0
	}
	for _, k := range infos {
		state := "retired"
		switch {
		case k.Signing:
			state = "signing"
		case k.Published:
			state = "published"
		}
		enc := "clear"
		if k.Encrypted {
			enc = "encrypted"
		}
		fmt.Fprintf(stdout, "%s  %-5s  %-9s  %-9s  created %s\n", k.KID, k.Alg, state, enc, k.CreatedAt.Format(time.RFC3339))
	}
	return 0
}

// findKEK finds the key-encryption key a command needs: HERD_KEK; else
// --kek-file; else DATA-DIR/kek when --data-dir is given; else, when --db
// names a SQLite file, the kek file beside it (where `herd serve
// --data-dir` made it); else the default data directory's. It returns
// the places it looked, for an error to name. A KEK found nowhere is nil.
func findKEK(kekFile, dataDir, db string) (kek []byte, tried []string, err error) {
	if os.Getenv(keyring.KEKEnv) != "" {
		kek, _, err := keyring.LoadKEK("", false)
		return kek, []string{keyring.KEKEnv}, err
	}
	tried = []string{keyring.KEKEnv + " (not set)"}
	var path string
	switch {
	case kekFile != "" || dataDir != "":
		path = kekPath(kekFile, dataDir)
	case strings.HasPrefix(db, "sqlite:"):
		file := strings.TrimPrefix(strings.TrimPrefix(db, "sqlite:"), "//")
		if i := strings.IndexByte(file, '?'); i >= 0 {
			file = file[:i]
		}
		path = filepath.Join(filepath.Dir(file), "kek")
	default:
		path = kekPath("", "")
	}
	tried = append(tried, path)
	kek, _, err = keyring.LoadKEK(path, false)
	return kek, tried, err
}

func runRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("herd revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store: sqlite:PATH or postgres://… (default SQLite in the data directory)")
	device := fs.String("device", "", "device id whose live certificates to revoke")
	reason := fs.String("reason", "revoked by an operator", "reason kept with the certificates")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *device == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: herd revoke [--db DSN] --device ID [--reason TEXT]")
		return 2
	}
	st, err := openExisting(ctx, *db, "")
	if err != nil {
		fmt.Fprintf(stderr, "herd revoke: %v\n", err)
		return 1
	}
	defer st.Close()
	sl, ok := st.(store.StatusLists)
	au, audits := st.(store.Audit)
	if !ok || !audits {
		fmt.Fprintln(stderr, "herd revoke: this store keeps no status lists")
		return 1
	}
	var revoked []store.IssuedCertificate
	err = audited(ctx, au, "device.revoke", *device, func() error {
		if _, err := st.Device(ctx, *device); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w (a deleted device's certificates were revoked when it was deleted)", err)
		} else if err != nil {
			return err // the store names the device
		}
		revoked, err = sl.RevokeDevice(ctx, *device, *reason, time.Now())
		return err
	})
	if err != nil {
		fmt.Fprintf(stderr, "herd revoke: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "revoked %d live certificates of %s; relying parties learn it within their status list staleness\n", len(revoked), *device)
	return 0
}

// cliSealer is the Sealer of a command that stores a secret: the KEK
// found as findKEK finds it. With none, secrets are stored in clear, and
// sealed when serve next starts with a KEK, unless the store's keys are
// sealed already: then the KEK is required.
func cliSealer(ctx context.Context, st store.Keys, kekFile, db string) (keyring.Sealer, error) {
	kek, tried, err := findKEK(kekFile, "", db)
	if err != nil {
		return keyring.Sealer{}, err
	}
	if kek != nil {
		if err := keyring.CheckKEK(ctx, st, kek); err != nil {
			return keyring.Sealer{}, fmt.Errorf("%w (looked in %s)", err, strings.Join(tried, ", "))
		}
	}
	if kek == nil {
		sealed, err := keyring.HasSealedKeys(ctx, st)
		if err != nil {
			return keyring.Sealer{}, err
		}
		if sealed {
			return keyring.Sealer{}, fmt.Errorf("this store seals its secrets with a key-encryption key; give it with HERD_KEK or --kek-file (looked in %s)", strings.Join(tried, ", "))
		}
	}
	return keyring.Sealer{KEK: kek}, nil
}
