package verify_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/verify"
	"github.com/herd-health/herd/verify/verifytest"
)

func TestSafe(t *testing.T) {
	r := verify.Rules{SafePaths: []string{"/help/", "/account", "/static/"}}
	for _, tc := range []struct {
		path string
		safe bool
	}{
		{"/help/firewall", true},
		{"/help/", true},
		{"/help", true},
		{"/account", true},
		{"/account/settings", true},
		{"/static/app.css", true},
		{"/accounts", false},
		{"/accountsettings", false},
		{"/helpdesk", false},
		{"/pay", false},
		{"/", false},
		{"", false},
		{"help/firewall", false},
		{"/help/../pay", false},
		{"/help/./firewall", false},
		{"/help//firewall", false},
		{"//help/firewall", false},
		{"/help/..", false},
		{"/help/x/../../pay", false},
		{`/help\..\pay`, false},
		{"/help/%2e%2e/pay", false}, // a literal % in a decoded path: encoded twice
		{"/help/\x00", false},
	} {
		if got := r.Safe(tc.path); got != tc.safe {
			t.Errorf("Safe(%q) = %v, want %v", tc.path, got, tc.safe)
		}
	}
	if !(verify.Rules{SafePaths: []string{"/"}}).Safe("/anything") {
		t.Error(`SafePaths "/" does not cover every clean path`)
	}
	if (verify.Rules{SafePaths: []string{"", "help/"}}).Safe("/help/x") {
		t.Error("an empty or relative safe path made a path safe")
	}
	for _, raw := range []string{"/help/%2e%2e/pay", "/help/%2E%2E/pay", "/help/..%2fpay", "/help/a%2Fb", "/help/%5c..%5cpay", "/help/%252e%252e/pay", "/help/%2e/x"} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if r.SafeURL(u) {
			t.Errorf("SafeURL(%q) = true; an encoded dot, slash or backslash is never safe", raw)
		}
	}
	if u, _ := url.Parse("/help/caf%C3%A9"); !r.SafeURL(u) {
		t.Error("SafeURL of an encoded letter under /help/ = false")
	}
}

// rawGet sends path exactly as written in the request line, as a hostile
// client would, and returns the status and body.
func rawGet(t *testing.T, addr, path, token string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: shop.example\r\n%s: %s\r\nConnection: close\r\n\r\n", path, healthcert.HTTPHeader, token)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A restricted device reaches only the safe paths, whatever tricks its
// request line plays on a real server: dot segments, encoded dots and
// slashes, doubled slashes, backslashes, and names that merely begin
// like a safe path.
func TestRestrictHostilePaths(t *testing.T) {
	a := verifytest.NewAuthority(t)
	v := newVerifier(t, verify.Options{Issuer: a.Issuer(), JWKSURL: a.JWKSURL()})
	infected := a.Issue(aud, health.Contraindicated, verifytest.Findings(health.Finding{ID: health.Malware, Status: health.Fail}))
	healthy := a.Issue(aud, health.Affirming)
	rules := verify.Rules{Contraindicated: verify.Restrict, SafePaths: []string{"/help/", "/account"}, Enforce: true}
	// The application behind the middleware: a plain handler (no
	// ServeMux cleaning), serving whatever path it is given.
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "served %s", r.URL.Path) })
	srv := httptest.NewServer(verify.Middleware(v, rules, app))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/help/malware", 200},
		{"/help", 200},
		{"/account", 200},
		{"/account/password", 200},
		{"/pay", 403},
		{"/accounts", 403},
		{"/accounts/transfer", 403},
		{"/account-transfer", 403},
		{"/helpdesk", 403},
		{"/help/../pay", 403},
		{"/help/./../pay", 403},
		{"/help/%2e%2e/pay", 403},
		{"/help/%2E%2E/pay", 403},
		{"/help/.%2e/pay", 403},
		{"/help/..%2fpay", 403},
		{"/help/..%2Fpay", 403},
		{"/help%2f..%2fpay", 403},
		{"/help//../pay", 403},
		{"//help/../pay", 403},
		{"/help/..\\pay", 403},
		{"/help/%5c..%5cpay", 403},
		{"/help/%252e%252e/pay", 403},
		{"/help/x/../../pay", 403},
		{"/help/;/../pay", 403},
		{"http://shop.example/help/../pay", 403},
	} {
		code, body := rawGet(t, addr, tc.path, infected)
		if code != tc.code {
			t.Errorf("restricted GET %s: %d %q, want %d", tc.path, code, body, tc.code)
		}
		if code == 200 && !strings.HasPrefix(body, "served /help") && !strings.HasPrefix(body, "served /account") {
			t.Errorf("restricted GET %s reached %q", tc.path, body)
		}
	}
	// A healthy device is not restricted: the same request reaches the app.
	if code, body := rawGet(t, addr, "/help/../pay", healthy); code != 200 || body != "served /help/../pay" {
		t.Errorf("healthy GET /help/../pay: %d %q", code, body)
	}
}
