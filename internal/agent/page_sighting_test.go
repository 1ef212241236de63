package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
)

// clean is a malware check that finds nothing.
type clean struct{}

func (clean) ID() health.CheckID           { return health.Malware }
func (clean) Probes(string) []source.Probe { return nil }
func (clean) Run(context.Context, source.Source, checks.Env) checks.Result {
	return checks.Pass(i18n.T("No known malware was found.", "没有发现已知的恶意软件。"),
		checks.Evidence("connections", health.OSReported))
}

// TestStatusPageShowsSighting: a device whose own connection history
// confirmed an outside sighting shows, on its page, the malware check as
// a failure with the outside report's reason (endpoint, when it was seen,
// when the hold ends) in place of its own check's pass, in English and
// Chinese, from the verified notice only.
func TestStatusPageShowsSighting(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	auth := startAuthority(t, clk, time.Hour)
	ss, ok := auth.n.Store.(store.Sightings)
	if !ok {
		t.Fatal("the node's store keeps no sightings")
	}
	const c2 = "192.0.2.7:443"
	talking := testSnapshot(clk.Now())
	talking.Connections = []source.Connection{{Proto: "tcp", Local: "10.0.0.5:50123", Remote: c2, State: "ESTABLISHED"}}
	a := enrolledAgent(t, clk, auth, source.NewReplay(talking), []checks.Check{newFileCheck(health.Firewall, "/fw", 0), clean{}})
	if last, err := a.CheckIn(ctx); err != nil || last.Response.Verdict == health.Contraindicated {
		t.Fatalf("first check-in: %v, %v", last, err)
	}
	seen := clk.Now()
	if _, asked, err := ss.AddSighting(ctx, store.Sighting{IP: "127.0.0.1", SeenAt: seen, Family: "QakBot", C2: c2, Source: "test"}, time.Hour, seen); err != nil || len(asked) != 1 {
		t.Fatalf("AddSighting: asked %v, %v", asked, err)
	}
	// As herd sightings import does, the report's C2 goes into the
	// indicator bundle: a device answers only about listed servers.
	listIndicator(t, auth.n.Store, "ipv4", "192.0.2.7", 443, "QakBot")
	// The connection is closed; the device is asked and answers from its
	// own history.
	a.Source = source.NewReplay(testSnapshot(clk.Now()))
	var verdict health.Tier
	for i := 0; i < 3 && verdict != health.Contraindicated; i++ {
		clk.Add(time.Minute)
		last, err := a.CheckIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		verdict = last.Response.Verdict
	}
	if verdict != health.Contraindicated {
		t.Fatalf("verdict %s after the device confirmed the sighting", verdict)
	}
	f, ok := a.SightingFor(i18n.English)
	if !ok || f.Endpoint != c2 || !f.Until.After(clk.Now()) {
		t.Fatalf("SightingFor = %+v, %v", f, ok)
	}
	seenAt, until := FormatTime(f.SeenAt), FormatTime(f.Until)
	for _, tc := range []struct {
		lang string
		want []string
		not  string
	}{
		{"en", []string{
			`<span class="fail">fail</span> <strong>Signs of infection</strong>: An outside report that this device&#39;s address talked to a botnet control server was confirmed by this device&#39;s own connection history (` + c2 + `, seen ` + seenAt + `); it stays until ` + until + ` unless the device is cleaned and an operator clears it.`,
			"How to fix: Clean the device with the steps above, then ask your health authority&#39;s operator to clear the report.",
		}, "No known malware"},
		{"zh-CN", []string{
			`<strong>感染迹象</strong>: 一份外部报告称此设备的地址曾与僵尸网络控制服务器通信，此设备自身的连接记录证实了这一点（` + c2 + `，发现于 ` + seenAt + `）；除非设备已清理并由管理员解除，否则此状态将保持到 ` + until + `。`,
			"修复方法： 按上面的步骤清理设备，然后请您的健康认证机构的管理员解除该报告。",
		}, "没有发现已知的恶意软件"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			body := getPage(t, a, "127.0.0.1:47321", "/?lang="+tc.lang, nil).Body.String()
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, tc.not) {
				t.Errorf("page still shows the local pass %q:\n%s", tc.not, body)
			}
			if n := strings.Count(body, `id="malware"`); n != 1 {
				t.Errorf("%d malware rows, want 1", n)
			}
			// The row is a finding, after the notice.
			if i, j := strings.Index(body, `class="notice"`), strings.Index(body, `id="malware"`); i < 0 || j < i ||
				j < strings.Index(body, "<h2>") {
				t.Error("the sighting row is not among the findings below the notice")
			}
		})
	}

	// A sighting written into the kept payload beside a genuine JWS that
	// does not carry it is not shown: only the signed payload counts.
	t.Run("unsigned sighting", func(t *testing.T) {
		held, _ := a.Notice()
		b := enrolledAgent(t, clk, auth, source.NewReplay(testSnapshot(clk.Now())), []checks.Check{infected{}})
		if last, err := b.CheckIn(ctx); err != nil || last.Response.Verdict != health.Contraindicated {
			t.Fatalf("check-in: %v, %v", last, err)
		}
		kept, ok := b.Notice()
		if !ok || kept.Notice.Sighting != nil || held == nil || held.Notice.Sighting == nil {
			t.Fatalf("kept notices %+v, %+v", kept, held)
		}
		forged := *kept
		forged.Notice.Sighting = held.Notice.Sighting
		if err := b.Store.writeJSONFile(noticeFile, forged); err != nil {
			t.Fatal(err)
		}
		if f, ok := b.SightingFor(i18n.English); ok {
			t.Errorf("SightingFor shows the unsigned sighting %+v", f)
		}
		body := getPage(t, b, "127.0.0.1:47321", "/", nil).Body.String()
		if strings.Contains(body, "outside report") || !strings.Contains(body, "Connected to 192.0.2.7:443") {
			t.Errorf("the page shows an unsigned sighting or lost the device's own finding:\n%s", body)
		}
	})
}
