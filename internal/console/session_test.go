package console_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/store"
)

// pgDSN is HERD_TEST_POSTGRES with a schema of the test's own.
func pgDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("HERD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("HERD_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "console_test_" + hex.EncodeToString(b)
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
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// signedIn reports whether c's session opens the overview.
func signedIn(t *testing.T, c *client) bool {
	t.Helper()
	w := c.do("GET", "/console/", nil)
	switch {
	case w.Code == http.StatusOK:
		return true
	case w.Code == http.StatusSeeOther && strings.HasPrefix(w.Header().Get("Location"), "/console/login"):
		return false
	}
	t.Fatalf("overview: %d %s", w.Code, w.Header().Get("Location"))
	return false
}

// onNode is a client with c's cookies talking to another handler.
func onNode(c *client, h http.Handler) *client {
	o := newClient(c.t, h, c.addr)
	for k, v := range c.cookies {
		o.cookies[k] = v
	}
	return o
}

// testTwoNodes signs in through node A and uses the session on node B;
// a node opened after A closed (a restart) serves it too; signing out on
// B ends it on A. The store keeps only the hash of the session id.
func testTwoNodes(t *testing.T, dsn string) {
	ctx := t.Context()
	a, _ := startNode(t, node.Config{DSN: dsn})
	b, _ := startNode(t, node.Config{DSN: dsn})
	if err := console.CreateUser(ctx, a.Store.(store.ConsoleUsers), "alice", testPassword, time.Now()); err != nil {
		t.Fatal(err)
	}
	ca := newClient(t, a.Handler(), "192.0.2.30")
	if code := ca.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login on A: %d", code)
	}
	cb := onNode(ca, b.Handler())
	if !signedIn(t, cb) {
		t.Fatal("node B does not know the session opened on node A")
	}
	page := cb.do("GET", "/console/devices", nil)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "console:alice") {
		t.Fatalf("node B's page does not show the operator: %d", page.Code)
	}
	// A restart: a third node over the store, A gone.
	a.Close()
	c, _ := startNode(t, node.Config{DSN: dsn})
	if !signedIn(t, onNode(ca, c.Handler())) {
		t.Fatal("the session did not survive a restart")
	}
	// What the store keeps is the hash of the id, not the id.
	id := ca.cookies["herd_console"].Value
	cs := b.Store.(store.ConsoleSessions)
	if _, err := cs.ConsoleSession(ctx, []byte(id), time.Now()); err == nil {
		t.Error("the store finds the session by its id itself")
	}
	h := apitoken.Hash(id) // SHA-256, as the console keeps it
	got, err := cs.ConsoleSession(ctx, h, time.Now())
	if err != nil || got.Operator != "console:alice" || got.User != "alice" {
		t.Fatalf("session by its hash: %+v, %v", got, err)
	}
	if strings.HasPrefix(dsn, "sqlite:") {
		path := strings.TrimPrefix(dsn, "sqlite:")
		for _, f := range []string{path, path + "-wal"} {
			if raw, err := os.ReadFile(f); err == nil && bytes.Contains(raw, []byte(id)) {
				t.Errorf("%s holds the session id", filepath.Base(f))
			}
		}
	}
	// The CSRF token of B's form signs out on B; A's node no longer
	// knows the session.
	if w := cb.do("POST", "/console/logout", url.Values{"csrf": {csrf(t, page.Body.String())}}); w.Code != http.StatusSeeOther {
		t.Fatalf("logout on B: %d", w.Code)
	}
	if signedIn(t, onNode(ca, c.Handler())) {
		t.Error("the session lives on another node after signing out")
	}
	if _, err := cs.ConsoleSession(ctx, h, time.Now()); err == nil {
		t.Error("signing out left the session in the store")
	}
}

func TestSessionsAcrossNodes(t *testing.T) {
	testTwoNodes(t, "sqlite:"+filepath.Join(t.TempDir(), "herd.db"))
}

