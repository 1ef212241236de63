package console_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/store"
)

// get fetches a public page in a language (through ?lang=).
func get(t *testing.T, h http.Handler, path string, lang i18n.Lang) (int, string) {
	t.Helper()
	cl := newClient(t, h, "192.0.2.50")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	w := cl.do("GET", path+sep+"lang="+string(lang), nil)
	return w.Code, html.UnescapeString(w.Body.String())
}

func TestLearnPages(t *testing.T) {
	c, _, _ := newConsole(t, console.Config{})
	h := c.Handler()
	for _, lang := range []i18n.Lang{i18n.English, i18n.Chinese} {
		t.Run(string(lang)+"/index", func(t *testing.T) {
			code, body := get(t, h, "/learn/", lang)
			if code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if !strings.Contains(body, `lang="`+string(lang)+`"`) {
				t.Errorf("page not marked %s", lang)
			}
			for _, id := range health.CheckIDs {
				e, _ := guide.For(id)
				if !strings.Contains(body, `href="/learn/`+string(id)+`"`) {
					t.Errorf("index has no link to %s", id)
				}
				if !strings.Contains(body, e.Title.In(lang)) {
					t.Errorf("index lacks the title of %s: %q", id, e.Title.In(lang))
				}
			}
		})
		for _, id := range health.CheckIDs {
			t.Run(string(lang)+"/"+string(id), func(t *testing.T) {
				code, body := get(t, h, "/learn/"+string(id), lang)
				if code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				e, ok := guide.For(id)
				if !ok {
					t.Fatalf("no guide for %s", id)
				}
				for _, want := range []string{`data-check="` + string(id) + `"`, e.Title.In(lang), e.Why.In(lang), guide.What(id).In(lang)} {
					if !strings.Contains(body, want) {
						t.Errorf("page lacks %q", want)
					}
				}
				platforms := 0
				for _, goos := range []string{"windows", "darwin", "linux"} {
					if _, ok := e.Fix[goos]; !ok {
						continue
					}
					platforms++
					if !strings.Contains(body, `id="`+goos+`"`) {
						t.Errorf("no section for %s", goos)
					}
					for _, step := range guide.Steps(id, goos, lang) {
						if !strings.Contains(body, step) {
							t.Errorf("%s: step missing: %q", goos, step)
						}
					}
				}
				if platforms == 0 {
					t.Error("no platform has a fix")
				}
				// Each language's page is in that language.
				hasHan := regexp.MustCompile(`\p{Han}`).MatchString(e.Title.In(lang))
				if (lang == i18n.Chinese) != hasHan {
					t.Errorf("title %q in %s", e.Title.In(lang), lang)
				}
			})
		}
	}
	if code, _ := get(t, h, "/learn/no_such_check", i18n.English); code != http.StatusNotFound {
		t.Errorf("unknown guide: %d", code)
	}
}

var numCell = regexp.MustCompile(`<td[^>]*>\s*([0-9][0-9,]*)\s*</td>`)

