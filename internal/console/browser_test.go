package console_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/herd-health/herd/internal/browsertest"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

func browser(t *testing.T) context.Context { return browsertest.New(t, 1366) }

func screenshotPath(t *testing.T, name string) string { return browsertest.ScreenshotPath(t, name) }

// authorityClient drives the authority's real device API.
type authorityClient struct {
	t   *testing.T
	url string
	// now is the devices' clock (nil: time.Now).
	now func() time.Time
}

func (c authorityClient) post(path, ctype string, body []byte, out any) {
	c.t.Helper()
	resp, err := http.Post(c.url+path, ctype, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e protocol.Error
		json.NewDecoder(resp.Body).Decode(&e)
		c.t.Fatalf("%s: %d %+v", path, resp.StatusCode, e)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

func (c authorityClient) nonce() string {
	var ch protocol.Challenge
	c.post(protocol.PathChallenge, "", nil, &ch)
	return ch.Nonce
}

type device struct {
	id   string
	priv ed25519.PrivateKey
}

func (c authorityClient) enroll() device {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	n := c.nonce()
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	var resp protocol.EnrollResponse
	c.post(protocol.PathEnroll, "application/json", req, &resp)
	return device{id: resp.DeviceID, priv: priv}
}

func (c authorityClient) checkin(d device, statuses map[health.CheckID]health.Status) health.Tier {
	var rs []health.Result
	for _, id := range health.CheckIDs {
		if st, ok := statuses[id]; ok {
			rs = append(rs, health.Result{ID: id, Status: st, Reason: "test", Evidence: health.Evidence{Source: "test", Trust: health.OSReported}})
		}
	}
	return c.checkinStatement(d, rs)
}

// checkinStatement signs a statement with these results and checks it in.
func (c authorityClient) checkinStatement(d device, results []health.Result) health.Tier {
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	s := health.Statement{Version: 1, DeviceID: d.id, Nonce: c.nonce(), IssuedAt: now, CollectedAt: now, OS: "linux", OSVersion: "12", AgentVersion: "herd-agent test",
		Checks: results}
	b, _ := json.Marshal(s)
	jws, err := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, b)
	if err != nil {
		c.t.Fatal(err)
	}
	var resp protocol.CheckinResponse
	c.post(protocol.PathCheckin, protocol.ContentTypeJOSE, []byte(jws), &resp)
	return resp.Verdict
}

var healthy = map[health.CheckID]health.Status{
	health.Firewall: health.Pass, health.AutoUpdate: health.Pass, health.PendingUpdates: health.Pass, health.OSSupport: health.Pass,
}

func with(base map[health.CheckID]health.Status, id health.CheckID, st health.Status) map[health.CheckID]health.Status {
	m := map[health.CheckID]health.Status{}
	for k, v := range base {
		m[k] = v
	}
	m[id] = st
	return m
}

// seeded is a node with a known population: what each day's chart must
// show is computed from the plan below, never read back from the store.
type seeded struct {
	srv      *httptest.Server
	n        *node.Node
	warnID   string
	password string
	today    time.Time
	// plan is the devices by verdict that checked in on each day, by
	// days before today; infections the new infections of each day.
	plan       map[int]map[health.Tier]int64
	infections map[int]int64
	// exposed is the size of the named cohort "exposed" (firewall
	// failing in the latest check-in).
	exposed int64
}

// historyDays is how far back the seeded history goes: the 90-day chart
// has data on every day.
const historyDays = 90

// seed starts a node on a clock fixed at noon UTC today, checks six
// devices in through the device API (two of them a second time with the
// firewall off), and records earlier days' check-ins through the store:
// on the day d days ago, d%4+1 devices, the first affirming, the second
// warning (firewall off), the third contraindicated (a new QakBot
// infection), the fourth affirming; and today six more devices turn
// contraindicated, an outbreak the detectors see.
func seed(t *testing.T) *seeded {
	ctx := t.Context()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	noon := today.Add(12 * time.Hour)
	clock := func() time.Time { return noon }
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	n, err := node.Open(ctx, node.Config{DSN: "sqlite:" + filepath.Join(t.TempDir(), "herd.db"), Now: clock,
		Authority: authority.Config{Issuer: srv.URL}, Console: console.Config{Cohorts: map[string]string{"exposed": "firewall"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if n.Console == nil {
		t.Fatal("node has no console")
	}
	srv.Config.Handler = n.Handler()
	c := authorityClient{t: t, url: srv.URL, now: clock}
	s := &seeded{srv: srv, n: n, password: "correct horse battery", today: today,
		plan: map[int]map[health.Tier]int64{}, infections: map[int]int64{}}
	add := func(day int, v health.Tier) {
		if s.plan[day] == nil {
			s.plan[day] = map[health.Tier]int64{}
		}
		s.plan[day][v]++
		if v == health.Contraindicated {
			s.infections[day]++
		}
	}
	for i := range 6 {
		d := c.enroll()
		if v := c.checkin(d, healthy); v != health.Affirming {
			t.Fatalf("healthy device: %s", v)
		}
		v := health.Affirming
		if i < 2 {
			if v = c.checkin(d, with(healthy, health.Firewall, health.Fail)); v != health.Warning {
				t.Fatalf("firewall off: %s", v)
			}
			s.warnID = d.id
			s.exposed++
		}
		add(0, v)
	}
	record := func(id string, at time.Time, v health.Tier) {
		if err := n.Store.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: at.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var f []health.Finding
		var family string
		switch v {
		case health.Warning:
			f = []health.Finding{{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported}}
		case health.Contraindicated:
			f, family = []health.Finding{{ID: health.Malware, Status: health.Fail, Trust: health.OSReported}}, "QakBot"
		}
		if _, err := n.Store.RecordCheckin(ctx, store.Checkin{DeviceID: id, ReceivedAt: at, Verdict: v, PolicyID: "herd-default@1", Findings: f,
			Family: family, OS: "linux", OSVersion: "12", Agent: "t", Statement: []byte("x.y.z")}); err != nil {
			t.Fatal(err)
		}
	}
	for day := 1; day < historyDays; day++ {
		at := today.AddDate(0, 0, -day).Add(12 * time.Hour)
		for k := range day%4 + 1 {
			v := []health.Tier{health.Affirming, health.Warning, health.Contraindicated, health.Affirming}[k]
			record(fmt.Sprintf("hist-%02d-%d", day, k), at, v)
			add(day, v)
			if v == health.Warning {
				s.exposed++
			}
		}
	}
	for i := range 6 {
		record(fmt.Sprintf("outbreak-%d", i), noon.Add(-time.Duration(i+1)*time.Minute), health.Contraindicated)
		add(0, health.Contraindicated)
	}
	if _, err := n.Population.Detect(ctx, noon); err != nil {
		t.Fatal(err)
	}
	if err := console.CreateUser(ctx, n.Store.(store.ConsoleUsers), "alice", s.password, noon); err != nil {
		t.Fatal(err)
	}
	return s
}

// day is the date d days before today.
func (s *seeded) day(d int) string { return s.today.AddDate(0, 0, -d).Format(time.DateOnly) }

// keys presses keys (chromedp key names, e.g. kb.Tab) in the page.
func keys(k ...string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for _, key := range k {
			if _, err := chromedp.KeyEvent(key)(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}
}

// focused describes the focused element: its id, or its tag and href or
// text, and whether its focus ring is drawn (a visible outline).
const focusedJS = `(() => { const e = document.activeElement; const cs = getComputedStyle(e);
  return { id: e.id || "", tag: e.tagName.toLowerCase(), href: e.getAttribute("href") || "", text: (e.textContent || "").trim().slice(0, 40),
           outline: cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2 }; })()`

type focus struct {
	ID, Tag, Href, Text string
	Outline             bool
}

// tabUntil presses Tab until the focused element satisfies ok (at most
// limit times) and returns every element focused on the way.
func tabUntil(ctx context.Context, t *testing.T, limit int, ok func(focus) bool) []focus {
	t.Helper()
	var seen []focus
	for range limit {
		var f focus
		if err := chromedp.Do(ctx, keys(kb.Tab), into(chromedp.Evaluate[focus](focusedJS), &f)); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, f)
		if ok(f) {
			return seen
		}
	}
	t.Fatalf("%d tabs did not reach the element; focused: %+v", limit, seen)
	return nil
}

// TestBrowserConsoleKeyboard signs in with the keyboard alone, and checks
// that Tab reaches the navigation and the device search form with the
// focus ring drawn, and that a search submitted with Enter works.
func TestBrowserConsoleKeyboard(t *testing.T) {
	s := seed(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+"/console/"), chromedp.WaitVisible(chromedp.CSS(`#password-form`))); err != nil {
		t.Fatal(err)
	}
	// The first Tab reaches the skip link, then the form's fields in
	// order.
	seen := tabUntil(ctx, t, 12, func(f focus) bool { return f.ID == "name" })
	if seen[0].Href != "#main" {
		t.Errorf("the first Tab focuses %+v, want the skip link", seen[0])
	}
	for _, f := range seen {
		if !f.Outline {
			t.Errorf("no focus ring on %+v", f)
		}
	}
	var loc string
	if err := chromedp.Do(ctx,
		keys("alice", kb.Tab, s.password, kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`svg[data-chart="trend"]`)),
		into(chromedp.Location(), &loc),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/console/") {
		t.Fatalf("after a keyboard sign-in the browser is at %s", loc)
	}

	// On the device search page, Tab goes through the navigation (every
	// item, in order) to the search form.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+"/console/devices"), chromedp.WaitVisible(chromedp.CSS(`#q`))); err != nil {
		t.Fatal(err)
	}
	seen = tabUntil(ctx, t, 30, func(f focus) bool { return f.ID == "q" })
	var nav []string
	for _, f := range seen {
		if !f.Outline {
			t.Errorf("no focus ring on %+v", f)
		}
		if strings.HasPrefix(f.Href, "/console/") {
			nav = append(nav, f.Href)
		}
	}
	want := []string{"/console/", "/console/", "/console/breakdown", "/console/cohorts", "/console/alerts", "/console/devices", "/console/feeds"}
	if strings.Join(nav, " ") != strings.Join(want, " ") {
		t.Errorf("Tab went through %q, want the brand and the navigation %q", nav, want)
	}
	var rows []map[string]string
	if err := chromedp.Do(ctx,
		keys(s.warnID[:8], kb.Tab),
		chromedp.Sleep(50*time.Millisecond),
	); err != nil {
		t.Fatal(err)
	}
	var f focus
	if err := chromedp.Do(ctx, into(chromedp.Evaluate[focus](focusedJS), &f)); err != nil {
		t.Fatal(err)
	}
	if f.ID != "verdict" || !f.Outline {
		t.Errorf("after the search field Tab focuses %+v, want the verdict choice with its focus ring", f)
	}
	if err := chromedp.Do(ctx,
		keys(kb.Tab),
		into(chromedp.Evaluate[focus](focusedJS), &f),
	); err != nil {
		t.Fatal(err)
	}
	if f.Tag != "button" || f.Text != "Search" || !f.Outline {
		t.Errorf("then %+v, want the Search button with its focus ring", f)
	}
	if err := chromedp.Do(ctx,
		keys(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`table.data tbody tr`)),
		into(chromedp.AttributesAll(chromedp.CSSAll(`table.data tbody tr th a`)), &rows),
	); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range rows {
		found = found || r["href"] == "/console/devices/"+s.warnID
	}
	if !found {
		t.Errorf("the search for %s… did not list the device: %v", s.warnID[:8], rows)
	}
}

func TestBrowserConsole(t *testing.T) {
	s := seed(t)
	ctx := browser(t)
	base := s.srv.URL

	// A wrong password is refused.
	var errText string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(`#password-form`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "wrong password here"),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)),
		into(chromedp.Text(chromedp.CSS(`#login-error`)), &errText),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "not right") {
		t.Errorf("wrong password: %q", errText)
	}

	// The right one opens the overview.
	var popText string
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#password`), s.password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`svg[data-chart="trend"]`)),
		into(chromedp.Text(chromedp.CSS(`[data-kpi="population"]`)), &popText),
	); err != nil {
		t.Fatal(err)
	}
	st, _ := s.n.Store.Stats(t.Context())
	if popText != thousands(st.Devices) {
		t.Errorf("population shows %q, store has %d", popText, st.Devices)
	}
	var devices int64
	for _, byVerdict := range s.plan {
		for _, n := range byVerdict {
			devices += n
		}
	}
	if st.Devices != devices {
		t.Errorf("the store has %d devices, the plan %d", st.Devices, devices)
	}
	// Every (day, verdict) point of the 30- and the 90-day trend, in the
	// chart and in its table, is the seeded number; so is every day of
	// the new-infections chart.
	for _, days := range []int{30, 90} {
		t.Run(fmt.Sprintf("%d days", days), func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/console/?days=%d", base, days)), chromedp.WaitVisible(chromedp.CSS(`svg[data-chart="trend"]`))); err != nil {
				t.Fatal(err)
			}
			for _, tier := range []health.Tier{health.Affirming, health.Warning, health.Contraindicated} {
				checkSeries(ctx, t, "trend", string(tier), days, func(d int) int64 { return s.plan[d][tier] }, s)
			}
			checkSeries(ctx, t, "incidence", "new_infections", days, func(d int) int64 { return s.infections[d] }, s)
		})
	}
	var shot []byte
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`svg[data-chart="trend"]`)), into(chromedp.FullScreenshot(100), &shot)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(screenshotPath(t, "console-overview.png"), shot, 0o644)
	// The trend chart fills its card's content width.
	var fill float64
	if err := chromedp.Do(ctx, into(chromedp.Evaluate[float64](fillJS(`svg[data-chart="trend"]`)), &fill)); err != nil {
		t.Fatal(err)
	}
	if fill < 0.98 || fill > 1.01 {
		t.Errorf("the trend chart fills %.0f%% of its card", fill*100)
	}

	// The breakdown by OS: every device is linux; today 4 affirming, 2
	// warning, 6 contraindicated.
	var bars []map[string]string
	var devs string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/breakdown?dim=os"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-segment="linux"]`)),
		into(chromedp.Text(chromedp.CSS(`tr[data-segment="linux"] td.num`)), &devs),
		into(chromedp.AttributesAll(chromedp.CSSAll(`tr[data-segment="linux"] rect`)), &bars),
		into(chromedp.FullScreenshot(100), &shot),
	); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(screenshotPath(t, "console-breakdown.png"), shot, 0o644)
	if devs != "12" {
		t.Errorf("linux devices today: %q, want 12", devs)
	}
	gotBars := map[string]string{}
	for _, b := range bars {
		gotBars[b["data-key"]] = b["data-value"]
	}
	if gotBars["affirming"] != "4" || gotBars["warning"] != "2" || gotBars["contraindicated"] != "6" {
		t.Errorf("linux today by verdict: %v, want affirming 4, warning 2, contraindicated 6", gotBars)
	}

	// Cohorts: the named cohort's count, then the same rule typed in.
	var named, heading string
	var members []map[string]string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/cohorts"),
		chromedp.WaitVisible(chromedp.CSS(`[data-cohort="exposed"]`)),
		into(chromedp.Text(chromedp.CSS(`[data-cohort="exposed"]`)), &named),
		chromedp.SendKeys(chromedp.CSS(`#expr`), "firewall=fail"),
		chromedp.Submit(chromedp.CSS(`#expr`)),
		chromedp.WaitVisible(chromedp.CSS(`main h2`)),
		into(chromedp.Text(chromedp.CSS(`main h2`)), &heading),
		into(chromedp.AttributesAll(chromedp.CSSAll(`main table.wide tbody tr th a`)), &members),
		into(chromedp.FullScreenshot(100), &shot),
	); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(screenshotPath(t, "console-cohorts.png"), shot, 0o644)
	if named != thousands(s.exposed) {
		t.Errorf("the exposed cohort shows %q, want %d", named, s.exposed)
	}
	if !strings.HasPrefix(heading, thousands(s.exposed)+" devices") || int64(len(members)) != min(s.exposed, 100) {
		t.Errorf("the cohort page says %q and lists %d devices; want %d", heading, len(members), s.exposed)
	}

	// Alerts: today's outbreak, with each detector's level drawn.
	var alerts []map[string]string
	var levelAt []map[string]string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/alerts"),
		chromedp.WaitVisible(chromedp.CSS(`article.alert`)),
		into(chromedp.AttributesAll(chromedp.CSSAll(`article.alert tr[data-alert]`)), &alerts),
		into(chromedp.AttributesAll(chromedp.CSSAll(`article[data-alert-group="QakBot//`+s.day(0)+`"] circle.level[data-detector="ears_c1"][data-day="`+s.day(0)+`"]`)), &levelAt),
		into(chromedp.FullScreenshot(100), &shot),
	); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(screenshotPath(t, "console-alerts.png"), shot, 0o644)
	stored, err := s.n.Store.(store.PopulationStats).Alerts(t.Context(), s.today, s.today)
	if err != nil || len(stored) == 0 {
		t.Fatalf("stored alerts: %d, %v", len(stored), err)
	}
	if len(alerts) != len(stored) {
		t.Errorf("the page shows %d alerts, the store holds %d", len(alerts), len(stored))
	}
	var c1 population.AlertDetail
	for _, a := range stored {
		if a.Key == "ears_c1/QakBot//"+s.day(0) {
			json.Unmarshal(a.Body, &c1)
		}
	}
	if len(levelAt) != 1 || levelAt[0]["data-level"] != strconv.FormatFloat(c1.Level, 'f', 2, 64) {
		t.Errorf("C1's level today on the page: %v; the alert's is %.2f", levelAt, c1.Level)
	}

	// A device: its history, findings and the evidence of its latest
	// statement.
	var verdicts, evidence []map[string]string
	var finding, fwSource string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/devices/"+s.warnID),
		chromedp.WaitVisible(chromedp.CSS(`#history`)),
		into(chromedp.AttributesAll(chromedp.CSSAll(`#history tbody tr`)), &verdicts),
		into(chromedp.Text(chromedp.CSS(`[data-finding="firewall"]`)), &finding),
		into(chromedp.AttributesAll(chromedp.CSSAll(`#evidence tbody tr`)), &evidence),
		into(chromedp.Text(chromedp.CSS(`tr[data-evidence="firewall"] td[data-col="source"]`)), &fwSource),
		into(chromedp.FullScreenshot(100), &shot),
	); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(screenshotPath(t, "console-device.png"), shot, 0o644)
	if err := chromedp.Do(ctx, into(chromedp.Evaluate[float64](fillJS(`svg.timeline`)), &fill)); err != nil {
		t.Fatal(err)
	}
	if fill < 0.98 || fill > 1.01 {
		t.Errorf("the verdicts-over-time strip fills %.0f%% of its section", fill*100)
	}
	if len(verdicts) != 2 || verdicts[0]["data-verdict"] != "warning" || verdicts[1]["data-verdict"] != "affirming" {
		t.Errorf("history verdicts = %v, want warning then affirming", verdicts)
	}
	if !strings.Contains(finding, "Firewall") || !strings.Contains(finding, "fail") {
		t.Errorf("finding = %q", finding)
	}
	var evIDs []string
	for _, e := range evidence {
		evIDs = append(evIDs, e["data-evidence"])
	}
	if strings.Join(evIDs, " ") != "firewall auto_update pending_updates os_support" || fwSource != "test" {
		t.Errorf("evidence rows %v, firewall source %q; want the four checks the device sent, from \"test\"", evIDs, fwSource)
	}
	log, _ := s.n.Store.(store.Audit).AuditLog(t.Context(), 10)
	var sawShow bool
	for _, e := range log {
		sawShow = sawShow || (e.Action == "device.show" && e.Target == s.warnID && e.Actor == "console:alice" && e.Outcome == "200")
	}
	if !sawShow {
		t.Errorf("opening a device was not audited: %+v", log)
	}

	// The feeds page: a feed imported as `herd intel import` does, one
	// that failed, and the indicator counts by type.
	feed := "# Feodo Tracker\n\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n" +
		"\"2026-11-01 10:00:00\",\"192.0.2.1\",\"443\",\"online\",\"2026-11-30\",\"QakBot\"\n" +
		"\"2026-11-01 10:00:00\",\"192.0.2.2\",\"8080\",\"online\",\"2026-11-30\",\"Emotet\"\n"
	now := time.Now()
	if _, _, err := intel.Load(t.Context(), s.n.Store.(store.Intel), strings.NewReader(feed), "ipblocklist.csv", intel.Options{Source: "feodo"}, now, nil); err != nil {
		t.Fatal(err)
	}
	fr := s.n.Store.(store.FeedReports)
	fr.RecordFeedRun(t.Context(), store.FeedRun{Name: "feodo", URL: "https://feodotracker.abuse.ch/downloads/ipblocklist.csv", At: now})
	fr.RecordFeedRun(t.Context(), store.FeedRun{Name: "urlhaus", URL: "https://urlhaus.abuse.ch/downloads/csv_recent/", At: now, Err: "GET https://urlhaus.abuse.ch/downloads/csv_recent/: HTTP 503 Service Unavailable"})
	var feodoCount string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/feeds"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-feed="feodo"]`)),
		into(chromedp.Text(chromedp.CSS(`tr[data-feed="feodo"] td[data-col="indicators"]`)), &feodoCount),
		into(chromedp.FullScreenshot(100), &shot),
	); err != nil {
		t.Fatal(err)
	}
	if feodoCount != "2" {
		t.Errorf("feodo's indicators on the feeds page = %q, want 2", feodoCount)
	}
	os.WriteFile(screenshotPath(t, "console-feeds.png"), shot, 0o644)

	// Log out: the console asks for a sign-in again.
	var loc string
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#password-form`)),
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(`#password-form`)),
		into(chromedp.Location(), &loc),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "/console/login") {
		t.Errorf("after logout the console is at %s", loc)
	}
}