func TestPostgresSessionsAcrossNodes(t *testing.T) {
	testTwoNodes(t, pgDSN(t))
}

// TestSessionEndsWithItsCredential: a session opened with an admin token
// ends when the token is revoked (through the admin API of another
// node), and one opened with a password ends when the account is
// disabled or deleted; another operator's session is untouched.
func TestSessionEndsWithItsCredential(t *testing.T) {
	ctx := t.Context()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "herd.db")
	a, _ := startNode(t, node.Config{DSN: dsn})
	b, _ := startNode(t, node.Config{DSN: dsn})
	tokens := a.Store.(store.AdminTokens)
	opsTok, opsHash := apitoken.New(apitoken.AdminPrefix)
	adminTok, adminHash := apitoken.New(apitoken.AdminPrefix)
	for name, h := range map[string][]byte{"ops": opsHash, "admin": adminHash} {
		if err := tokens.CreateAdminToken(ctx, store.AdminToken{Name: name, Hash: h, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	users := a.Store.(store.ConsoleUsers)
	for _, u := range []string{"alice", "bob"} {
		if err := console.CreateUser(ctx, users, u, testPassword, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	withToken := newClient(t, a.Handler(), "192.0.2.31")
	page := withToken.do("GET", "/console/login", nil)
	if w := withToken.do("POST", "/console/login", url.Values{"csrf": {csrf(t, page.Body.String())}, "token": {opsTok}, "next": {"/console/"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("token login: %d", w.Code)
	}
	alice := newClient(t, a.Handler(), "192.0.2.32")
	bob := newClient(t, a.Handler(), "192.0.2.33")
	for _, c := range []*client{alice, bob} {
		name := map[*client]string{alice: "alice", bob: "bob"}[c]
		if code := c.login(name, testPassword); code != http.StatusSeeOther {
			t.Fatalf("%s login: %d", name, code)
		}
	}
	if !signedIn(t, withToken) || !signedIn(t, alice) || !signedIn(t, bob) {
		t.Fatal("not signed in")
	}

	// Revoke "ops" through node B's admin API with the other token.
	req := newClient(t, b.Handler(), "127.0.0.1")
	req.header = http.Header{"Authorization": {"Bearer " + adminTok}}
	if w := req.do("DELETE", "/v1/admin/tokens/ops", nil); w.Code != http.StatusOK && w.Code != http.StatusNoContent {
		t.Fatalf("revoking ops through the admin API: %d %s", w.Code, w.Body.String())
	}
	if signedIn(t, withToken) {
		t.Error("the session opened with a revoked token lives")
	}
	if !signedIn(t, alice) || !signedIn(t, bob) {
		t.Error("revoking a token ended password sessions")
	}
	if err := users.DisableConsoleUser(ctx, "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	if signedIn(t, alice) {
		t.Error("a disabled account's session lives")
	}
	if err := users.DeleteConsoleUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if signedIn(t, bob) {
		t.Error("a deleted account's session lives")
	}
	// A new account of the deleted one's name does not inherit it.
	if err := console.CreateUser(ctx, users, "bob", testPassword, time.Now()); err != nil {
		t.Fatal(err)
	}
	if signedIn(t, bob) {
		t.Error("a deleted account's session came back with a new account of the same name")
	}
}

// TestConsoleBehindTrustedProxy: behind a trusted proxy the console
// limits sign-in attempts and audits per client, the address
// X-Forwarded-For names, as the API does; a peer that is not a trusted
// proxy is taken as the client whatever it forwards.
func TestConsoleBehindTrustedProxy(t *testing.T) {
	n, _ := startNode(t, node.Config{Authority: authority.Config{TrustedProxies: []string{"10.0.0.0/8"}}})
	if err := console.CreateUser(t.Context(), n.Store.(store.ConsoleUsers), "alice", testPassword, time.Now()); err != nil {
		t.Fatal(err)
	}
	via := func(client string) *client {
		c := newClient(t, n.Handler(), "10.0.0.5")
		c.header = http.Header{"X-Forwarded-For": {client}}
		return c
	}
	x, y := via("198.51.100.1"), via("198.51.100.2")
	for i := range 5 {
		if code := x.login("alice", "a wrong password, again"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	if code := x.login("alice", testPassword); code != http.StatusTooManyRequests {
		t.Errorf("the sixth attempt of one client: %d, want 429", code)
	}
	if code := y.login("alice", testPassword); code != http.StatusSeeOther {
		t.Errorf("another client behind the same proxy: %d, want 303 (its own limit)", code)
	}
	// A peer that is not a trusted proxy: its X-Forwarded-For is not
	// believed.
	direct := newClient(t, n.Handler(), "203.0.113.9")
	direct.header = http.Header{"X-Forwarded-For": {"198.51.100.77"}}
	if code := direct.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("direct login: %d", code)
	}
	log, err := n.Store.(store.Audit).AuditLog(t.Context(), 50)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, e := range log {
		got[e.Action] = append(got[e.Action], e.SourceIP)
	}
	if f := got["console.login_failed"]; len(f) != 5 || strings.Count(strings.Join(f, " "), "198.51.100.1") != 5 {
		t.Errorf("failed sign-ins audited from %v; want 198.51.100.1 five times", f)
	}
	if l := strings.Join(got["console.login"], " "); l != "203.0.113.9 198.51.100.2" {
		t.Errorf("sign-ins audited from %q; want 203.0.113.9 (newest) and 198.51.100.2", l)
	}
}

// TestPageViewsAudited: every console page view is audited before the
// page reads anything, with what it showed and the status it answered.
func TestPageViewsAudited(t *testing.T) {
	c, st, _ := newConsole(t, console.Config{})
	cl := newClient(t, c.Handler(), "192.0.2.40")
	if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	for _, tc := range []struct {
		path, action, target, outcome string
	}{
		{"/console/?days=90", "population.overview", "90", "200"},
		{"/console/breakdown?dim=country", "population.breakdown", "dim=country&days=", "200"},
		{"/console/breakdown?dim=user", "population.breakdown", "dim=user&days=", "400"},
		{"/console/alerts", "population.alerts", "", "200"},
		{"/console/cohorts?expr=firewall", "cohort.list", "firewall", "200"},
		{"/console/devices?q=dev-1&verdict=warning", "device.list", "dev-1&verdict=warning&after=", "200"},
		{"/console/devices/nope", "device.show", "nope", "404"},
		{"/console/feeds", "feeds.show", "", "200"},
	} {
		w := cl.do("GET", tc.path, nil)
		if w.Code == 0 {
			t.Fatal("no answer")
		}
		log, err := st.AuditLog(t.Context(), 1)
		if err != nil || len(log) != 1 {
			t.Fatalf("audit: %v %v", log, err)
		}
		e := log[0]
		if e.Action != tc.action || e.Target != tc.target || e.Outcome != tc.outcome || e.Actor != "console:alice" || e.SourceIP != "192.0.2.40" {
			t.Errorf("GET %s audited as %+v; want %s %q %s by console:alice from 192.0.2.40", tc.path, e, tc.action, tc.target, tc.outcome)
		}
	}
}

// TestCaching: console pages are never stored; the fix-guide index says
// how long it may be kept.
func TestCaching(t *testing.T) {
	c, _, _ := newConsole(t, console.Config{})
	cl := newClient(t, c.Handler(), "192.0.2.41")
	for path, want := range map[string]string{
		"/learn/":        "public, max-age=3600",
		"/console/login": "no-store",
	} {
		if got := cl.do("GET", path, nil).Header().Get("Cache-Control"); got != want {
			t.Errorf("%s: Cache-Control %q, want %q", path, got, want)
		}
	}
	cl.login("alice", testPassword)
	if got := cl.do("GET", "/console/", nil).Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("overview: Cache-Control %q", got)
	}
}
