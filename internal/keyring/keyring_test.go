package keyring_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openStore(t *testing.T) *sqlite.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func kek() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func TestKeysAreSealedAtRest(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	k1 := kek()
	kr, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: time.Hour, KEK: k1})
	if err != nil {
		t.Fatal(err)
	}
	signer, kid := kr.Signer()
	stored, _ := st.SigningKeys(ctx)
	if len(stored) != 1 || stored[0].KID != kid {
		t.Fatalf("stored keys = %+v", stored)
	}
	clear, _ := x509.MarshalPKCS8PrivateKey(signer)
	if bytes.Contains(stored[0].Private, clear) || bytes.Contains(stored[0].Private, signer.(ed25519.PrivateKey).Seed()) {
		t.Fatal("the private key is stored in clear")
	}
	if _, err := x509.ParsePKCS8PrivateKey(stored[0].Private); err == nil {
		t.Fatal("the stored key parses as PKCS #8 without the KEK")
	}
	if !kr.Keys()[0].Encrypted {
		t.Error("Keys() does not report the key as encrypted")
	}

	again, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: time.Hour, KEK: k1})
	if err != nil {
		t.Fatalf("reopen with the KEK: %v", err)
	}
	s2, kid2 := again.Signer()
	msg := []byte("payload")
	sig, _ := s2.Sign(rand.Reader, msg, crypto.Hash(0))
	if kid2 != kid || !ed25519.Verify(signer.Public().(ed25519.PublicKey), msg, sig) {
		t.Fatal("the reopened key is not the same key")
	}
	if _, err := keyring.Open(ctx, st, time.Hour, nil); !errors.Is(err, keyring.ErrKEKRequired) {
		t.Errorf("open without a KEK: error %v, want ErrKEKRequired", err)
	}
	if _, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: time.Hour, KEK: kek()}); !errors.Is(err, keyring.ErrWrongKEK) {
		t.Errorf("open with another KEK: error %v, want ErrWrongKEK", err)
	}
	// A sealed key moved under another key id does not open: the id is
	// authenticated.
	moved := stored[0]
	moved.KID, moved.CreatedAt = "other", moved.CreatedAt.Add(time.Second)
	if _, err := (keyring.LocalKeys{KEK: k1}).Signer(ctx, moved); !errors.Is(err, keyring.ErrWrongKEK) {
		t.Errorf("sealed key under another id: error %v, want ErrWrongKEK", err)
	}
}

// A store made without a KEK keeps working once one is configured: old
// keys are read in clear, new ones are sealed.
func TestClearKeysThenKEK(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if _, err := keyring.Open(ctx, st, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: time.Hour, KEK: kek()})
	if err != nil {
		t.Fatalf("clear keys with a KEK configured: %v", err)
	}
	if _, err := kr.Rotate(ctx, healthcert.EdDSA); err != nil {
		t.Fatal(err)
	}
	infos := kr.Keys()
	if len(infos) != 2 || infos[0].Encrypted || !infos[1].Encrypted || !infos[1].Signing {
		t.Errorf("keys = %+v", infos)
	}
}

