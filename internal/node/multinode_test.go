package node_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/verify"
)

func pgSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("HERD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("HERD_TEST_POSTGRES is not set")
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skip("HERD_TEST_POSTGRES is not a postgres:// URL")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "herd_test_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(ctx)
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

type peer struct {
	t   *testing.T
	n   *node.Node
	srv *httptest.Server
}

func (p peer) post(path string, body []byte, want int, out any) protocol.Error {
	p.t.Helper()
	r, err := http.Post(p.srv.URL+path, protocol.ContentTypeJOSE, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	var pe protocol.Error
	if r.StatusCode != want {
		p.t.Fatalf("%s: HTTP %d, want %d: %s", path, r.StatusCode, want, b)
	}
	if want/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			p.t.Fatal(err)
		}
	} else {
		json.Unmarshal(b, &pe)
	}
	return pe
}

func (p peer) get(path string) []byte {
	p.t.Helper()
	r, err := http.Get(p.srv.URL + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		p.t.Fatalf("GET %s: HTTP %d: %s", path, r.StatusCode, b)
	}
	return b
}

func (p peer) nonce() string {
	var c protocol.Challenge
	p.post(protocol.PathChallenge, nil, 200, &c)
	return c.Nonce
}

// statusBit is the bit at idx of the list served at path.
func (p peer) statusBit(path string, idx int) int {
	p.t.Helper()
	raw := p.statusList(path)
	if idx/8 >= len(raw) {
		p.t.Fatalf("index %d is past the list's %d bytes", idx, len(raw))
	}
	return int(raw[idx/8]>>(idx%8)) & 1
}

// statusList decodes the whole list served at path (the token's payload,
// not its signature: both nodes sign with the same keys, checked
// elsewhere).
func (p peer) statusList(path string) []byte {
	p.t.Helper()
	tok := string(p.get(path))
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		p.t.Fatal(err)
	}
	var c struct {
		StatusList struct {
			Lst string `json:"lst"`
		} `json:"status_list"`
	}
	json.Unmarshal(payload, &c)
	z, _ := base64.RawURLEncoding.DecodeString(c.StatusList.Lst)
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		p.t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		p.t.Fatal(err)
	}
	return raw
}

func statement(id string, priv ed25519.PrivateKey, nonce string, malware health.Status) []byte {
	now := time.Now().UTC()
	st := health.Statement{Version: 1, DeviceID: id, Nonce: nonce, IssuedAt: now, CollectedAt: now, OS: "linux",
		Audiences: []string{"https://bank.example"}}
	for _, c := range health.CheckIDs {
		s := health.Pass
		if c == health.Malware {
			s = malware
		}
		st.Checks = append(st.Checks, health.Result{ID: c, Status: s, Reason: "test", Evidence: health.Evidence{Source: "test", Trust: health.OSReported}})
	}
	b, _ := json.Marshal(st)
	tok, _ := healthcert.SignCompact(priv, id, protocol.StatementType, b)
	return []byte(tok)
}

