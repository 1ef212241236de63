package verify_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/verify"
)

// statusServer is a fake authority serving one status list token at
// /status/1, signed with its key, built from its current settings.
type statusServer struct {
	t     *testing.T
	srv   *httptest.Server
	priv  ed25519.PrivateKey
	clock *clock

	mu      sync.Mutex
	lst     string // when set, served as is
	list    []byte // otherwise compressed from this
	down    bool
	sub     string
	typ     string
	ctype   string
	fetches int
}

func newStatusServer(t *testing.T, clk *clock) *statusServer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s := &statusServer{t: t, priv: priv, clock: clk, typ: "statuslist+jwt", ctype: "application/statuslist+jwt", list: make([]byte, 2)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.sub = s.uri()
	return s
}

func (s *statusServer) uri() string { return s.srv.URL + "/status/1" }

func (s *statusServer) keys() healthcert.KeySet {
	return healthcert.KeySet{"k1": s.priv.Public()}
}

func (s *statusServer) set(f func(s *statusServer)) { s.mu.Lock(); f(s); s.mu.Unlock() }

func (s *statusServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	if s.down || r.URL.Path != "/status/1" {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	lst := s.lst
	if lst == "" {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write(s.list)
		zw.Close()
		lst = b64.EncodeToString(buf.Bytes())
	}
	now := s.clock.Now().Unix()
	tok := craft(s.t, map[string]string{"alg": "EdDSA", "kid": "k1", "typ": s.typ},
		map[string]any{"sub": s.sub, "iat": now, "exp": now + 3600, "ttl": 60, "status_list": map[string]any{"bits": 1, "lst": lst}},
		edSign(s.priv))
	w.Header().Set("Content-Type", s.ctype)
	w.Write([]byte(tok))
}

// cert signs a certificate naming index idx of uri.
func (s *statusServer) cert(idx int, uri string) string {
	now := s.clock.Now()
	c := &healthcert.Claims{Issuer: s.srv.URL, Audience: aud, Subject: "pseudonym", IssuedAt: now.Unix(), Expiry: now.Add(4 * time.Hour).Unix(),
		ID: "jti-" + time.Now().String(), Profile: healthcert.Profile,
		Submods: map[string]healthcert.Appraisal{healthcert.SubmodDevice: {Status: health.Affirming}},
		Status:  &healthcert.StatusRef{StatusList: healthcert.StatusListRef{Index: idx, URI: uri}}}
	tok, err := healthcert.Sign(s.priv, "k1", c)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func (s *statusServer) verifier(t *testing.T, maxAge time.Duration) *verify.Verifier {
	opts := verify.Options{Audience: aud, Issuer: s.srv.URL, Keys: s.keys(), Now: s.clock.Now, StatusMaxAge: maxAge}
	sc, err := verify.NewStatusChecker(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Status = sc
	return newVerifier(t, opts)
}

// TestStatusListDraftExample reads the example list of
// draft-ietf-oauth-status-list (1 bit, bytes b9 a3): index 0 is the least
// significant bit of the first byte.
func TestStatusListDraftExample(t *testing.T) {
	clk := newClock()
	s := newStatusServer(t, clk)
	s.set(func(s *statusServer) { s.lst = "eNrbuRgAAhcBXQ" })
	v := s.verifier(t, 0)
	want := []bool{true, false, false, true, true, true, false, true, true, true, false, false, false, true, false, true}
	for i, revoked := range want {
		_, err := v.Verify(context.Background(), s.cert(i, s.uri()))
		if revoked != errors.Is(err, verify.ErrRevoked) || (!revoked && err != nil) {
			t.Errorf("index %d: error %v, want revoked=%v", i, err, revoked)
		}
	}
	if s.fetches != 1 {
		t.Errorf("%d fetches for 16 verifications within the ttl, want 1", s.fetches)
	}
	// An index beyond the list makes it be fetched again, at most once a
	// second, before the verification fails.
	clk.Advance(2 * time.Second)
	for range 3 {
		if _, err := v.Verify(context.Background(), s.cert(16, s.uri())); !errors.Is(err, verify.ErrStatusUnavailable) {
			t.Errorf("index beyond the list: error %v, want ErrStatusUnavailable", err)
		}
	}
	if s.fetches != 2 {
		t.Errorf("%d fetches after three verifications beyond the list, want 2", s.fetches)
	}
}

// TestStatusListGrownSinceFetch: a certificate issued after the relying
// party fetched the list, naming an index the list held did not reach
// yet, verifies once the list is fetched again.
func TestStatusListGrownSinceFetch(t *testing.T) {
	clk := newClock()
	s := newStatusServer(t, clk)
	v := s.verifier(t, 0)
	ctx := context.Background()
	if _, err := v.Verify(ctx, s.cert(3, s.uri())); err != nil {
		t.Fatalf("index 3: %v", err)
	}
	s.set(func(s *statusServer) { s.list = append(s.list, 0, 0x10) }) // 32 entries, index 28 revoked
	clk.Advance(2 * time.Second)
	if _, err := v.Verify(ctx, s.cert(20, s.uri())); err != nil {
		t.Fatalf("index 20, issued after the fetch: %v", err)
	}
	if _, err := v.Verify(ctx, s.cert(28, s.uri())); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("index 28: error %v, want ErrRevoked", err)
	}
	if s.fetches != 2 {
		t.Errorf("%d fetches, want 2", s.fetches)
	}
}

// TestStatusStalenessBound: a revocation shows up once the list's ttl has
// run out; when the list cannot be fetched the one held is used until it
// is StatusMaxAge old, then verification fails closed.
func TestStatusStalenessBound(t *testing.T) {
	clk := newClock()
	s := newStatusServer(t, clk)
	v := s.verifier(t, 3*time.Minute)
	tok := s.cert(9, s.uri())
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("valid certificate: %v", err)
	}
	s.set(func(s *statusServer) { s.list[1] |= 1 << 1 }) // revoke index 9
	clk.Advance(30 * time.Second)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("within the ttl the cached list is used: %v", err)
	}
	clk.Advance(31 * time.Second) // past the 60 s ttl
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("after the ttl: error %v, want ErrRevoked", err)
	}
	// Cached token, cached list: revocation still honoured.
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("cached token: error %v, want ErrRevoked", err)
	}
	other := s.cert(3, s.uri())
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("unrevoked index 3: %v", err)
	}
	s.set(func(s *statusServer) { s.down = true })
	clk.Advance(2 * time.Minute) // list is 2m old: past ttl, within max age
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("authority down, list within max age: %v", err)
	}
	clk.Advance(90 * time.Second) // 3m30s old
	if _, err := v.Verify(ctx, other); !errors.Is(err, verify.ErrStatusUnavailable) {
		t.Fatalf("authority down, list past max age: error %v, want ErrStatusUnavailable", err)
	}
	s.set(func(s *statusServer) { s.down = false })
	clk.Advance(10 * time.Second)
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("authority back: %v", err)
	}
}

