package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/source"
)

// infected is a malware check that always finds a connection to a C2;
// its reason carries markup, which the page must escape.
type infected struct{}

func (infected) ID() health.CheckID           { return health.Malware }
func (infected) Probes(string) []source.Probe { return nil }
func (infected) Run(context.Context, source.Source, checks.Env) checks.Result {
	return checks.Fail(i18n.T("Connected to 192.0.2.7:443 <script>alert(1)</script>", "连接到 192.0.2.7:443 <script>alert(1)</script>"),
		checks.Evidence("connections", health.OSReported),
		i18n.T("Stop the program that opened the connection.", "停止打开该连接的程序。"))
}

// infectedAgent is an agent enrolled with a real authority whose check-in
// turned contraindicated, so it keeps a notice the authority signed.
func infectedAgent(t *testing.T) (*Agent, *authorityServer, *clock) {
	t.Helper()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	auth := startAuthority(t, clk, time.Hour)
	src := source.NewReplay(testSnapshot(clk.Now()))
	a := enrolledAgent(t, clk, auth, src, []checks.Check{newFileCheck(health.Firewall, "/fw", 0), infected{}})
	last, err := a.CheckIn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last.Response.Verdict != health.Contraindicated || last.Response.Notice == "" {
		t.Fatalf("verdict %s, notice %q; want contraindicated with a notice", last.Response.Verdict, last.Response.Notice)
	}
	return a, auth, clk
}

func getPage(t *testing.T, a *Agent, host, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	(&Endpoint{Agent: a}).ServeHTTP(rec, req)
	return rec
}

func TestNoticeForVerifiedNotice(t *testing.T) {
	a, _, clk := infectedAgent(t)
	for _, tc := range []struct {
		name      string
		goos      string
		lang      i18n.Lang
		title     string
		firstStep string
	}{
		{"linux en", "linux", i18n.English, "This device appears to be infected", "Disconnect the machine from the network if you can."},
		{"linux zh", "linux", i18n.Chinese, "此设备似乎已被感染", "如有可能，先断开计算机的网络连接。"},
		{"windows en", "windows", i18n.English, "This device appears to be infected", "Disconnect the device from the network if you can."},
		{"darwin zh", "darwin", i18n.Chinese, "此设备似乎已被感染", "如有可能，先断开 Mac 的网络连接。"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := a.NoticeFor(tc.goos, tc.lang)
			if !ok {
				t.Fatal("no notice")
			}
			if n.Title != tc.title {
				t.Errorf("title %q, want %q", n.Title, tc.title)
			}
			if want := guide.Steps(health.Malware, tc.goos, tc.lang); !slices.Equal(n.Steps, want) || n.Steps[0] != tc.firstStep {
				t.Errorf("steps %q, want the guide's %q starting with %q", n.Steps, want, tc.firstStep)
			}
			if n.Message == "" || (tc.lang == i18n.Chinese) != strings.Contains(n.Message, "僵尸网络") {
				t.Errorf("message %q is not in %s", n.Message, tc.lang)
			}
			if !n.IssuedAt.Equal(clk.Now()) {
				t.Errorf("issued at %v, want %v", n.IssuedAt, clk.Now())
			}
		})
	}
	// An OS the guide has no steps for gets the steps the authority signed.
	n, _ := a.NoticeFor("plan9", i18n.English)
	if len(n.Steps) != 2 || !strings.Contains(n.Steps[1], "change the passwords") {
		t.Errorf("plan9 steps %q, want the two signed steps", n.Steps)
	}
	// The notice lapses with its expiry.
	clk.Add(61 * time.Minute)
	if _, ok := a.NoticeFor("linux", i18n.English); ok {
		t.Error("an expired notice is still shown")
	}
}

func TestPrintNotice(t *testing.T) {
	a, _, _ := infectedAgent(t)
	n, _ := a.NoticeFor("linux", i18n.Chinese)
	var b bytes.Buffer
	PrintNotice(&b, n, i18n.Chinese)
	out := b.String()
	for _, want := range []string{"!! 此设备似乎已被感染", "怎么做：", " 1. 如有可能，先断开计算机的网络连接。", " 4. ", "由你的健康认证机构签发于"} {
		if !strings.Contains(out, want) {
			t.Errorf("notice lacks %q:\n%s", want, out)
		}
	}
}