// Retired keys stay in the JWKS until the last certificate they signed
// has expired, and not much longer.
func TestRetiredKeyPublishedUntilItsCertificatesExpire(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := &clock{t: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
	const lifetime = 4 * time.Hour
	kr, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: lifetime, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	oldSigner, oldKid := kr.Signer()
	clk.Add(time.Hour)
	// The last certificate the old key signs, just before the rotation.
	c := &healthcert.Claims{Issuer: "https://ha.example", Audience: "rp", Subject: "s", IssuedAt: clk.Now().Unix(),
		Expiry: clk.Now().Add(lifetime).Unix(), ID: "j", Profile: healthcert.Profile,
		Submods: map[string]healthcert.Appraisal{healthcert.SubmodDevice: {Status: health.Affirming}}}
	tok, err := healthcert.Sign(oldSigner, oldKid, c)
	if err != nil {
		t.Fatal(err)
	}
	newKid, err := kr.Rotate(ctx, healthcert.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if _, kid := kr.Signer(); kid != newKid {
		t.Fatalf("signing with %s after rotation, want %s", kid, newKid)
	}
	published := func() map[string]string {
		if err := kr.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, k := range kr.JWKS().Keys {
			m[k.Kid] = k.Alg
		}
		return m
	}
	for _, step := range []struct {
		advance time.Duration
		oldIn   bool
	}{
		{0, true},
		{lifetime - time.Second, true}, // the old certificate is still live
		{time.Second, true},            // it just expired: kept a little longer for nodes not yet reloaded
		{2*keyring.ReloadInterval + time.Second, false},
	} {
		clk.Add(step.advance)
		m := published()
		if _, in := m[oldKid]; in != step.oldIn {
			t.Errorf("at %s: old key published = %v, want %v", clk.Now().Format(time.TimeOnly), in, step.oldIn)
		}
		if m[newKid] != healthcert.ES256 {
			t.Errorf("new key %s missing or not ES256: %v", newKid, m)
		}
		if step.oldIn {
			ks, _ := kr.JWKS().KeySet()
			if _, err := healthcert.Parse(tok, ks); err != nil {
				t.Errorf("the old key's certificate no longer verifies with the JWKS: %v", err)
			}
		}
	}
	infos := kr.Keys()
	if len(infos) != 2 || infos[0].Published || !infos[1].Published || infos[0].RetiredAt.IsZero() {
		t.Errorf("Keys() = %+v", infos)
	}
}

// hsm is a SignerSource that keeps keys outside the store, as an HSM
// would: the store holds only a reference.
type hsm struct{ keys map[string]crypto.Signer }

func (h hsm) Signer(_ context.Context, k store.SigningKey) (crypto.Signer, error) {
	if s, ok := h.keys[string(k.Private)]; ok {
		return s, nil
	}
	return nil, errors.New("no such key in the HSM")
}

func TestSignerSourceReplacesLocalKeys(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwk, _ := healthcert.NewJWK(priv.Public(), "")
	pub, _ := x509.MarshalPKIXPublicKey(priv.Public())
	if err := st.AddSigningKey(ctx, store.SigningKey{KID: jwk.Kid, Alg: healthcert.EdDSA, Private: []byte("slot-7"), Public: pub, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: time.Hour, Signers: hsm{map[string]crypto.Signer{"slot-7": priv}}})
	if err != nil {
		t.Fatal(err)
	}
	if s, kid := kr.Signer(); kid != jwk.Kid || !s.Public().(ed25519.PublicKey).Equal(priv.Public()) {
		t.Fatal("the keyring does not sign with the HSM's key")
	}
}

func TestLoadKEK(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kek")
	t.Setenv(keyring.KEKEnv, "")
	if k, created, err := keyring.LoadKEK(path, false); k != nil || created || err != nil {
		t.Fatalf("missing file without create = %v %v %v", k, created, err)
	}
	k, created, err := keyring.LoadKEK(path, true)
	if err != nil || !created || len(k) != 32 {
		t.Fatalf("create = %d bytes, %v, %v", len(k), created, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("KEK file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := keyring.LoadKEK(path, true)
	if err != nil || created || !bytes.Equal(k, k2) {
		t.Fatalf("reload = %v %v; same key %v", created, err, bytes.Equal(k, k2))
	}
	env := kek()
	t.Setenv(keyring.KEKEnv, base64.StdEncoding.EncodeToString(env))
	if k3, _, err := keyring.LoadKEK(path, true); err != nil || !bytes.Equal(k3, env) {
		t.Errorf("HERD_KEK does not take precedence: %v", err)
	}
	for _, bad := range []string{"short", base64.StdEncoding.EncodeToString(make([]byte, 16)), "!!!"} {
		t.Setenv(keyring.KEKEnv, bad)
		if _, _, err := keyring.LoadKEK(path, false); err == nil || !strings.Contains(err.Error(), keyring.KEKEnv) {
			t.Errorf("HERD_KEK=%q: error %v", bad, err)
		}
	}
}
