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
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
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

// pageCheckins records check-ins at a time, each of a new device.
type pageCheckins struct {
	t  *testing.T
	st *sqlite.Store
	n  int
}

func (p *pageCheckins) add(at time.Time, os string, v health.Tier, failing ...health.CheckID) {
	p.t.Helper()
	p.n++
	id := fmt.Sprintf("dev-%03d", p.n)
	ctx := p.t.Context()
	if err := p.st.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: os, EnrolledAt: at}); err != nil {
		p.t.Fatal(err)
	}
	var fs []health.Finding
	for _, f := range failing {
		fs = append(fs, health.Finding{ID: f, Status: health.Fail, Trust: health.OSReported})
	}
	if _, err := p.st.RecordCheckin(ctx, store.Checkin{DeviceID: id, ReceivedAt: at, Verdict: v, PolicyID: "herd-default@1",
		Findings: fs, OS: os, OSVersion: "12", Agent: "1.0.0", Statement: []byte("{}")}); err != nil {
		p.t.Fatal(err)
	}
}

// cellText is the text of a page's table cell matched by re (its first
// group), tags removed.
func cellTexts(body, re string) []string {
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(body, -1) {
		out = append(out, regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""))
	}
	return out
}

func TestPopulationPageSuppression(t *testing.T) {
	const k = 10
	c, st, clock := newConsole(t, console.Config{MinCount: k})
	ctx := t.Context()
	// Yesterday (UTC): the page shows complete days only.
	at := clock.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
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
			// because the by-OS table withholds a count of it.
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
			// By OS: darwin warning withheld, and linux warning (10)
			// beside it too: the page's whole-population count is
			// withheld, but the agent and country counts of the same
			// release give 11, and 11 − 10 would give darwin away.
			for _, tc := range []struct{ os, want string }{{"linux", withheld}, {"darwin", withheld}, {"linux", "25"}} {
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

// The review's leaks of the page, each as a day of check-ins: everything
// on the page comes from one release of a complete day, so the tables and
// the trend never give a withheld count away, and a day is not shown
// while it is going on.
func TestPopulationPageIsOneRelease(t *testing.T) {
	const k = 10
	withheld := "withheld"
	t.Run("signs of infection", func(t *testing.T) {
		// linux 10 contraindicated, darwin 1: the failing malware count
		// of the whole population is the contraindicated count (11), so
		// showing it beside linux's 10 would give darwin's 1 away.
		c, st, clock := newConsole(t, console.Config{MinCount: k})
		p := &pageCheckins{t: t, st: st}
		at := clock.Now().UTC().Truncate(24 * time.Hour).Add(-6 * time.Hour)
		for range 30 {
			p.add(at, "linux", health.Affirming)
		}
		for range 10 {
			p.add(at, "linux", health.Contraindicated, health.Malware)
		}
		p.add(at, "darwin", health.Contraindicated, health.Malware)
		_, body := get(t, c.Handler(), "/population", i18n.English)
		malware := cellTexts(body, `href="/learn/malware">[^<]*</a></th><td class="num">(.*?)</td>`)
		contra := cellTexts(body, `data-cell="contraindicated">(.*?)</td>`)
		linux := cellTexts(body, `<th scope="row">linux</th><td>Contraindicated</td><td class="num">(.*?)</td>`)
		darwin := cellTexts(body, `<th scope="row">darwin</th><td>Contraindicated</td><td class="num">(.*?)</td>`)
		if !slices.Equal(malware, []string{withheld}) || !slices.Equal(contra, []string{withheld}) {
			t.Errorf("signs of infection %q, contraindicated %q; want both withheld", malware, contra)
		}
		if !slices.Equal(darwin, []string{withheld}) || len(linux) != 1 {
			t.Errorf("by OS: linux %q, darwin %q", linux, darwin)
		}
		if strings.Contains(body, ">11<") {
			t.Error("11 is on the page")
		}
	})
	t.Run("trend and by OS of one day", func(t *testing.T) {
		// linux warning 12, darwin 3. Before the day is over nothing of
		// it shows; after, the trend's whole-population warning count
		// (15) is withheld with darwin's 3.
		c, st, clock := newConsole(t, console.Config{MinCount: k})
		p := &pageCheckins{t: t, st: st}
		day := clock.Now().UTC().Truncate(24 * time.Hour)
		for range 12 {
			p.add(day.Add(time.Hour), "linux", health.Warning, health.Firewall)
		}
		for range 3 {
			p.add(day.Add(time.Hour), "darwin", health.Warning, health.Firewall)
		}
		for range 40 {
			p.add(day.Add(time.Hour), "linux", health.Affirming)
		}
		clock.Add(day.Add(24*time.Hour - time.Minute).Sub(clock.Now())) // 23:59
		_, body := get(t, c.Handler(), "/population", i18n.English)
		if strings.Contains(body, ">12<") || strings.Contains(body, ">40<") {
			t.Errorf("the day is shown before it is over")
		}
		if got := cellTexts(body, `<span data-day>(.*?)</span>`); !slices.Equal(got, []string{day.AddDate(0, 0, -1).Format(time.DateOnly)}) {
			t.Errorf("the page shows %q at 23:59, want the day before", got)
		}
		clock.Add(2 * time.Minute) // 00:01 the next day
		_, body = get(t, c.Handler(), "/population", i18n.English)
		if strings.Contains(body, ">15<") {
			t.Error("the whole population's warning count 15 is shown")
		}
		trend := body[strings.Index(body, `data-table="public-trend"`):]
		row := regexp.MustCompile(`<th scope="row">` + day.Format(time.DateOnly) + `</th>(.*?)</tr>`).FindStringSubmatch(trend)
		if row == nil {
			t.Fatalf("no trend row for %s", day.Format(time.DateOnly))
		}
		cells := cellTexts(row[1], `<td[^>]*>(.*?)</td>`)
		if len(cells) < 2 || cells[0] != "40" || cells[1] != withheld {
			t.Errorf("trend row %q, want 40 affirming and warning withheld", cells)
		}
		darwin := cellTexts(body, `<th scope="row">darwin</th><td>[^<]*</td><td class="num">(.*?)</td>`)
		linux := cellTexts(body, `<th scope="row">linux</th><td>Warning</td><td class="num">(.*?)</td>`)
		if !slices.Equal(darwin, []string{withheld}) {
			t.Errorf("darwin warning %q", darwin)
		}
		if slices.Contains(linux, "12") {
			t.Errorf("linux warning 12 is shown beside the release's whole-population 15 (agent and country counts)")
		}
	})
	t.Run("epsilon", func(t *testing.T) {
		c, st, clock := newConsole(t, console.Config{MinCount: k, Epsilon: 0.5})
		p := &pageCheckins{t: t, st: st}
		at := clock.Now().UTC().Truncate(24 * time.Hour).Add(-6 * time.Hour)
		for range 200 {
			p.add(at, "linux", health.Affirming)
		}
		_, body := get(t, c.Handler(), "/population", i18n.English)
		first := cellTexts(body, `data-cell="affirming">(.*?)</td>`)
		if got := cellTexts(body, `<span data-epsilon>(.*?)</span>`); !slices.Equal(got, []string{"0.5"}) {
			t.Errorf("epsilon on the page %q", got)
		}
		// The noise is drawn once: the page says the same every time, and
		// what the day's release (kept in the store, shared with TAXII and
		// exports) says.
		for range 3 {
			_, body = get(t, c.Handler(), "/population", i18n.English)
			if got := cellTexts(body, `data-cell="affirming">(.*?)</td>`); !slices.Equal(got, first) {
				t.Fatalf("affirming %q then %q", first, got)
			}
		}
		rl := &population.Releaser{Stats: st, Records: st, MinCount: k, Epsilon: 2, Now: clock.Now}
		days, err := rl.Days(t.Context(), at, at)
		if err != nil {
			t.Fatal(err)
		}
		if days[0].Epsilon != 0.5 {
			t.Errorf("the day was released with epsilon %v", days[0].Epsilon)
		}
		for _, cl := range days[0].Table(store.AggVerdict).Counts {
			if cl.Dimension == store.DimNone && cl.Key == "affirming" && (cl.Value == nil || !slices.Equal(first, []string{strconv.FormatInt(*cl.Value, 10)})) {
				t.Errorf("page affirming %q, release %v", first, cl.Value)
			}
		}
		if _, err := console.New(console.Config{Epsilon: 1e-300, Issuer: "https://x"}, console.Deps{Store: st, Population: &population.Service{Store: st}}); err == nil {
			t.Error("an epsilon of 1e-300 is accepted")
		}
	})
}