// forgedNotices are notices the agent must never show: each is written
// straight into the state directory (as a local attacker or a broken
// authority answer would leave it) with a tempting title.
func forgedNotices(t *testing.T, a *Agent, auth *authorityServer, clk *clock) map[string]string {
	t.Helper()
	st, err := a.Store.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	claims := func(iss, sub string, exp time.Time) []byte {
		b, _ := json.Marshal(protocol.Notice{Issuer: iss, DeviceID: sub, IssuedAt: clk.Now().Unix(), Expiry: exp.Unix(), Verdict: "contraindicated",
			Title: protocol.Localized{EN: "Pay here to clean your device", ZH: "付款清理设备"}})
		return b
	}
	signer, kid := auth.n.Keys.Signer()
	_, other, _ := ed25519.GenerateKey(nil)
	out := map[string]string{}
	var err2 error
	if out["another key"], err2 = healthcert.SignCompact(other, kid, protocol.NoticeType, claims(st.Discovery.Issuer, st.DeviceID, clk.Now().Add(time.Hour))); err2 != nil {
		t.Fatal(err2)
	}
	if out["another device"], err2 = healthcert.SignCompact(signer, kid, protocol.NoticeType, claims(st.Discovery.Issuer, "dev-someone-else", clk.Now().Add(time.Hour))); err2 != nil {
		t.Fatal(err2)
	}
	if out["expired"], err2 = healthcert.SignCompact(signer, kid, protocol.NoticeType, claims(st.Discovery.Issuer, st.DeviceID, clk.Now().Add(-time.Second))); err2 != nil {
		t.Fatal(err2)
	}
	if out["another issuer"], err2 = healthcert.SignCompact(signer, kid, protocol.NoticeType, claims("https://other.example", st.DeviceID, clk.Now().Add(time.Hour))); err2 != nil {
		t.Fatal(err2)
	}
	if out["another type"], err2 = healthcert.SignCompact(signer, kid, protocol.StatementType, claims(st.Discovery.Issuer, st.DeviceID, clk.Now().Add(time.Hour))); err2 != nil {
		t.Fatal(err2)
	}
	// The authority's own SignNotice, for another device and expired.
	if out["signed for another device"], err2 = auth.n.Authority.SignNotice("dev-someone-else", health.Contraindicated, "linux", clk.Now()); err2 != nil {
		t.Fatal(err2)
	}
	if out["signed two hours ago"], err2 = auth.n.Authority.SignNotice(st.DeviceID, health.Contraindicated, "linux", clk.Now().Add(-2*time.Hour)); err2 != nil {
		t.Fatal(err2)
	}
	out["not a JWS"] = "pay here"
	return out
}

func TestForgedNoticeNeverShown(t *testing.T) {
	a, auth, clk := infectedAgent(t)
	genuine, ok := a.Notice()
	if !ok {
		t.Fatal("the genuine notice is not shown")
	}
	st, _ := a.Store.LoadState()
	for name, jws := range forgedNotices(t, a, auth, clk) {
		t.Run(name, func(t *testing.T) {
			if _, err := a.VerifyNotice(context.Background(), st, jws); err == nil {
				t.Error("VerifyNotice accepted it")
			}
			var payload protocol.Notice
			if c, err := healthcert.ParseCompact(jws); err == nil {
				json.Unmarshal(c.Payload, &payload)
			}
			if err := a.Store.writeJSONFile(noticeFile, ShownNotice{Notice: payload, JWS: jws}); err != nil {
				t.Fatal(err)
			}
			if n, ok := a.Notice(); ok {
				t.Errorf("Notice() shows %+v", n.Notice)
			}
			if n, ok := a.NoticeFor("linux", i18n.English); ok {
				t.Errorf("NoticeFor shows %+v", n)
			}
			for _, lang := range []string{"en", "zh-CN"} {
				body := getPage(t, a, "127.0.0.1:47321", "/?lang="+lang, nil).Body.String()
				if strings.Contains(body, "Pay here") || strings.Contains(body, "付款") || strings.Contains(body, `class="notice"`) {
					t.Errorf("the %s page shows the forged notice:\n%s", lang, body)
				}
			}
			// Arriving in a check-in answer, it is dropped and the kept
			// file is left alone.
			a.Store.writeJSONFile(noticeFile, genuine)
			a.takeNotice(context.Background(), st, &protocol.CheckinResponse{Verdict: health.Contraindicated, Notice: jws})
			if n, ok := a.Notice(); !ok || n.JWS != genuine.JWS {
				t.Errorf("after a forged notice in a check-in answer the kept notice is %+v, %v", n, ok)
			}
		})
	}
	// A genuine JWS beside a tampered copy of its payload: only the
	// signed payload is shown.
	tampered := *genuine
	tampered.Notice.Title = protocol.Localized{EN: "Pay here to clean your device"}
	a.Store.writeJSONFile(noticeFile, tampered)
	if n, ok := a.Notice(); !ok || n.Notice.Title.EN != "This device appears to be infected" {
		t.Errorf("with a tampered payload beside the JWS, Notice() = %+v, %v", n, ok)
	}
}

