package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	_ "github.com/herd-health/herd/internal/store/sqlite"
	"github.com/herd-health/herd/internal/webhook"
	"github.com/herd-health/herd/verify"
)

// dumpRows reads the secret columns straight from the database, as a
// dump would hold them: name or audience, then the value.
type dumpRows func(t *testing.T) map[string][]byte

func sqliteDump(path string) dumpRows {
	return func(t *testing.T) map[string][]byte {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		out := map[string][]byte{}
		for _, q := range []string{`SELECT 'secret:' || name, value FROM secrets`, `SELECT 'relying_party:' || audience, secret FROM relying_parties`} {
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k string
				var v []byte
				rows.Scan(&k, &v)
				out[k] = v
			}
			rows.Close()
		}
		return out
	}
}

func postgresDump(dsn string) dumpRows {
	return func(t *testing.T) map[string][]byte {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		out := map[string][]byte{}
		for _, q := range []string{`SELECT 'secret:' || name, value FROM secrets`, `SELECT 'relying_party:' || audience, secret FROM relying_parties`} {
			rows, err := c.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k string
				var v []byte
				rows.Scan(&k, &v)
				out[k] = v
			}
			rows.Close()
		}
		return out
	}
}

// TestSecretsSealedAtRest: secrets stored in clear (a store used before
// it had a key-encryption key) are sealed when a node starts with one;
// afterwards no dump holds them in clear, the same device keeps the same
// pairwise subject, and webhooks are signed with the secret the relying
// party was given.
func TestSecretsSealedAtRest(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "herd.db")
		testSecretsSealedAtRest(t, "sqlite:"+path, sqliteDump(path))
	})
	t.Run("Postgres", func(t *testing.T) {
		dsn := pgSchemaDSN(t)
		testSecretsSealedAtRest(t, dsn, postgresDump(dsn))
	})
}

func testSecretsSealedAtRest(t *testing.T, dsn string, dump dumpRows) {
	t.Setenv(keyring.KEKEnv, "")
	ctx := context.Background()
	const bank = "https://bank.example"

	// The relying party's webhook receiver.
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)

	start := func(kek []byte) (peer, func()) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n, err := node.Open(ctx, node.Config{DSN: dsn, DataDir: t.TempDir(), KEK: kek,
			Authority: authority.Config{Issuer: "http://" + ln.Addr().String()},
			Webhooks:  webhook.Config{PollInterval: webhook.Duration(50 * time.Millisecond)}})
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { n.Serve(sctx, ln, "", ""); close(done) }()
		return peer{t, n, &httptest.Server{URL: "http://" + ln.Addr().String()}}, func() { stop(); <-done; n.Close() }
	}

	// Before: no KEK, everything in clear.
	p, stop := start(nil)
	rp, err := authority.NewRelyingParty(bank, hook.URL+"/hook", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.n.Store.(store.Operations).AddRelyingParty(ctx, rp); err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	nc := p.nonce()
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: nc,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(nc, pk)))})
	var er protocol.EnrollResponse
	p.post(protocol.PathEnroll, req, http.StatusCreated, &er)
	subOf := func(p peer, malware health.Status) string {
		var resp protocol.CheckinResponse
		p.post(protocol.PathCheckin, statement(er.DeviceID, priv, p.nonce(), malware), 200, &resp)
		ks, err := p.n.Keys.JWKS().KeySet()
		if err != nil {
			t.Fatal(err)
		}
		c, err := healthcert.Parse(resp.Certificates[0].Token, ks)
		if err != nil {
			t.Fatal(err)
		}
		return c.Subject
	}
	before := subOf(p, health.Pass)
	clear := dump(t)
	stop()
	for _, name := range keyring.SealedSecrets[:2] {
		if v := clear["secret:"+name]; len(v) != 32 {
			t.Fatalf("secret %s before the KEK: %d bytes, want 32 in clear", name, len(v))
		}
	}
	if !bytes.Equal(clear["relying_party:"+bank], rp.Secret) {
		t.Fatalf("the relying party's secret was not stored in clear before the KEK")
	}

	// A node starts with a KEK: the stored secrets are sealed.
	kek := make([]byte, 32)
	rand.Read(kek)
	p, stop = start(kek)
	defer stop()
	sealed := dump(t)
	// The authority's secrets; other rows of the table (leases, the
	// population's noise) are not the authority's to seal.
	ours := func(id string) bool {
		for _, name := range keyring.SealedSecrets {
			if id == "secret:"+name {
				return true
			}
		}
		return strings.HasPrefix(id, "relying_party:")
	}
	for id, v := range sealed {
		if !ours(id) {
			continue
		}
		if !keyring.Sealed(v) {
			t.Errorf("%s is still in clear after a start with a KEK", id)
		}
	}
	for _, id := range []string{"secret:pairwise-subject", "secret:challenge-nonce", "relying_party:" + bank} {
		if _, ok := sealed[id]; !ok {
			t.Errorf("%s is missing from the store", id)
		}
	}
	for id, v := range clear {
		if !ours(id) {
			continue
		}
		for id2, w := range sealed {
			if bytes.Contains(w, v) {
				t.Errorf("the clear value of %s is in the dump of %s", id, id2)
			}
		}
	}

	// The same device gets the same pseudonym at the same relying party.
	if after := subOf(p, health.Pass); after != before {
		t.Errorf("pairwise subject changed with sealing: %s, then %s", before, after)
	}
	// The webhook is signed with the secret the relying party was given.
	subOf(p, health.Fail)
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no webhook delivered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if err := verify.WebhookSignature(rp.Secret, got[0].Header.Get(webhook.SignatureHeader), bodies[0], time.Now(), 5*time.Minute); err != nil {
		t.Errorf("webhook signature: %v", err)
	}
	var ev struct {
		Sub string `json:"sub"`
	}
	json.Unmarshal(bodies[0], &ev)
	if ev.Sub != before {
		t.Errorf("webhook sub %q, want the certificate's %q", ev.Sub, before)
	}

	// A relying party registered now through the admin API is stored
	// sealed; the secret it is given once is not in the dump.
	tok, hash := apitoken.New(apitoken.AdminPrefix)
	if err := p.n.Store.(store.Operations).CreateAdminToken(ctx, store.AdminToken{Name: "ops", Hash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"audience": "https://shop.example", "webhook_url": hook.URL + "/shop"})
	hr, _ := http.NewRequest("POST", p.srv.URL+"/v1/admin/relying-parties", bytes.NewReader(body))
	hr.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	var added struct {
		Secret string `json:"webhook_secret"`
	}
	json.NewDecoder(resp.Body).Decode(&added)
	resp.Body.Close()
	if resp.StatusCode != 201 || added.Secret == "" {
		t.Fatalf("add relying party: %d %+v", resp.StatusCode, added)
	}
	v := dump(t)["relying_party:https://shop.example"]
	if !keyring.Sealed(v) || bytes.Contains(v, []byte(added.Secret)) {
		t.Errorf("a relying party added with a KEK is stored as %q", v)
	}
}
