package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/verify/verifytest"
)

func TestRunVerify(t *testing.T) {
	const aud = "https://bank.example"
	a := verifytest.NewAuthority(t)
	resp, err := http.Get(a.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	var jwks healthcert.JWKS
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	dir := t.TempDir()
	jwksFile := filepath.Join(dir, "jwks.json")
	b, _ := json.Marshal(jwks)
	if err := os.WriteFile(jwksFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	badJWKS := filepath.Join(dir, "bad.json")
	os.WriteFile(badJWKS, []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), 0o600)

	warning := a.Issue(aud, health.Warning, verifytest.Findings(health.Finding{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported}))
	infected := a.Issue(aud, health.Contraindicated)
	expiredAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	expired := a.Issue(aud, health.Affirming, verifytest.IssuedAt(expiredAt.Add(-time.Hour)), verifytest.ExpiresAt(expiredAt))
	parts := strings.Split(warning, ".")
	tampered := parts[0] + "." + parts[1][:len(parts[1])-4] + "AAAA." + parts[2]

	tests := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		tier      health.Tier // checked when code is 0
		stderrIs  string      // exact stderr when set
		stderrHas string
	}{
		{name: "valid, key set file", args: []string{"--jwks", jwksFile, "--aud", aud, warning}, code: 0, tier: health.Warning},
		{name: "valid, key set URL and issuer", args: []string{"--jwks", a.JWKSURL(), "--aud", aud, "--iss", a.Issuer(), warning}, code: 0, tier: health.Warning},
		{name: "contraindicated is still authentic", args: []string{"--jwks", jwksFile, "--aud", aud, infected}, code: 0, tier: health.Contraindicated},
		{name: "token from stdin", args: []string{"--jwks", jwksFile, "--aud", aud, "-"}, stdin: warning + "\n", code: 0, tier: health.Warning},
		{name: "flags after the token", args: []string{warning, "--jwks", jwksFile, "-aud", aud}, code: 0, tier: health.Warning},
		{name: "expired", args: []string{"--jwks", jwksFile, "--aud", aud, expired}, code: 1,
			stderrIs: "herd verify: certificate expired at " + expiredAt.UTC().Format(time.RFC3339) + "\n"},
		{name: "wrong audience", args: []string{"--jwks", jwksFile, "--aud", "https://other.example", warning}, code: 1, stderrHas: "another audience"},
		{name: "wrong issuer", args: []string{"--jwks", jwksFile, "--aud", aud, "--iss", "https://evil.example", warning}, code: 1, stderrHas: "another issuer"},
		{name: "tampered", args: []string{"--jwks", jwksFile, "--aud", aud, tampered}, code: 1, stderrHas: "signature"},
		{name: "garbage", args: []string{"--jwks", jwksFile, "--aud", aud, "not-a-token"}, code: 1, stderrHas: "malformed"},
		{name: "empty stdin", args: []string{"--jwks", jwksFile, "--aud", aud, "-"}, code: 1, stderrHas: "no health certificate"},
		{name: "check-status without a status claim fails closed", args: []string{"--jwks", jwksFile, "--aud", aud, "--check-status", warning}, code: 1, stderrHas: "names no status list"},
		{name: "key set file missing", args: []string{"--jwks", filepath.Join(dir, "nope.json"), "--aud", aud, warning}, code: 1, stderrHas: "key set"},
		{name: "key set without usable keys", args: []string{"--jwks", badJWKS, "--aud", aud, warning}, code: 1, stderrHas: "key set"},
		{name: "missing --aud", args: []string{"--jwks", jwksFile, warning}, code: 2, stderrHas: "--aud is required"},
		{name: "missing --jwks", args: []string{"--aud", aud, warning}, code: 2, stderrHas: "--jwks is required"},
		{name: "missing token", args: []string{"--jwks", jwksFile, "--aud", aud}, code: 2, stderrHas: "TOKEN is required"},
		{name: "two tokens", args: []string{"--jwks", jwksFile, "--aud", aud, warning, infected}, code: 2, stderrHas: "one TOKEN expected"},
		{name: "unknown flag", args: []string{"--jwks", jwksFile, "--aud", aud, "--insecure", warning}, code: 2, stderrHas: "insecure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verifyStdin = strings.NewReader(tt.stdin)
			var stdout, stderr bytes.Buffer
			code := runVerify(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			if tt.code != 0 {
				if stdout.Len() != 0 {
					t.Errorf("stdout not empty on failure: %q", stdout.String())
				}
				if tt.stderrIs != "" && stderr.String() != tt.stderrIs {
					t.Errorf("stderr %q, want %q", stderr.String(), tt.stderrIs)
				}
				if !strings.Contains(stderr.String(), tt.stderrHas) {
					t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderrHas)
				}
				if tt.code == 1 && strings.Count(stderr.String(), "\n") != 1 {
					t.Errorf("reason is not one line: %q", stderr.String())
				}
				if tt.code == 2 && !strings.Contains(stderr.String(), "usage: herd verify") {
					t.Errorf("no usage on stderr: %q", stderr.String())
				}
				return
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr on success: %q", stderr.String())
			}
			var c healthcert.Claims
			if err := json.Unmarshal(stdout.Bytes(), &c); err != nil {
				t.Fatalf("stdout is not claims JSON: %v\n%s", err, stdout.String())
			}
			if c.Tier() != tt.tier || string(c.Audience) != aud || c.Issuer != a.Issuer() || c.Validate() != nil {
				t.Errorf("claims %+v", c)
			}
			if !strings.Contains(stdout.String(), "\n  \"iss\"") {
				t.Errorf("claims are not indented:\n%s", stdout.String())
			}
		})
	}
}

