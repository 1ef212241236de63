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

	"github.com/herd-health/herd/internal/browsertest"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

func browser(t *testing.T) context.Context { return browsertest.New(t, 1366) }

func screenshotPath(t *testing.T, name string) string { return browsertest.ScreenshotPath(t, name) }

// authorityClient drives the authority's real device API.
type authorityClient struct {
	t   *testing.T
	url string
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

type seeded struct {
	srv      *httptest.Server
	n        *node.Node
	warnID   string
	password string
}

// seed starts a node, checks devices in through the API, and records
// older check-ins straight into the store for 30 days of history.
func seed(t *testing.T) *seeded {
	ctx := t.Context()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	n, err := node.Open(ctx, node.Config{DSN: "sqlite:" + filepath.Join(t.TempDir(), "herd.db"),
		Authority: authority.Config{Issuer: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if n.Console == nil {
		t.Fatal("node has no console")
	}
	srv.Config.Handler = n.Handler()
	c := authorityClient{t: t, url: srv.URL}
	s := &seeded{srv: srv, n: n, password: "correct horse battery"}
	for i := range 6 {
		d := c.enroll()
		if v := c.checkin(d, healthy); v != health.Affirming {
			t.Fatalf("healthy device: %s", v)
		}
		if i < 2 {
			if v := c.checkin(d, with(healthy, health.Firewall, health.Fail)); v != health.Warning {
				t.Fatalf("firewall off: %s", v)
			}
			s.warnID = d.id
		}
	}
	// History: devices that checked in on earlier days, written the way
	// RecordCheckin keeps aggregates.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for day := 1; day < 30; day++ {
		at := today.AddDate(0, 0, -day).Add(12 * time.Hour)
		for k := range day%4 + 1 {
			id := fmt.Sprintf("hist-%02d-%d", day, k)
			if err := n.Store.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: at}); err != nil {
				t.Fatal(err)
			}
			v, f := health.Affirming, []health.Finding(nil)
			if k == 1 {
				v, f = health.Warning, []health.Finding{{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported}}
			}
			if _, err := n.Store.RecordCheckin(ctx, store.Checkin{DeviceID: id, ReceivedAt: at, Verdict: v, PolicyID: "herd-default@1", Findings: f, OS: "linux", OSVersion: "12", Agent: "t", Statement: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := console.CreateUser(ctx, n.Store.(store.ConsoleUsers), "alice", s.password, time.Now()); err != nil {
		t.Fatal(err)
	}
	return s
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
	var values []map[string]string
	var population string
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#password`), s.password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`svg[data-chart="trend"]`)),
		into(chromedp.Text(chromedp.CSS(`[data-kpi="population"]`)), &population),
		into(chromedp.AttributesAll(chromedp.CSSAll(`svg[data-chart="trend"] g.series circle`)), &values),
	); err != nil {
		t.Fatal(err)
	}
	from := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -29)
	cells, err := s.n.Store.(store.PopulationStats).Aggregate(t.Context(), store.AggVerdict, store.DimNone, from, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, c := range cells {
		want[c.Day.Format(time.DateOnly)] += c.Count
	}
	got := map[string]int64{}
	for _, a := range values {
		v, _ := strconv.ParseInt(a["data-value"], 10, 64)
		got[a["data-day"]] += v
	}
	if len(values) != 3*30 {
		t.Errorf("trend has %d points, want 90", len(values))
	}
	for day, n := range want {
		if got[day] != n {
			t.Errorf("chart %s = %d, aggregate %d", day, got[day], n)
		}
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if want[today] != 6 || got[today] != 6 {
		t.Errorf("today: chart %d, aggregate %d, want the 6 devices that checked in", got[today], want[today])
	}
	st, _ := s.n.Store.Stats(t.Context())
	if population != strconv.FormatInt(st.Devices, 10) {
		t.Errorf("population shows %q, store has %d", population, st.Devices)
	}
	var shot []byte
	if err := chromedp.Do(ctx, into(chromedp.FullScreenshot(100), &shot)); err != nil {
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

	// Open a device: its history and findings.
	var verdicts []map[string]string
	var finding string
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/console/devices/"+s.warnID),
		chromedp.WaitVisible(chromedp.CSS(`#history`)),
		into(chromedp.AttributesAll(chromedp.CSSAll(`#history tbody tr`)), &verdicts),
		into(chromedp.Text(chromedp.CSS(`[data-finding="firewall"]`)), &finding),
	); err != nil {
		t.Fatal(err)
	}
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
	log, _ := s.n.Store.(store.Audit).AuditLog(t.Context(), 10)
	var sawShow bool
	for _, e := range log {
		sawShow = sawShow || (e.Action == "device.show" && e.Target == s.warnID && e.Actor == "console:alice")
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
