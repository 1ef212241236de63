package console_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/store"
)

func TestDeviceEvidence(t *testing.T) {
	c, st, clock := newConsole(t, console.Config{})
	ctx := t.Context()
	at := clock.Now().Add(-time.Hour)
	if err := st.CreateDevice(ctx, store.Device{ID: "dev-ev", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: at}); err != nil {
		t.Fatal(err)
	}
	stmt := health.Statement{Version: 1, DeviceID: "dev-ev", OS: "linux", OSVersion: "debian 12", Checks: []health.Result{
		{ID: health.Malware, Status: health.Fail, Reason: "This device is talking to a server known to control malware.",
			Evidence: health.Evidence{Source: "/proc/net/tcp", Trust: health.OSReported, Facts: map[string]any{
				"indicator": "198.51.100.7:443", "family": "QakBot", "feed": "feodo", "user": "alice", "process_path": "/home/alice/.cache/x"}},
			Details: []string{"connection from /home/alice/.cache/x to 198.51.100.7:443"}},
		{ID: health.Firewall, Status: health.Pass, Reason: "A firewall is on.",
			Evidence: health.Evidence{Source: "nft list ruleset", Trust: health.OSReported, Facts: map[string]any{"backend": "nftables", "hostname": "alices-laptop"}}},
	}}
	raw, err := json.Marshal(stmt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: "dev-ev", ReceivedAt: at, Verdict: health.Contraindicated, PolicyID: "herd-default@1",
		Findings: []health.Finding{{ID: health.Malware, Status: health.Fail, Trust: health.OSReported}}, OS: "linux", Statement: raw}); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, c.Handler(), "192.0.2.9")
	if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	w := cl.do("GET", "/console/devices/dev-ev?lang=en", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("device page: %d", w.Code)
	}
	body := html.UnescapeString(w.Body.String())
	row := func(id string) string {
		i := strings.Index(body, `data-evidence="`+id+`"`)
		if i < 0 {
			t.Fatalf("no evidence row for %s", id)
		}
		j := strings.Index(body[i:], "</tr>")
		return body[i : i+j]
	}
	mal := row("malware")
	for _, want := range []string{"<code>/proc/net/tcp</code>", `data-col="trust">os_reported<`, "indicator: 198.51.100.7:443", "family: QakBot", "feed: feodo", "to 198.51.100.7:443"} {
		if !strings.Contains(mal, want) {
			t.Errorf("malware evidence lacks %q:\n%s", want, mal)
		}
	}
	fw := row("firewall")
	if !strings.Contains(fw, "backend: nftables") || !strings.Contains(fw, "nft list ruleset") {
		t.Errorf("firewall evidence: %s", fw)
	}
	// No personal data: the user name, the home directory and the host
	// name never reach the page.
	for _, leak := range []string{"alice/", "/home/alice", "alices-laptop", `data-fact="user"`, `data-fact="hostname"`} {
		if strings.Contains(body, leak) {
			t.Errorf("the device page shows %q", leak)
		}
	}
}

func TestPublicPagesIgnoreConsoleLanguage(t *testing.T) {
	c, _, _ := newConsole(t, console.Config{})
	h := c.Handler()
	get := func(path, cookie, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = "192.0.2.60:40000"
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "herd_lang", Value: cookie})
		}
		if accept != "" {
			r.Header.Set("Accept-Language", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, tc := range []struct {
		name, path, cookie, accept, want string
		setsCookie                       bool
	}{
		{"population: cookie ignored", "/population", "zh-CN", "en-GB,en;q=0.9", "en", false},
		{"learn: cookie ignored", "/learn/", "zh-CN", "en", "en", false},
		{"learn guide: cookie ignored", "/learn/firewall", "zh-CN", "", "en", false},
		{"population: Accept-Language", "/population", "en", "zh-CN,zh;q=0.9", "zh-CN", false},
		{"population: ?lang=", "/population?lang=zh-CN", "", "en", "zh-CN", false},
		{"learn: ?lang= not remembered", "/learn/?lang=zh-CN", "", "", "zh-CN", false},
		{"console: cookie kept", "/console/login", "zh-CN", "en", "zh-CN", false},
		{"console: ?lang= remembered", "/console/login?lang=zh-CN", "", "en", "zh-CN", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := get(tc.path, tc.cookie, tc.accept)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if !strings.Contains(w.Body.String(), `lang="`+tc.want+`"`) {
				t.Errorf("page not in %s", tc.want)
			}
			set := strings.Contains(w.Header().Get("Set-Cookie"), "herd_lang=")
			if set != tc.setsCookie {
				t.Errorf("sets the language cookie: %v, want %v", set, tc.setsCookie)
			}
		})
	}
}