// statusList serves one status list token (draft-ietf-oauth-status-list)
// signed by the authority, with 1-bit entries; revoked lists the indexes
// set.
func statusList(t *testing.T, a *verifytest.Authority, revoked ...int) (uri string, down func()) {
	t.Helper()
	var mu sync.Mutex
	off := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if off {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		bits := make([]byte, 16)
		for _, i := range revoked {
			bits[i/8] |= 1 << (i % 8)
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(bits)
		zw.Close()
		now := time.Now()
		payload, _ := json.Marshal(map[string]any{
			"sub": "http://" + r.Host + r.URL.Path, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "ttl": 300,
			"status_list": map[string]any{"bits": 1, "lst": base64.RawURLEncoding.EncodeToString(z.Bytes())},
		})
		tok, err := healthcert.SignCompact(a.Signer(), a.KeyID(), "statuslist+jwt", payload)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/statuslist+jwt")
		io.WriteString(w, tok)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/status/1", func() { mu.Lock(); off = true; mu.Unlock() }
}

func TestRunVerifyCheckStatus(t *testing.T) {
	const aud = "https://bank.example"
	a := verifytest.NewAuthority(t)
	uri, down := statusList(t, a, 3)
	withStatus := func(idx int) verifytest.Option {
		return verifytest.Claims(func(c *healthcert.Claims) {
			c.Status = &healthcert.StatusRef{StatusList: healthcert.StatusListRef{Index: idx, URI: uri}}
		})
	}
	standing := a.Issue(aud, health.Affirming, withStatus(2))
	revoked := a.Issue(aud, health.Affirming, withStatus(3))
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := runVerify(context.Background(), append([]string{"--jwks", a.JWKSURL(), "--aud", aud}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, out, errOut := run("--check-status", standing); code != 0 || !strings.Contains(out, `"status_list"`) {
		t.Fatalf("standing certificate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := run("--check-status", revoked); code != 1 || !strings.Contains(errOut, "certificate revoked") {
		t.Fatalf("revoked certificate: exit %d, stderr %q", code, errOut)
	}
	// Without --check-status the revoked certificate is still authentic.
	if code, _, errOut := run(revoked); code != 0 {
		t.Fatalf("revoked certificate without --check-status: exit %d, stderr %q", code, errOut)
	}
	down()
	if code, _, errOut := run("--check-status", standing); code != 1 || !strings.Contains(errOut, "status unavailable") {
		t.Fatalf("status list down: exit %d, stderr %q", code, errOut)
	}
}