func TestPopulationPageSuppression(t *testing.T) {
	const k = 10
	c, st, clock := newConsole(t, console.Config{MinCount: k})
	ctx := t.Context()
	at := clock.Now().Add(-time.Hour)
	n := 0
	os := "linux"
	checkin := func(v health.Tier, failing ...health.CheckID) {
		n++
		id := fmt.Sprintf("dev-%03d", n)
		if err := st.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: os, EnrolledAt: at}); err != nil {
			t.Fatal(err)
		}
		var fs []health.Finding
		for _, f := range failing {
			fs = append(fs, health.Finding{ID: f, Status: health.Fail, Trust: health.OSReported})
		}
		if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: id, ReceivedAt: at, Verdict: v, PolicyID: "herd-default@1",
			Findings: fs, OS: os, OSVersion: "12", Agent: "1.0.0", Statement: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	// Today: 25 affirming; 10 warning (all firewall off, 4 of them also
	// screen lock off); 9 contraindicated (malware).
	for range 25 {
		checkin(health.Affirming)
	}
	for i := range 10 {
		if i < 4 {
			checkin(health.Warning, health.Firewall, health.ScreenLock)
		} else {
			checkin(health.Warning, health.Firewall)
		}
	}
	for range 9 {
		checkin(health.Contraindicated, health.Malware)
	}
	// And one macOS device, warning: the page's by-OS table shows linux
	// warning 10 and withholds darwin warning 1, so the whole-population
	// warning count (11) must be withheld too, or 11 − 10 gives it away.
	os = "darwin"
	checkin(health.Warning)

	for _, lang := range []i18n.Lang{i18n.English, i18n.Chinese} {
		t.Run(string(lang), func(t *testing.T) {
			code, body := get(t, c.Handler(), "/population", lang)
			if code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			withheld := map[i18n.Lang]string{i18n.English: "withheld", i18n.Chinese: "不公布"}[lang]
			// Verdicts: 25 shown; 9 under K withheld; warning (11) withheld
			// because it is the sum of a published and a withheld cell of
			// the by-OS table.
			for key, want := range map[string]string{"affirming": "25", "warning": withheld, "contraindicated": withheld} {
				m := regexp.MustCompile(`data-cell="` + key + `">(.*?)</td>`).FindStringSubmatch(body)
				if m == nil {
					t.Errorf("no %s cell", key)
					continue
				}
				if got := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""); got != want {
					t.Errorf("%s: %q, want %q", key, got, want)
				}
			}
			// Failing checks: firewall 10 shown; screen lock 4 and malware
			// 9 withheld.
			for _, tc := range []struct {
				id   health.CheckID
				want string
			}{{health.Firewall, "10"}, {health.ScreenLock, withheld}, {health.Malware, withheld}} {
				m := regexp.MustCompile(`href="/learn/` + string(tc.id) + `">[^<]*</a></th><td class="num">(.*?)</td>`).FindStringSubmatch(body)
				if m == nil {
					t.Errorf("no row for %s", tc.id)
					continue
				}
				if got := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""); got != tc.want {
					t.Errorf("failing %s: %q, want %q", tc.id, got, tc.want)
				}
			}
			// By OS: linux warning 10 shown, darwin warning withheld.
			for _, tc := range []struct{ os, want string }{{"linux", "10"}, {"darwin", withheld}} {
				m := regexp.MustCompile(`<th scope="row">`+tc.os+`</th><td>[^<]*</td><td class="num">(.*?)</td>`).FindAllStringSubmatch(body, -1)
				var got []string
				for _, x := range m {
					got = append(got, regexp.MustCompile(`<[^>]+>`).ReplaceAllString(x[1], ""))
				}
				if !slices.Contains(got, tc.want) {
					t.Errorf("by OS %s: %q, want one %q", tc.os, got, tc.want)
				}
			}
			if strings.Contains(body, ">11<") {
				t.Error("the whole-population warning count 11 is shown")
			}
			// No number under K anywhere in a table cell or a chart point.
			for _, m := range numCell.FindAllStringSubmatch(body, -1) {
				v, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
				if v > 0 && v < k {
					t.Errorf("a count under K is shown: %s", m[0])
				}
			}
			for _, m := range regexp.MustCompile(`data-value="([0-9.]+)"`).FindAllStringSubmatch(body, -1) {
				v, _ := strconv.ParseFloat(m[1], 64)
				if v > 0 && v < k {
					t.Errorf("a chart point under K: %s", m[0])
				}
			}
			if !strings.Contains(body, "data-k>10<") {
				t.Error("K is not stated")
			}
			// The trend never shows a withheld cell as 0: the table says
			// withheld, the chart has no point (a gap) that day.
			day := at.UTC().Format("2006-01-02")
			trend := body[strings.Index(body, `data-table="public-trend"`):]
			row := regexp.MustCompile(`<th scope="row">` + day + `</th>(.*?)</tr>`).FindStringSubmatch(trend)
			if row == nil {
				t.Fatalf("no trend row for %s", day)
			}
			var cells []string
			for _, m := range regexp.MustCompile(`<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(row[1], -1) {
				cells = append(cells, m[1])
			}
			if len(cells) < 3 || cells[0] != "25" || cells[1] != withheld || cells[2] != withheld {
				t.Errorf("trend row %s = %q, want 25, %s, %s first", day, cells, withheld, withheld)
			}
			for _, tier := range []string{"warning", "contraindicated"} {
				g := regexp.MustCompile(`(?s)data-series="` + tier + `">(.*?)</g>`).FindStringSubmatch(body)
				if g == nil {
					t.Fatalf("no %s series in the chart", tier)
				}
				if strings.Contains(g[1], `data-day="`+day+`"`) {
					t.Errorf("the chart draws a point for the withheld %s count of %s", tier, day)
				}
			}
		})
	}
}
