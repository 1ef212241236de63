package authority_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/protocol"
)

// A known endpoint asked with the wrong method answers 405 with Allow and
// the JSON error body; an unknown path stays 404.
func TestWrongMethodIs405(t *testing.T) {
	e := newEnv(t, authority.Config{})
	for _, tc := range []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"GET challenge", http.MethodGet, protocol.PathChallenge, 405, "POST"},
		{"GET enroll", http.MethodGet, protocol.PathEnroll, 405, "POST"},
		{"GET checkin", http.MethodGet, protocol.PathCheckin, 405, "POST"},
		{"DELETE jwks", http.MethodDelete, protocol.PathJWKS, 405, "GET, HEAD"},
		{"GET unknown", http.MethodGet, "/v1/nope", 404, ""},
		{"POST unknown", http.MethodPost, "/nope", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			var perr protocol.Error
			if err := json.Unmarshal(b, &perr); err != nil || perr.Error == "" || perr.Code == "" {
				t.Fatalf("body is not {error, code}: %s", b)
			}
			want := map[int]string{405: "method_not_allowed", 404: "not_found"}[tc.status]
			if perr.Code != want {
				t.Errorf("code %q, want %q", perr.Code, want)
			}
		})
	}
}

// Without a token the enrollment error says one is required; with a bad
// one it says it is not valid.
func TestEnrollmentTokenMissingMessage(t *testing.T) {
	e := newEnv(t, authority.Config{EnrollmentToken: "fleet-secret"})
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	pk := base64.RawURLEncoding.EncodeToString(pub)
	for _, tc := range []struct{ name, token, want, not string }{
		{"none", "", "none was given", "unknown, revoked"},
		{"wrong", "guess", "unknown, revoked, expired or already used", "none was given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nonce := e.nonce()
			b, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: nonce, Token: tc.token,
				Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(nonce, pk)))})
			code, perr := e.post(protocol.PathEnroll, "application/json", b, nil)
			if code != 403 || perr.Code != "enrollment_token" {
				t.Fatalf("%d %+v", code, perr)
			}
			if !strings.Contains(perr.Error, tc.want) || strings.Contains(perr.Error, tc.not) {
				t.Errorf("error %q, want it to say %q and not %q", perr.Error, tc.want, tc.not)
			}
		})
	}
}