func TestStatusListRejectsBadLists(t *testing.T) {
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		edit func(s *statusServer)
		uri  func(s *statusServer) string
	}{
		{"sub is another list", func(s *statusServer) { s.sub = s.srv.URL + "/status/2" }, nil},
		{"typ is not statuslist+jwt", func(s *statusServer) { s.typ = "JWT" }, nil},
		{"wrong media type", func(s *statusServer) { s.ctype = "application/json" }, nil},
		{"signed by another key", func(s *statusServer) { s.priv = stranger }, nil},
		{"not zlib", func(s *statusServer) { s.lst = b64.EncodeToString([]byte{0, 0, 0}) }, nil},
		{"uri outside the issuer", nil, func(s *statusServer) string { return "http://elsewhere.example/status/1" }},
		{"authority down", func(s *statusServer) { s.down = true }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			s := newStatusServer(t, clk)
			v := s.verifier(t, 0)
			uri := s.uri()
			if tc.uri != nil {
				uri = tc.uri(s)
			}
			tok := s.cert(1, uri) // signed before the edit
			if tc.edit != nil {
				s.set(tc.edit)
			}
			_, err := v.Verify(context.Background(), tok)
			if !errors.Is(err, verify.ErrStatusUnavailable) {
				t.Fatalf("error %v, want ErrStatusUnavailable", err)
			}
		})
	}
}