// TestPostgresTwoNodesOneAuthority runs two nodes over one PostgreSQL and
// checks that they behave as one authority.
func TestPostgresTwoNodesOneAuthority(t *testing.T) {
	dsn := pgSchemaDSN(t)
	ctx := context.Background()
	kek := make([]byte, 32)
	rand.Read(kek)
	const cache = 300 * time.Millisecond
	open := func() peer {
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		n, err := node.Open(ctx, node.Config{DSN: dsn, DataDir: t.TempDir(), KEK: kek,
			Authority: authority.Config{Issuer: "http://authority.example", StatusCacheTime: cache}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		mux.Handle("/", n.Authority)
		return peer{t, n, srv}
	}
	a, b := open(), open()

	// Enroll at A.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	n := a.nonce()
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	var er protocol.EnrollResponse
	a.post(protocol.PathEnroll, req, http.StatusCreated, &er)
	dev := er.DeviceID

	// A nonce from A is accepted once by B, then refused by A.
	n = a.nonce()
	var resp protocol.CheckinResponse
	b.post(protocol.PathCheckin, statement(dev, priv, n, health.Pass), 200, &resp)
	if resp.Verdict != health.Affirming {
		t.Fatalf("verdict at B = %s", resp.Verdict)
	}
	if pe := a.post(protocol.PathCheckin, statement(dev, priv, n, health.Pass), 400, nil); pe.Code != "nonce_invalid" {
		t.Fatalf("replay at A: %+v", pe)
	}
	if pe := b.post(protocol.PathCheckin, statement(dev, priv, n, health.Pass), 400, nil); pe.Code != "nonce_invalid" {
		t.Fatalf("replay at B: %+v", pe)
	}

	// The same JWKS from both.
	if ja, jb := a.get(protocol.PathJWKS), b.get(protocol.PathJWKS); !bytes.Equal(ja, jb) {
		t.Fatalf("JWKS differ:\nA %s\nB %s", ja, jb)
	}

	// A certificate from A…
	a.post(protocol.PathCheckin, statement(dev, priv, b.nonce(), health.Pass), 200, &resp)
	ks, err := a.n.Keys.JWKS().KeySet()
	if err != nil {
		t.Fatal(err)
	}
	claims, err := healthcert.Parse(resp.Certificates[0].Token, ks)
	if err != nil || claims.Status == nil {
		t.Fatalf("certificate from A: %+v, %v", claims, err)
	}
	u, _ := url.Parse(claims.Status.StatusList.URI)
	idx := claims.Status.StatusList.Index
	if a.statusBit(u.Path, idx) != 0 || b.statusBit(u.Path, idx) != 0 {
		t.Fatal("a fresh certificate is revoked")
	}
	// …is revoked through B (a contraindicated check-in there)…
	b.post(protocol.PathCheckin, statement(dev, priv, b.nonce(), health.Fail), 200, &resp)
	if resp.Verdict != health.Contraindicated {
		t.Fatalf("verdict = %s, want contraindicated", resp.Verdict)
	}
	if b.statusBit(u.Path, idx) != 1 {
		t.Fatal("B's status list does not show the revocation it made")
	}
	// …and A's list shows it once A's cache time has passed.
	time.Sleep(cache + 100*time.Millisecond)
	if a.statusBit(u.Path, idx) != 1 {
		t.Fatal("A's status list does not show the revocation made through B")
	}
	// Both serve the same list, whole.
	if la, lb := a.statusList(u.Path), b.statusList(u.Path); !bytes.Equal(la, lb) || len(la) != 125_000 {
		t.Fatalf("the nodes serve different status lists (%d and %d bytes)", len(la), len(lb))
	}

	// A relying party that fetched the list from A verifies, with
	// status, a certificate B issued afterwards from a block of indices
	// A's copy was fetched before.
	toNode := func(p peer) *http.Client {
		addr := strings.TrimPrefix(p.srv.URL, "http://")
		return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}}
	}
	opts := verify.Options{Audience: "https://bank.example", Issuer: "http://authority.example", JWKSURL: "http://authority.example" + protocol.PathJWKS, HTTPClient: toNode(a)}
	sc, err := verify.NewStatusChecker(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Status = sc
	rp, err := verify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	a.post(protocol.PathCheckin, statement(dev, priv, a.nonce(), health.Pass), 200, &resp)
	if _, err := rp.Verify(ctx, resp.Certificates[0].Token); err != nil {
		t.Fatalf("certificate from A: %v", err)
	}
	firstIdx := statusIndex(t, resp.Certificates[0].Token)
	var fromB protocol.CheckinResponse
	for range 300 {
		b.post(protocol.PathCheckin, statement(dev, priv, b.nonce(), health.Pass), 200, &fromB)
	}
	if idx := statusIndex(t, fromB.Certificates[0].Token); idx < firstIdx+256 {
		t.Fatalf("B's index %d is within A's block from %d", idx, firstIdx)
	}
	if _, err := rp.Verify(ctx, fromB.Certificates[0].Token); err != nil {
		t.Fatalf("certificate B issued after the relying party fetched the list: %v", err)
	}

	// A key rotated through A signs B's certificates within the
	// keys-version interval, and B publishes it, with no reload asked
	// for.
	kid, err := a.n.Keys.Rotate(ctx, "EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	signedBy := ""
	for deadline := time.Now().Add(3 * keyring.VersionInterval); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		b.post(protocol.PathCheckin, statement(dev, priv, b.nonce(), health.Pass), 200, &fromB)
		c, err := healthcert.ParseCompact(fromB.Certificates[0].Token)
		if err != nil {
			t.Fatal(err)
		}
		if signedBy = c.Header.Kid; signedBy == kid {
			break
		}
	}
	if signedBy != kid {
		t.Fatalf("B still signs with %s, not the key %s rotated through A", signedBy, kid)
	}
	var jwks healthcert.JWKS
	json.Unmarshal(b.get(protocol.PathJWKS), &jwks)
	var kids []string
	for _, k := range jwks.Keys {
		kids = append(kids, k.Kid)
	}
	if !slices.Contains(kids, kid) {
		t.Fatalf("B's JWKS %v lacks the key %s rotated through A", kids, kid)
	}
	if ja, jb := a.get(protocol.PathJWKS), b.get(protocol.PathJWKS); !bytes.Equal(ja, jb) {
		t.Fatalf("JWKS differ after rotation:\nA %s\nB %s", ja, jb)
	}
	// A relying party that meets the new key fetches the JWKS (its own
	// refetch is rate-limited: one that fetched it within 30 s waits).
	opts.Status = nil
	later, err := verify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := later.Verify(ctx, fromB.Certificates[0].Token); err != nil {
		t.Errorf("a relying party refuses B's certificate from the new key: %v", err)
	}
}

// statusIndex reads a certificate's status list index without verifying it.
func statusIndex(t *testing.T, tok string) int {
	t.Helper()
	c, err := healthcert.ParseCompact(tok)
	if err != nil {
		t.Fatal(err)
	}
	var claims healthcert.Claims
	if err := json.Unmarshal(c.Payload, &claims); err != nil || claims.Status == nil {
		t.Fatalf("no status claim: %v", err)
	}
	return claims.Status.StatusList.Index
}
