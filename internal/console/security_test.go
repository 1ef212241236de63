package console_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testPassword = "a long enough password"

// newConsole opens a console over a fresh SQLite store with the account
// alice, on an injected clock.
func newConsole(t *testing.T, cfg console.Config) (*console.Console, *sqlite.Store, *fakeClock) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &fakeClock{t: time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)}
	cfg.Now = clock.Now
	if cfg.Issuer == "" {
		cfg.Issuer = "https://herd.example"
	}
	c, err := console.New(cfg, console.Deps{Store: st, Population: &population.Service{Store: st, Now: clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	if err := console.CreateUser(ctx, st, "alice", testPassword, clock.Now()); err != nil {
		t.Fatal(err)
	}
	return c, st, clock
}

func auditActions(t *testing.T, st store.Audit) []string {
	t.Helper()
	es, err := st.AuditLog(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

func TestCSRFRejected(t *testing.T) {
	c, st, _ := newConsole(t, console.Config{})
	cl := newClient(t, c.Handler(), "192.0.2.1")
	if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	page := cl.do("GET", "/console/", nil)
	if page.Code != http.StatusOK {
		t.Fatalf("overview: %d", page.Code)
	}
	good := csrf(t, page.Body.String())
	before := auditActions(t, st)
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"no token", url.Values{}},
		{"empty token", url.Values{"csrf": {""}}},
		{"wrong token", url.Values{"csrf": {"x" + good[1:]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/console/logout", "/console/cohorts", "/console/devices"} {
				form := url.Values{"expr": {"firewall"}, "q": {"dev"}}
				for k, v := range tc.form {
					form[k] = v
				}
				if w := cl.do("POST", path, form); w.Code != http.StatusForbidden {
					t.Errorf("POST %s: %d, want 403", path, w.Code)
				}
			}
			// Nothing changed: nothing was audited, the session lives.
			if got := auditActions(t, st); strings.Join(got, ",") != strings.Join(before, ",") {
				t.Errorf("audit log changed: %v → %v", before, got)
			}
			if w := cl.do("GET", "/console/", nil); w.Code != http.StatusOK {
				t.Errorf("session after refused POSTs: %d", w.Code)
			}
			before = auditActions(t, st)
		})
	}
	// The right token signs out.
	if w := cl.do("POST", "/console/logout", url.Values{"csrf": {good}}); w.Code != http.StatusSeeOther {
		t.Fatalf("logout with the token: %d", w.Code)
	}
	if w := cl.do("GET", "/console/", nil); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/console/login") {
		t.Errorf("after logout: %d %s", w.Code, w.Header().Get("Location"))
	}
	// A login form posted without its cookie's token is refused too.
	fresh := newClient(t, c.Handler(), "192.0.2.2")
	fresh.do("GET", "/console/login", nil)
	if w := fresh.do("POST", "/console/login", url.Values{"csrf": {"forged"}, "name": {"alice"}, "password": {testPassword}}); w.Code != http.StatusForbidden {
		t.Errorf("login with a forged token: %d", w.Code)
	}
	if _, ok := fresh.cookies["herd_console"]; ok {
		t.Error("a session cookie was set for a forged login")
	}
}

func TestLoginRateLimit(t *testing.T) {
	c, _, clock := newConsole(t, console.Config{})
	cl := newClient(t, c.Handler(), "198.51.100.7")
	for i := 1; i <= 5; i++ {
		if code := cl.login("alice", "wrong password, try "+string(rune('0'+i))); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i, code)
		}
	}
	clock.Add(5 * time.Second)
	// The sixth within the minute is refused even with the right password.
	if code := cl.login("alice", testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt: %d, want 429", code)
	}
	if _, ok := cl.cookies["herd_console"]; ok {
		t.Fatal("a refused attempt got a session")
	}
	// Another address is not limited.
	other := newClient(t, c.Handler(), "198.51.100.8")
	if code := other.login("alice", testPassword); code != http.StatusSeeOther {
		t.Errorf("other address: %d", code)
	}
	// A minute later the first address may try again.
	clock.Add(time.Minute)
	if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
		t.Errorf("after a minute: %d", code)
	}
}

func TestSessionExpiry(t *testing.T) {
	c, _, clock := newConsole(t, console.Config{SessionTTL: 10 * time.Minute, SessionMax: time.Hour})
	signedIn := func(cl *client) bool {
		w := cl.do("GET", "/console/", nil)
		return w.Code == http.StatusOK
	}
	t.Run("idle", func(t *testing.T) {
		cl := newClient(t, c.Handler(), "203.0.113.1")
		if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		clock.Add(9 * time.Minute)
		if !signedIn(cl) {
			t.Fatal("session ended after 9 idle minutes (TTL 10)")
		}
		clock.Add(10*time.Minute + time.Second)
		if signedIn(cl) {
			t.Fatal("session lives after 10 idle minutes")
		}
	})
	t.Run("maximum", func(t *testing.T) {
		cl := newClient(t, c.Handler(), "203.0.113.2")
		if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		for range 6 { // used every 9 minutes: 54 minutes
			clock.Add(9 * time.Minute)
			if !signedIn(cl) {
				t.Fatal("active session ended before its maximum")
			}
		}
		clock.Add(7 * time.Minute) // 61 minutes after sign-in
		if signedIn(cl) {
			t.Fatal("session lives past its maximum of an hour")
		}
		// A POST with the ended session is refused as unauthorized.
		if w := cl.do("POST", "/console/cohorts", url.Values{"csrf": {"x"}, "expr": {"firewall"}}); w.Code != http.StatusUnauthorized {
			t.Errorf("POST after expiry: %d", w.Code)
		}
	})
}