// checkSeries checks every day of one series of a chart on the page, in
// the SVG and in the table, against want (by days before today).
func checkSeries(ctx context.Context, t *testing.T, chart, series string, days int, want func(d int) int64, s *seeded) {
	t.Helper()
	var points, cells []map[string]string
	var texts []string
	if err := chromedp.Do(ctx,
		into(chromedp.AttributesAll(chromedp.CSSAll(`svg[data-chart="`+chart+`"] g.series[data-series="`+series+`"] circle`)), &points),
		into(chromedp.AttributesAll(chromedp.CSSAll(`table[data-table="`+chart+`"] td[data-series="`+series+`"]`)), &cells),
		into(chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('table[data-table="`+chart+`"] td[data-series="`+series+`"]')).map(e => e.textContent)`), &texts),
	); err != nil {
		t.Fatal(err)
	}
	if len(points) != days || len(cells) != days || len(texts) != days {
		t.Fatalf("%s/%s: %d points and %d table cells, want %d of each", chart, series, len(points), len(cells), days)
	}
	for i, p := range points {
		d := days - 1 - i
		if p["data-day"] != s.day(d) || p["data-value"] != strconv.FormatInt(want(d), 10) {
			t.Errorf("%s/%s point %d: %s = %s, want %s = %d", chart, series, i, p["data-day"], p["data-value"], s.day(d), want(d))
		}
		if cells[i]["data-day"] != s.day(d) || texts[i] != thousands(want(d)) {
			t.Errorf("%s/%s table: %s = %s, want %s = %d", chart, series, cells[i]["data-day"], texts[i], s.day(d), want(d))
		}
	}
}

// thousands formats n as the console does.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// fillJS measures the element sel's width as a share of its parent's
// content width (its width less its padding).
func fillJS(sel string) string {
	return `(() => { const e = document.querySelector(` + strconv.Quote(sel) + `); const p = e.parentElement; const cs = getComputedStyle(p);
	  return e.getBoundingClientRect().width / (p.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)); })()`
}

// into runs a and keeps its value in p.
func into[T any](a chromedp.Action[T], p *T) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*p = v
		return chromedp.Void{}, err
	}
}
