package verify_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/verify"
	"github.com/herd-health/herd/verify/verifytest"
)

func TestDecide(t *testing.T) {
	custom := verify.Rules{Affirming: verify.Allow, Warning: verify.Restrict, Contraindicated: verify.Restrict, None: verify.Block}
	tests := []struct {
		tier           health.Tier
		def, customDec verify.Decision
	}{
		{health.Affirming, verify.Allow, verify.Allow},
		{health.Warning, verify.Warn, verify.Restrict},
		{health.Contraindicated, verify.Block, verify.Restrict},
		{health.None, verify.Warn, verify.Block},
		{"bogus", verify.Warn, verify.Block},
	}
	for _, tt := range tests {
		t.Run(string(tt.tier), func(t *testing.T) {
			if got := (verify.Rules{}).Decide(tt.tier); got != tt.def {
				t.Errorf("default rules: %q, want %q", got, tt.def)
			}
			if got := custom.Decide(tt.tier); got != tt.customDec {
				t.Errorf("custom rules: %q, want %q", got, tt.customDec)
			}
		})
	}
}

// seen is what the next handler observed.
type seen struct {
	called bool
	a      *verify.Appraisal
	ok     bool
}

func serve(t *testing.T, h func(next http.Handler) http.Handler, path string, headers ...string) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	s := &seen{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.called = true
		s.a, s.ok = verify.FromContext(r.Context())
		io.WriteString(w, "page")
	})
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, v := range headers {
		req.Header.Add(healthcert.HTTPHeader, v)
	}
	rec := httptest.NewRecorder()
	h(next).ServeHTTP(rec, req)
	return rec, s
}

func TestMiddleware(t *testing.T) {
	a := verifytest.NewAuthority(t)
	v := newVerifier(t, verify.Options{Issuer: a.Issuer(), JWKSURL: a.JWKSURL()})
	firewall := health.Finding{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported}
	tokens := map[health.Tier]string{
		health.Affirming:       a.Issue(aud, health.Affirming),
		health.Warning:         a.Issue(aud, health.Warning, verifytest.Findings(firewall)),
		health.Contraindicated: a.Issue(aud, health.Contraindicated, verifytest.Findings(health.Finding{ID: health.Malware, Status: health.Fail})),
	}
	expired := a.Issue(aud, health.Affirming, verifytest.Claims(func(c *healthcert.Claims) { c.IssuedAt, c.Expiry = 1, 2 }))
	other := a.Issue("https://other.example", health.Affirming)

	tests := []struct {
		name     string
		rules    verify.Rules
		path     string
		headers  []string
		tier     health.Tier
		decision verify.Decision
		wantErr  error
		status   int // 200: next was called
	}{
		{"affirming", verify.Rules{}, "/", []string{tokens[health.Affirming]}, health.Affirming, verify.Allow, nil, 200},
		{"warning", verify.Rules{}, "/", []string{tokens[health.Warning]}, health.Warning, verify.Warn, nil, 200},
		{"contraindicated, not enforced", verify.Rules{}, "/", []string{tokens[health.Contraindicated]}, health.Contraindicated, verify.Block, nil, 200},
		{"contraindicated, enforced", verify.Rules{Enforce: true}, "/", []string{tokens[health.Contraindicated]}, health.Contraindicated, verify.Block, nil, 403},
		{"no header", verify.Rules{}, "/", nil, health.None, verify.Warn, verify.ErrNoCertificate, 200},
		{"no header, none blocked", verify.Rules{None: verify.Block, Enforce: true}, "/", nil, health.None, verify.Block, verify.ErrNoCertificate, 403},
		{"expired", verify.Rules{}, "/", []string{expired}, health.None, verify.Warn, verify.ErrExpired, 200},
		{"other audience", verify.Rules{}, "/", []string{other}, health.None, verify.Warn, verify.ErrAudience, 200},
		{"two headers", verify.Rules{}, "/", []string{tokens[health.Affirming], tokens[health.Affirming]}, health.None, verify.Warn, verify.ErrMalformed, 200},
		{"restricted, unsafe path", verify.Rules{Warning: verify.Restrict, SafePaths: []string{"/help/", "/account/"}, Enforce: true}, "/transfer", []string{tokens[health.Warning]}, health.Warning, verify.Restrict, nil, 403},
		{"restricted, safe path", verify.Rules{Warning: verify.Restrict, SafePaths: []string{"/help/", "/account/"}, Enforce: true}, "/help/firewall", []string{tokens[health.Warning]}, health.Warning, verify.Restrict, nil, 200},
		{"restricted, not enforced", verify.Rules{Warning: verify.Restrict}, "/transfer", []string{tokens[health.Warning]}, health.Warning, verify.Restrict, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, s := serve(t, func(next http.Handler) http.Handler { return verify.Middleware(v, tt.rules, next) }, tt.path, tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Vary"); got != healthcert.HTTPHeader {
				t.Errorf("Vary = %q", got)
			}
			if tt.status == 403 {
				if s.called {
					t.Error("next was called for a refused request")
				}
				if !strings.Contains(rec.Body.String(), "security problems") {
					t.Errorf("body %q", rec.Body)
				}
				return
			}
			if !s.called || !s.ok {
				t.Fatalf("next called %v, appraisal in context %v", s.called, s.ok)
			}
			if s.a.Tier != tt.tier || s.a.Decision != tt.decision {
				t.Errorf("appraisal tier %q decision %q, want %q %q", s.a.Tier, s.a.Decision, tt.tier, tt.decision)
			}
			if tt.wantErr == nil {
				if s.a.Err != nil || s.a.Claims == nil {
					t.Errorf("err %v, claims %v", s.a.Err, s.a.Claims)
				}
			} else if !errors.Is(s.a.Err, tt.wantErr) || s.a.Claims != nil {
				t.Errorf("err %v, want %v (claims %v)", s.a.Err, tt.wantErr, s.a.Claims)
			}
			if tt.tier == health.Warning && (len(s.a.Findings()) != 1 || s.a.Findings()[0] != firewall) {
				t.Errorf("findings %+v", s.a.Findings())
			}
		})
	}
}

func TestFromContextEmpty(t *testing.T) {
	if a, ok := verify.FromContext(context.Background()); ok || a != nil {
		t.Fatalf("FromContext on a bare context = %v, %v", a, ok)
	}
	var nilA *verify.Appraisal
	if f := nilA.Findings(); f != nil {
		t.Fatal(f)
	}
}
