package console_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks/all"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
)

// evidenceRow cuts the evidence row of check id out of a device page.
func evidenceRow(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `data-evidence="`+id+`"`)
	if i < 0 {
		t.Fatalf("no evidence row for %s", id)
	}
	j := strings.Index(body[i:], "</tr>")
	return body[i : i+j]
}

// startNode serves a node over SQLite on loopback and returns it and its
// URL.
func startNode(t *testing.T, cfg node.Config) (*node.Node, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	if cfg.DSN == "" {
		cfg.DSN = "sqlite:" + filepath.Join(t.TempDir(), "herd.db")
	}
	cfg.Authority.Issuer = srv.URL
	n, err := node.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	srv.Config.Handler = n.Handler()
	return n, srv.URL
}

// TestDeviceEvidenceFromAgentCheckin: this machine's agent runs its real
// checks, enrolls and checks in with a real authority; the device page
// shows the evidence of every check it sent, as the agent reported it.
func TestDeviceEvidenceFromAgentCheckin(t *testing.T) {
	ctx := t.Context()
	n, url := startNode(t, node.Config{})
	ag := &agent.Agent{Store: agent.Store{Dir: t.TempDir()}, Checks: all.Checks(), Source: source.NewLive(), Version: "test"}
	st, err := ag.Enroll(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	last, err := ag.CheckIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(last.Outcomes) != len(health.CheckIDs) {
		t.Fatalf("the agent ran %d checks, want %d", len(last.Outcomes), len(health.CheckIDs))
	}
	if err := console.CreateUser(ctx, n.Store.(store.ConsoleUsers), "alice", testPassword, time.Now()); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, n.Handler(), "192.0.2.9")
	if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	w := cl.do("GET", "/console/devices/"+st.DeviceID+"?lang=en", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("device page: %d", w.Code)
	}
	body := html.UnescapeString(w.Body.String())
	if !strings.Contains(body, `id="evidence"`) {
		t.Fatalf("the device page has no evidence table:\n%s", body)
	}
	for _, o := range last.Outcomes {
		row := evidenceRow(t, body, string(o.ID))
		if !strings.Contains(row, "<td>"+string(o.Status)+"<br>") {
			t.Errorf("%s: the page does not show status %s:\n%s", o.ID, o.Status, row)
		}
		if !strings.Contains(row, `data-col="trust">`+string(o.Evidence.Trust)+"<") {
			t.Errorf("%s: the page does not show trust %s:\n%s", o.ID, o.Evidence.Trust, row)
		}
		if o.Evidence.Source != "" && !strings.Contains(row, `data-col="source"><code>`) {
			t.Errorf("%s: no source shown for %q:\n%s", o.ID, o.Evidence.Source, row)
		}
	}
}

// TestDeviceEvidenceRedacted: a statement whose evidence names a person,
// a home directory and a host name, checked in through the authority's
// device API: the device page shows the rest of the evidence and none of
// those.
func TestDeviceEvidenceRedacted(t *testing.T) {
	ctx := t.Context()
	n, url := startNode(t, node.Config{Authority: authority.Config{}})
	c := authorityClient{t: t, url: url}
	d := c.enroll()
	v := c.checkinStatement(d, []health.Result{
		{ID: health.Malware, Status: health.Fail, Reason: "This device is talking to a server known to control malware.",
			Evidence: health.Evidence{Source: "/proc/net/tcp", Trust: health.OSReported, Facts: map[string]any{
				"indicator": "198.51.100.7:443", "family": "QakBot", "feed": "feodo", "user": "alice", "process_path": "/home/alice/.cache/x"}},
			Details: []string{"connection from /home/alice/.cache/x to 198.51.100.7:443"}},
		{ID: health.Firewall, Status: health.Pass, Reason: "A firewall is on.",
			Evidence: health.Evidence{Source: "nft list ruleset", Trust: health.OSReported, Facts: map[string]any{"backend": "nftables", "hostname": "alices-laptop"}}},
	})
	if v != health.Contraindicated {
		t.Fatalf("verdict %s, want contraindicated", v)
	}
	if err := console.CreateUser(ctx, n.Store.(store.ConsoleUsers), "alice", testPassword, time.Now()); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, n.Handler(), "192.0.2.9")
	if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	w := cl.do("GET", "/console/devices/"+d.id+"?lang=en", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("device page: %d", w.Code)
	}
	body := html.UnescapeString(w.Body.String())
	mal := evidenceRow(t, body, "malware")
	for _, want := range []string{"<code>/proc/net/tcp</code>", `data-col="trust">os_reported<`, "indicator: 198.51.100.7:443", "family: QakBot", "feed: feodo", "to 198.51.100.7:443"} {
		if !strings.Contains(mal, want) {
			t.Errorf("malware evidence lacks %q:\n%s", want, mal)
		}
	}
	fw := evidenceRow(t, body, "firewall")
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