func TestStatusPage(t *testing.T) {
	a, auth, _ := infectedAgent(t)
	for _, tc := range []struct {
		name   string
		target string
		hdr    map[string]string
		want   []string
	}{
		{"english", "/", nil, []string{
			`<html lang="en">`,
			`<section class="notice" role="alert">`, "<h2>This device appears to be infected</h2>",
			"Disconnect the machine from the network if you can.",
			"contraindicated: this device shows signs of infection",
			"<strong>Signs of infection</strong>: Connected to 192.0.2.7:443 &lt;script&gt;alert(1)&lt;/script&gt;",
			"How to fix: Stop the program that opened the connection.",
			`<a href="` + auth.URL() + `/learn/malware">Learn more</a>`,
			"<h2>Other checks</h2>", "<strong>Firewall</strong>",
			// A required check the device did not report, with the guide's help.
			"<strong>Automatic updates</strong>: This device did not report this check",
			`<a href="` + auth.URL() + `/learn/auto_update">Learn more</a>`,
			`<a href="?lang=zh-CN">中文</a>`,
		}},
		{"chinese by query", "/?lang=zh-CN", nil, []string{
			`<html lang="zh-CN">`,
			"<h2>此设备似乎已被感染</h2>", "如有可能，先断开计算机的网络连接。",
			"禁忌：此设备有感染迹象",
			"<strong>感染迹象</strong>: 连接到 192.0.2.7:443 &lt;script&gt;",
			"修复方法： 停止打开该连接的程序。",
			`<a href="` + auth.URL() + `/learn/malware">了解更多</a>`,
			"<strong>防火墙</strong>",
			`<a href="?lang=en">English</a>`,
		}},
		{"chinese by Accept-Language", "/", map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, []string{`<html lang="zh-CN">`, "此设备似乎已被感染"}},
		{"a web page asking", "/", map[string]string{"Origin": "https://evil.example"}, []string{"This device appears to be infected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := getPage(t, a, "localhost:47321", tc.target, tc.hdr)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			h := rec.Header()
			if got := h.Get("Content-Security-Policy"); got != "default-src 'none'; style-src 'unsafe-inline'" {
				t.Errorf("CSP %q", got)
			}
			if h.Get("X-Frame-Options") != "DENY" || h.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("headers %v", h)
			}
			for k := range h {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("page carries CORS header %s", k)
				}
			}
			body := rec.Body.String()
			if strings.Contains(body, "<script>") {
				t.Error("markup from a check's reason is not escaped")
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%s", w, body)
				}
			}
			// The notice comes before the verdict.
			if strings.Index(body, `class="notice"`) > strings.Index(body, `class="verdict-contraindicated"`) {
				t.Error("the notice is not on top")
			}
		})
	}
	for _, host := range []string{"evil.example", "127.0.0.1.evil.example:47321", "192.168.1.10:47321", ""} {
		t.Run("host "+host, func(t *testing.T) {
			rec := getPage(t, a, host, "/", nil)
			if rec.Code != http.StatusMisdirectedRequest {
				t.Errorf("status %d, want 421", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "infected") {
				t.Error("a non-loopback host got the page")
			}
		})
	}
	t.Run("POST", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Host = "127.0.0.1:47321"
		rec := httptest.NewRecorder()
		(&Endpoint{Agent: a}).ServeHTTP(rec, req)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST / %d, want 405", rec.Code)
		}
	})
}

func TestStatusPageBeforeEnrollmentAndCheckIn(t *testing.T) {
	a := &Agent{Store: Store{Dir: t.TempDir()}, Source: source.NewReplay(testSnapshot(time.Now()))}
	if body := getPage(t, a, "[::1]:47321", "/", nil).Body.String(); !strings.Contains(body, "not enrolled") {
		t.Errorf("page before enrollment:\n%s", body)
	}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	auth := startAuthority(t, clk, time.Hour)
	a = enrolledAgent(t, clk, auth, source.NewReplay(testSnapshot(clk.Now())), nil)
	body := getPage(t, a, "localhost", "/?lang=zh-CN", nil).Body.String()
	if !strings.Contains(body, "尚未签到") || strings.Contains(body, `class="notice"`) {
		t.Errorf("page before a check-in:\n%s", body)
	}
}
