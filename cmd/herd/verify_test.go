package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
		{name: "check-status fails closed", args: []string{"--jwks", jwksFile, "--aud", aud, "--check-status", warning}, code: 1, stderrHas: "revocation status"},
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
