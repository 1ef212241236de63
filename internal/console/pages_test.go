package console_test

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
)

// record checks a new device of seg in at at with a verdict, failing
// checks and (when contraindicated) a family, through the store's
// check-in path.
func record(t *testing.T, st store.Store, id string, at time.Time, seg store.Segment, v health.Tier, family string, failing ...health.CheckID) {
	t.Helper()
	if _, err := st.Device(t.Context(), id); err != nil {
		if err := st.CreateDevice(t.Context(), store.Device{ID: id, PublicKey: bytes.Repeat([]byte{7}, 32), OS: seg.OS, EnrolledAt: at.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var fs []health.Finding
	for _, f := range failing {
		fs = append(fs, health.Finding{ID: f, Status: health.Fail, Trust: health.OSReported})
	}
	if _, err := st.RecordCheckin(t.Context(), store.Checkin{DeviceID: id, ReceivedAt: at, Verdict: v, Family: family, PolicyID: "default",
		OS: seg.OS, OSVersion: seg.OSVersion, Agent: seg.Agent, Country: seg.Country, Findings: fs, Statement: []byte("x.y.z")}); err != nil {
		t.Fatal(err)
	}
}

// section cuts the element starting at the first occurrence of attr up
// to the closing tag end.
func section(t *testing.T, body, attr, end string) string {
	t.Helper()
	i := strings.Index(body, attr)
	if i < 0 {
		t.Fatalf("no %s on the page", attr)
	}
	j := strings.Index(body[i:], end)
	if j < 0 {
		t.Fatalf("%s is not closed by %s", attr, end)
	}
	return body[i : i+j]
}

// TestAlertsPage runs detection over infections recorded through the
// store and renders the alerts page: each alert shows its statistic and
// threshold, and its chart draws the detector's own alarm level day by
// day (C1 and C2: μ + 3σ; C3 and CUSUM: what the day's count had to
// exceed given the days before), with the values computed by hand (the
// series are population's TestDetectStoresSeriesAndThresholds's).
func TestAlertsPage(t *testing.T) {
	c, st, clock := newConsole(t, console.Config{})
	today := clock.Now().UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -20)
	fr := store.Segment{OS: "linux", OSVersion: "debian 12", Agent: "1.1.0", Country: "FR"}
	de := store.Segment{OS: "windows", OSVersion: "10.0.22631", Agent: "1.0.0", Country: "DE"}
	nl := store.Segment{OS: "darwin", OSVersion: "14.7", Agent: "1.2.0", Country: "NL"}
	n := 0
	infect := func(day time.Time, k int, family string, seg store.Segment) {
		for j := range k {
			n++
			record(t, st, fmt.Sprintf("dev-%03d", n), day.Add(time.Duration(j+1)*time.Minute), seg, health.Contraindicated, family, health.Malware)
		}
	}
	for i, k := range []int{1, 0, 2, 1, 0, 1, 1, 0, 2, 1, 0, 1, 1, 0, 1, 2, 0, 1, 2, 1, 2} {
		infect(from.AddDate(0, 0, i), k, "QakBot", fr)
	}
	infect(today, 10, "QakBot", de)
	// Lumma: 5 a day for the last three days in NL.
	for d := 18; d <= 20; d++ {
		infect(from.AddDate(0, 0, d), 5, "Lumma", nl)
	}
	if _, err := (&population.Service{Store: st, Now: clock.Now}).Detect(t.Context(), clock.Now()); err != nil {
		t.Fatal(err)
	}

	cl := newClient(t, c.Handler(), "192.0.2.20")
	if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	w := cl.do("GET", "/console/alerts?lang=en", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("alerts page: %d", w.Code)
	}
	body := html.UnescapeString(w.Body.String())
	day := today.Format(time.DateOnly)
	for _, tc := range []struct {
		group, detector, statistic, threshold, level string
		// first is the level on the alert's first defined day; ""
		// when the test does not look.
		firstDay, first string
	}{
		// C1 on the whole population: days 13..19 = 0,1,2,0,1,2,1, μ = 1,
		// σ = 0.816497, level μ + 3σ = 3.449490; its first level is day 7's
		// (baseline days 0..6: μ = 0.857143, σ = 0.690066): 2.927340.
		{"QakBot//" + day, population.C1, "12.47", "2.00", "3.45", from.AddDate(0, 0, 7).Format(time.DateOnly), "2.93"},
		{"QakBot//" + day, population.C2, "15.15", "2.00", "2.93", "", ""},
		// C3: the day-18 term 0.656157 lowers the level to
		// μ + (3 − 0.656157)σ = 0.857143 + 2.343843 · 0.690066 = 2.474548.
		{"QakBot//" + day, population.C3, "15.80", "2.00", "2.47", "", ""},
		// CUSUM: S on day 19 = 0.656157: μ + (4.5 − 0.656157)σ = 4.138484.
		{"QakBot//" + day, population.CUSUMDetector, "13.63", "4.00", "4.14", "", ""},
		{"QakBot/country=DE/" + day, population.C1, "19.00", "2.00", "1.50", "", ""},
		{"QakBot/os=windows/" + day, population.CUSUMDetector, "19.50", "4.00", "2.25", "", ""},
		// Lumma C2 on day 20: a baseline of zeros, level 0.5·3 = 1.5.
		{"Lumma/agent=1.2.0/" + day, population.C2, "9.00", "2.00", "1.50", "", ""},
		// Lumma C3: the C2 terms of days 18 and 19 are 9 each: the day
		// alarms whatever its count; no level is drawn on it.
		{"Lumma//" + day, population.C3, "27.00", "2.00", "any", "", ""},
	} {
		t.Run(tc.group+"/"+tc.detector, func(t *testing.T) {
			art := section(t, body, `data-alert-group="`+tc.group+`"`, "</article>")
			fam, rest, _ := strings.Cut(tc.group, "/")
			seg, _, _ := strings.Cut(rest, "/")
			key := tc.detector + "/" + fam + "/" + seg + "/" + day
			row := section(t, art, `<tr data-alert="`+key+`">`, "</tr>")
			if got := between(row, "<span data-statistic>", "<"); got != tc.statistic {
				t.Errorf("statistic %q, want %q", got, tc.statistic)
			}
			if got := between(row, "<span data-threshold>", "<"); got != tc.threshold {
				t.Errorf("threshold %q, want %q", got, tc.threshold)
			}
			if got := between(row, "<span data-level>", "<"); got != tc.level {
				t.Errorf("the row's alarm level is %q, want %q", got, tc.level)
			}
			cell := `<td data-detector="` + tc.detector + `" data-level-day="`
			if got := between(art, cell+day+`">`, "<"); got != tc.level {
				t.Errorf("the table's alarm level on %s is %q, want %q", day, got, tc.level)
			}
			point := `data-detector="` + tc.detector + `" data-day="` + day + `" data-level=`
			if tc.level == "any" {
				if !strings.Contains(row, "alarmed whatever the day's count") || strings.Contains(art, point) {
					t.Errorf("a day that alarms whatever its count is not said so, or has a level drawn:\n%s", row)
				}
				return
			}
			if !strings.Contains(art, point+`"`+tc.level+`"`) {
				t.Errorf("the chart has no %s level point %s on %s", tc.detector, tc.level, day)
			}
			if tc.firstDay != "" {
				if got := between(art, cell+tc.firstDay+`">`, "<"); got != tc.first {
					t.Errorf("the level on %s is %q, want %q", tc.firstDay, got, tc.first)
				}
				before := from.AddDate(0, 0, 6).Format(time.DateOnly)
				if got := between(art, cell+before+`">`, "<"); got != "—" {
					t.Errorf("C1 has a level on %s, before it has a baseline: %q", before, got)
				}
			}
			// The level point sits where the y axis puts its value.
			checkLevelY(t, art, tc.detector, day, tc.level)
		})
	}
	// One card per family, segment and day, holding every detector that
	// fired on it: the whole population's QakBot card has all four.
	art := section(t, body, `data-alert-group="QakBot//`+day+`"`, "</article>")
	if n := strings.Count(art, "<tr data-alert="); n != 4 {
		t.Errorf("the whole population's QakBot card lists %d detectors, want 4", n)
	}
	if n := strings.Count(body, "data-alert-group="); n != 10 {
		t.Errorf("%d cards; want 10: QakBot and Lumma, each for the whole population and the four segment values of DE or NL", n)
	}
	// The series itself is in the table, one cell per day.
	for i, want := range []string{"1", "0", "2", "1", "0", "1", "1", "0", "2", "1", "0", "1", "1", "0", "1", "2", "0", "1", "2", "1", "12"} {
		d := from.AddDate(0, 0, i).Format(time.DateOnly)
		if got := between(art, `<td data-series="incidence" data-day="`+d+`">`, "<"); got != want {
			t.Errorf("the table's count on %s is %q, want %s", d, got, want)
		}
	}
	// FR alone (2 on the last day) raised nothing.
	if strings.Contains(body, "country=FR") {
		t.Error("an alert for FR, whose last day is within its levels")
	}
	// In Chinese the words are Chinese; the numbers the same.
	zh := html.UnescapeString(cl.do("GET", "/console/alerts?lang=zh-CN", nil).Body.String())
	lumma := section(t, zh, `data-alert-group="Lumma//`+day+`"`, "</article>")
	if !strings.Contains(lumma, "<span data-level>任意</span>") || !strings.Contains(lumma, `data-level-day="`+day+`">任意<`) ||
		!strings.Contains(zh, "警报水平") || !strings.Contains(zh, "<span data-statistic>27.00</span>") {
		t.Errorf("the Chinese alerts page:\n%s", lumma)
	}
}

// between is the text after open up to the next close, "" when open is
// not in s.
func between(s, open, close string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	j := strings.Index(s, close)
	if j < 0 {
		return ""
	}
	return s[:j]
}

var (
	tickRE  = regexp.MustCompile(`<text class="tick" x="[0-9.]+" y="([0-9.]+)" text-anchor="end" dominant-baseline="middle">([0-9,]+)</text>`)
	levelRE = regexp.MustCompile(`<circle class="level" cx="[0-9.]+" cy="([0-9.]+)" r="2.5" data-detector="([a-z0-9_]+)" data-day="([0-9-]+)" data-level="([0-9.]+)">`)
)

// checkLevelY checks that detector's level point of day sits at the
// height of its value on the chart's y axis (from its first and last
// ticks).
func checkLevelY(t *testing.T, art, detector, day, level string) {
	t.Helper()
	ticks := tickRE.FindAllStringSubmatch(art, -1)
	if len(ticks) < 2 {
		t.Fatalf("no y axis ticks in the chart")
	}
	var y0, v0, y1, v1 float64
	fmt.Sscan(ticks[0][1], &y0)
	fmt.Sscan(strings.ReplaceAll(ticks[0][2], ",", ""), &v0)
	fmt.Sscan(ticks[len(ticks)-1][1], &y1)
	fmt.Sscan(strings.ReplaceAll(ticks[len(ticks)-1][2], ",", ""), &v1)
	for _, m := range levelRE.FindAllStringSubmatch(art, -1) {
		if m[2] != detector || m[3] != day {
			continue
		}
		var y, v float64
		fmt.Sscan(m[1], &y)
		fmt.Sscan(level, &v)
		want := y0 + (y1-y0)*(v-v0)/(v1-v0)
		if d := y - want; d > 1 || d < -1 {
			t.Errorf("the level %s is drawn at y=%.1f, the axis puts it at %.1f", level, y, want)
		}
		return
	}
	t.Errorf("no level point on %s", day)
}

// TestBreakdownPage renders the breakdown by OS, OS release and country
// over check-ins recorded through the store: each segment's row shows its
// devices on the last day, its verdicts, its failing checks and the
// window's new infections by family.
func TestBreakdownPage(t *testing.T) {
	c, st, clock := newConsole(t, console.Config{})
	now := clock.Now()
	win := store.Segment{OS: "windows", OSVersion: "10.0.22631", Agent: "1.0.0", Country: "DE"}
	win10 := store.Segment{OS: "windows", OSVersion: "10.0.19045", Agent: "1.0.0", Country: "FR"}
	lin := store.Segment{OS: "linux", OSVersion: "debian 12", Agent: "1.1.0", Country: "DE"}
	record(t, st, "w1", now.Add(-2*time.Hour), win, health.Affirming, "")
	record(t, st, "w2", now.Add(-2*time.Hour), win, health.Warning, "", health.Firewall)
	record(t, st, "w3", now.Add(-2*time.Hour), win10, health.Contraindicated, "QakBot", health.Malware, health.Firewall)
	record(t, st, "w4", now.AddDate(0, 0, -3), win10, health.Contraindicated, "Emotet", health.Malware) // earlier in the window
	record(t, st, "l1", now.Add(-time.Hour), lin, health.Warning, "", health.Firewall, health.OSSupport)
	record(t, st, "l2", now.Add(-time.Hour), lin, health.Affirming, "")
	record(t, st, "l3", now.Add(-time.Hour), lin, health.Affirming, "")

	cl := newClient(t, c.Handler(), "192.0.2.21")
	if code := cl.login("alice", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	type row struct {
		devices             string
		verdicts            map[string]string // tier → count in the bar
		failing, infections string
	}
	for _, tc := range []struct {
		dim  string
		rows map[string]row
		// order is the rows top to bottom: most devices first.
		order []string
	}{
		{"os", map[string]row{
			"linux":   {"3", map[string]string{"affirming": "2", "warning": "1", "contraindicated": "0"}, "Firewall 1 Supported operating system 1", ""},
			"windows": {"3", map[string]string{"affirming": "1", "warning": "1", "contraindicated": "1"}, "Firewall 2 Signs of infection 1", "Emotet 1, QakBot 1"},
		}, []string{"linux", "windows"}},
		{"os_version", map[string]row{
			"debian 12":  {"3", map[string]string{"affirming": "2", "warning": "1"}, "Firewall 1 Supported operating system 1", ""},
			"10.0.22631": {"2", map[string]string{"affirming": "1", "warning": "1", "contraindicated": "0"}, "Firewall 1", ""},
			"10.0.19045": {"1", map[string]string{"contraindicated": "1"}, "Firewall 1 Signs of infection 1", "Emotet 1, QakBot 1"},
		}, []string{"debian 12", "10.0.22631", "10.0.19045"}},
		{"country", map[string]row{
			"DE": {"5", map[string]string{"affirming": "3", "warning": "2"}, "Firewall 2 Supported operating system 1", ""},
			"FR": {"1", map[string]string{"contraindicated": "1"}, "Firewall 1 Signs of infection 1", "Emotet 1, QakBot 1"},
		}, []string{"DE", "FR"}},
	} {
		t.Run(tc.dim, func(t *testing.T) {
			w := cl.do("GET", "/console/breakdown?dim="+tc.dim+"&lang=en", nil)
			if w.Code != http.StatusOK {
				t.Fatalf("breakdown: %d", w.Code)
			}
			body := html.UnescapeString(w.Body.String())
			var order []string
			for _, m := range regexp.MustCompile(`<tr data-segment="([^"]*)">`).FindAllStringSubmatch(body, -1) {
				order = append(order, m[1])
			}
			if strings.Join(order, "|") != strings.Join(tc.order, "|") {
				t.Errorf("rows %q, want %q", order, tc.order)
			}
			for seg, want := range tc.rows {
				r := section(t, body, `<tr data-segment="`+seg+`">`, "</tr>")
				if got := between(r, `<td class="num">`, "<"); got != want.devices {
					t.Errorf("%s: %s devices, want %s", seg, got, want.devices)
				}
				for tier, n := range want.verdicts {
					if got := between(r, `data-key="`+tier+`" data-value="`, `"`); got != n {
						t.Errorf("%s: %s bar %q, want %s", seg, tier, got, n)
					}
				}
				cells := regexp.MustCompile(`<td>(.*?)</td>`).FindAllStringSubmatch(r, -1)
				if len(cells) != 2 {
					t.Fatalf("%s: %d plain cells, want failing and infections: %s", seg, len(cells), r)
				}
				failing := strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(strings.ReplaceAll(cells[0][1], "<br>", " "), ""))
				failing = strings.Join(strings.Fields(failing), " ")
				if failing != want.failing {
					t.Errorf("%s: failing %q, want %q", seg, failing, want.failing)
				}
				if cells[1][1] != want.infections {
					t.Errorf("%s: infections %q, want %q", seg, cells[1][1], want.infections)
				}
			}
		})
	}
	if w := cl.do("GET", "/console/breakdown?dim=user", nil); w.Code != http.StatusBadRequest {
		t.Errorf("an unknown dimension: %d, want 400", w.Code)
	}
}
