package node

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/webhook"
)

// consoleSession signs in to the console served at base as a new account.
func consoleSession(t *testing.T, n *Node, base string, now time.Time) *http.Client {
	t.Helper()
	if err := console.CreateUser(t.Context(), n.Store.(store.ConsoleUsers), "alice", "a long enough password", now); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	resp, err := cl.Get(base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF field on the login page: %.300s", b)
	}
	resp, err = cl.PostForm(base+"/console/login", url.Values{"csrf": {string(m[1])}, "name": {"alice"}, "password": {"a long enough password"}, "next": {"/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/console/" {
		t.Fatalf("sign-in ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	return cl
}

func getPage(t *testing.T, cl *http.Client, u string) string {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d: %.300s", u, resp.StatusCode, b)
	}
	return string(b)
}

// cell is the text of the feed row's column col, tags removed.
func cell(t *testing.T, page, feed, col string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr data-feed="` + regexp.QuoteMeta(feed) + `">(.*?)</tr>`).FindStringSubmatch(page)
	if row == nil {
		t.Fatalf("no row for feed %s", feed)
	}
	m := regexp.MustCompile(`(?s)<td[^>]*data-col="` + col + `">(.*?)</td>`).FindStringSubmatch(row[1])
	if m == nil {
		t.Fatalf("feed %s has no %s column", feed, col)
	}
	return strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""))
}

func kpi(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`data-kpi="` + name + `">([^<]*)<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s figure on the page", name)
	}
	return m[1]
}

// TestFeedsPage fills a store through the scheduled refresh of three
// loopback feeds (one failing) and a sightings report, and reads the
// console's feeds page.
func TestFeedsPage(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	feodo := httptest.NewServer(&feedServer{ips: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}})
	defer feodo.Close()
	tf, err := os.ReadFile("testdata/threatfox-recent.csv")
	if err != nil {
		t.Fatal(err)
	}
	threatfox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(tf) }))
	defer threatfox.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer broken.Close()

	srv := httptest.NewServer(nil)
	defer srv.Close()
	n, err := Open(ctx, Config{
		DSN: "sqlite:" + filepath.Join(t.TempDir(), "h.db"), KEK: bytes.Repeat([]byte{7}, 32), Now: clock,
		Authority: authority.Config{Issuer: srv.URL},
		Feeds: []Feed{
			{Name: "feodo", URL: feodo.URL + "/ipblocklist.csv", Interval: webhook.Duration(time.Hour)},
			{Name: "threatfox", URL: threatfox.URL + "/recent.csv"},
			{Name: "mirror", URL: broken.URL + "/feed.csv"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	srv.Config.Handler = n.Handler()
	if err := n.RefreshFeeds(ctx); err == nil || !strings.Contains(err.Error(), "mirror") {
		t.Fatalf("RefreshFeeds = %v; want the mirror's failure", err)
	}

	// Two devices behind one address checked in yesterday; a sightings
	// report names the address and one device confirms.
	for _, id := range []string{"dev-a", "dev-b"} {
		if err := n.Store.CreateDevice(ctx, store.Device{ID: id, PublicKey: bytes.Repeat([]byte(id[4:]), 32), OS: "linux", EnrolledAt: now.Add(-48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Store.RecordCheckin(ctx, store.Checkin{DeviceID: id, ReceivedAt: now.Add(-26 * time.Hour), Verdict: health.Affirming,
			PolicyID: "default", OS: "linux", OSVersion: "debian 12", Agent: "herd-agent/1", Statement: []byte("x.y.z"), SourceIP: "192.0.2.45"}); err != nil {
			t.Fatal(err)
		}
	}
	report := "ip,timestamp,family,c2\n192.0.2.45,2026-11-30T00:00:00Z,QakBot,203.0.113.77:443\n198.51.100.60,2026-11-30T02:00:00Z,Emotet,\n192.0.2.45,2026-09-01T00:00:00Z,Mirai,\n"
	ss := n.Store.(store.Sightings)
	if _, err := intel.ParseSightings(strings.NewReader(report), intel.SightingOptions{Emit: func(s intel.Sighting) error {
		_, _, err := ss.AddSighting(ctx, store.Sighting{IP: s.IP, SeenAt: s.SeenAt, Family: s.Family, C2: s.C2, Source: s.Source}, 24*time.Hour, now)
		return err
	}}); err != nil {
		t.Fatal(err)
	}
	qs, err := ss.OpenQuestions(ctx, "dev-a")
	if err != nil || len(qs) != 1 {
		t.Fatalf("dev-a questions = %+v, %v", qs, err)
	}
	if err := ss.AnswerQuestion(ctx, "dev-a", qs[0].ID, true, `{"endpoint":"203.0.113.77:443"}`, now); err != nil {
		t.Fatal(err)
	}

	cl := consoleSession(t, n, srv.URL, now)
	page := getPage(t, cl, srv.URL+"/console/feeds")
	version, err := n.Store.(store.Intel).IndicatorsVersion(ctx)
	if err != nil || version == 0 {
		t.Fatalf("IndicatorsVersion = %d, %v", version, err)
	}
	checks := []struct{ feed, col, want string }{
		{"feodo", "indicators", "3"},
		{"feodo", "types", "ipv4 3"},
		{"feodo", "imported", "2026-12-01 08:00"},
		{"feodo", "error", "—"},
		{"threatfox", "indicators", "5"},
		{"threatfox", "types", "domain 1, ipv4 1, ipv6 1, sha256 1, url 1"},
		{"threatfox", "imported", "2026-12-01 08:00"},
		{"mirror", "indicators", "0"},
		{"mirror", "imported", "never"},
	}
	for _, c := range checks {
		if got := cell(t, page, c.feed, c.col); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.feed, c.col, got, c.want)
		}
	}
	if got := cell(t, page, "mirror", "error"); !strings.Contains(got, "503") {
		t.Errorf("mirror's last error = %q; want the HTTP 503", got)
	}
	if !strings.Contains(page, feodo.URL+"/ipblocklist.csv") {
		t.Error("the feed's URL is not shown")
	}
	for name, want := range map[string]string{"version": strconv.FormatInt(version, 10), "sightings": "2", "asked": "2", "confirmed": "1"} {
		if got := kpi(t, page, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// The Chinese page carries the same figures.
	zh := getPage(t, cl, srv.URL+"/console/feeds?lang=zh-CN")
	if !strings.Contains(zh, "最近成功导入") || cell(t, zh, "threatfox", "indicators") != "5" {
		t.Error("the Chinese feeds page differs")
	}
}
