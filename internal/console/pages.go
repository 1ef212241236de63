package console

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
)

var tiers = []health.Tier{health.Affirming, health.Warning, health.Contraindicated}

func tierLabel(p Page, t string) string {
	switch health.Tier(t) {
	case health.Affirming:
		return p.T("Affirming", "健康")
	case health.Warning:
		return p.T("Warning", "警告")
	case health.Contraindicated:
		return p.T("Contraindicated", "禁忌（已感染）")
	case health.None:
		return p.T("None", "无")
	}
	return t
}

func checkTitle(p Page, id string) string {
	if e, ok := guide.For(health.CheckID(id)); ok {
		return e.Title.In(p.Lang)
	}
	return id
}

func daysParam(r *http.Request) int {
	if r.URL.Query().Get("days") == "90" {
		return 90
	}
	return 30
}

// OverviewData is the overview page.
type OverviewData struct {
	*population.Overview
	Days      int
	Share     Bar
	Trend     Chart
	Incidence Chart
}

// verdictChart is the stacked verdict trend of an overview.
func verdictChart(p Page, o *population.Overview) Chart {
	days := make([]string, len(o.Series))
	var in []seriesIn
	for i, d := range o.Series {
		days[i] = d.Day
	}
	for _, t := range tiers {
		vs := make([]int64, len(o.Series))
		for i, d := range o.Series {
			vs[i] = d.ByVerdict[string(t)]
		}
		in = append(in, seriesIn{key: string(t), label: tierLabel(p, string(t)), class: string(t), values: vs})
	}
	return newChart("trend", p.T("Devices checked in per day, by verdict", "每日签到设备数（按判定）"),
		p.T("Stacked areas: affirming at the bottom, then warning, then contraindicated.", "堆叠面积图：底部为健康，其上为警告，再上为禁忌。"), days, in, true)
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, p Page) {
	days := daysParam(r)
	o, err := c.d.Population.Overview(r.Context(), days)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	p.Title, p.Nav = p.T("Overview", "概览"), "overview"
	d := OverviewData{Overview: o, Days: days}
	var parts []BarPart
	for _, t := range tiers {
		parts = append(parts, BarPart{Key: string(t), Label: tierLabel(p, string(t)), Class: string(t), Count: o.ByVerdict[string(t)], Share: o.Share[string(t)]})
	}
	d.Share = newBar(p.T("Share of devices by latest verdict", "按最新判定的设备占比"), parts)
	d.Trend = verdictChart(p, o)
	days2 := make([]string, len(o.Series))
	for i, s := range o.Series {
		days2[i] = s.Day
	}
	d.Incidence = newChart("incidence", p.T("New infections per day", "每日新增感染"), p.T("Devices that turned contraindicated each day.", "每天转为禁忌状态的设备数。"),
		days2, []seriesIn{{key: "new_infections", label: p.T("New infections", "新增感染"), class: "line", values: o.NewInfections}}, false)
	p.Data = d
	c.render(w, http.StatusOK, "overview", p)
}

// BreakdownData is the breakdown page.
type BreakdownData struct {
	*population.Breakdown
	Dims []struct{ Key, Label string }
	Rows []BreakdownRow
	Days int
}

// BreakdownRow is one segment.
type BreakdownRow struct {
	population.SegmentRow
	Bar     Bar
	Failing []struct {
		ID, Title string
		Count     int64
	}
	Infections string
}

func (c *Console) breakdown(w http.ResponseWriter, r *http.Request, p Page) {
	dim := store.Dimension(r.URL.Query().Get("dim"))
	if dim == "" {
		dim = store.DimOS
	}
	days := daysParam(r)
	b, err := c.d.Population.Breakdown(r.Context(), dim, days)
	if errors.Is(err, population.ErrBadDimension) {
		c.fail(w, r, http.StatusBadRequest, i18n.T("Choose OS, OS version, agent version or country.", "请选择操作系统、系统版本、代理版本或国家/地区。"))
		return
	} else if err != nil {
		c.internal(w, r, err)
		return
	}
	p.Title, p.Nav = p.T("Breakdown by segment", "按分组细分"), "breakdown"
	d := BreakdownData{Breakdown: b, Days: days}
	d.Dims = []struct{ Key, Label string }{
		{"os", p.T("OS", "操作系统")}, {"os_version", p.T("OS version", "系统版本")},
		{"agent", p.T("Agent version", "代理版本")}, {"country", p.T("Country", "国家/地区")},
	}
	for _, s := range b.Segments {
		row := BreakdownRow{SegmentRow: s}
		var parts []BarPart
		for _, t := range tiers {
			parts = append(parts, BarPart{Key: string(t), Label: tierLabel(p, string(t)), Class: string(t), Count: s.ByVerdict[string(t)], Share: s.Share[string(t)]})
		}
		row.Bar = newBar(s.Segment, parts)
		ids := make([]string, 0, len(s.Failing))
		for id := range s.Failing {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool {
			return s.Failing[ids[i]] > s.Failing[ids[j]] || s.Failing[ids[i]] == s.Failing[ids[j]] && ids[i] < ids[j]
		})
		for _, id := range ids {
			row.Failing = append(row.Failing, struct {
				ID, Title string
				Count     int64
			}{id, checkTitle(p, id), s.Failing[id]})
		}
		var fam []string
		for f, n := range s.NewInfections {
			fam = append(fam, f+" "+thousands(n))
		}
		sort.Strings(fam)
		row.Infections = strings.Join(fam, ", ")
		d.Rows = append(d.Rows, row)
	}
	p.Data = d
	c.render(w, http.StatusOK, "breakdown", p)
}

// CohortsData is the cohorts page.
type CohortsData struct {
	Named []NamedCohort
	Expr  string
	Page  *population.CohortPage
	Error string
}

// NamedCohort is an operator-named cohort and its size.
type NamedCohort struct {
	Name, Expr string
	Count      int64
}

func (c *Console) cohorts(w http.ResponseWriter, r *http.Request, p Page) {
	p.Title, p.Nav = p.T("Cohorts", "风险群组"), "cohorts"
	d := CohortsData{Expr: r.URL.Query().Get("expr")}
	names := make([]string, 0, len(c.cfg.Cohorts))
	for n := range c.cfg.Cohorts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cp, err := c.d.Population.Cohort(r.Context(), c.cfg.Cohorts[n], "", 1)
		if err != nil {
			c.internal(w, r, err)
			return
		}
		d.Named = append(d.Named, NamedCohort{Name: n, Expr: c.cfg.Cohorts[n], Count: cp.Count})
	}
	if d.Expr != "" {
		cp, err := c.d.Population.Cohort(r.Context(), d.Expr, r.URL.Query().Get("cursor"), 100)
		if err != nil {
			d.Error = err.Error()
		} else {
			d.Page = cp
		}
	}
	p.Data = d
	c.render(w, http.StatusOK, "cohorts", p)
}

func (c *Console) cohortQuery(w http.ResponseWriter, r *http.Request, p Page) {
	http.Redirect(w, r, "/console/cohorts?expr="+url.QueryEscape(r.PostFormValue("expr")), http.StatusSeeOther)
}

// AlertGroup is the alerts of one family, segment and day: every
// detector that fired on the same series, drawn once.
type AlertGroup struct {
	Key                  string // family/segment/day
	Family, Segment, Day string
	Alerts               []AlertRow // in population.DetectorNames order
	Chart                Chart
	// Series is the daily incidence the detectors read.
	Series []population.SeriesPoint
}

// AlertRow is one detector's alert.
type AlertRow struct {
	population.AlertView
	Detail population.AlertDetail
	// Label names the detector for people.
	Label string
	// Level is the alarm level of the alert's day, recomputed from its
	// series (so alerts stored before levels were recorded show one
	// too); LevelAny: the days before alone made it alarm. HasLevel is
	// false for a detector this version does not know.
	Level              float64
	HasLevel, LevelAny bool
	levels             []float64
}

// detectorLabel names a detector for the page.
func detectorLabel(name string) string {
	switch name {
	case population.C1:
		return "EARS C1"
	case population.C2:
		return "EARS C2"
	case population.C3:
		return "EARS C3"
	case population.CUSUMDetector:
		return "CUSUM"
	}
	return name
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, p Page) {
	as, err := c.d.Population.Alerts(r.Context(), daysParam(r))
	if err != nil {
		c.internal(w, r, err)
		return
	}
	p.Title, p.Nav = p.T("Outbreak alerts", "疫情警报"), "alerts"
	p.Data = alertGroups(p, as)
	c.render(w, http.StatusOK, "alerts", p)
}

// alertGroups groups alerts by family, segment and day (newest day
// first, then family, the whole population before its segments) and
// draws each group's series once, with the alarm level of every
// detector that fired: the level is the detector's real threshold as a
// count (C1 and C2: μ + 3σ; C3 and CUSUM: what the day's count must
// exceed given the days before), so the day the series crosses a line
// is a day that detector alarms.
func alertGroups(p Page, as []population.AlertView) []*AlertGroup {
	byKey := map[string]*AlertGroup{}
	var groups []*AlertGroup
	for _, a := range as {
		row := AlertRow{AlertView: a, Label: detectorLabel(a.Detector)}
		if json.Unmarshal(a.Detail, &row.Detail) != nil {
			continue
		}
		k := a.Family + "/" + a.Segment + "/" + a.Day
		g := byKey[k]
		if g == nil {
			g = &AlertGroup{Key: k, Family: a.Family, Segment: a.Segment, Day: a.Day, Series: row.Detail.Series}
			byKey[k] = g
			groups = append(groups, g)
		}
		ys := make([]float64, len(row.Detail.Series))
		for j, s := range row.Detail.Series {
			ys[j] = float64(s.Count)
		}
		row.levels = make([]float64, len(ys))
		for j := range row.levels {
			row.levels[j] = math.NaN()
		}
		pts := population.RunDetector(a.Detector, ys)
		for _, pt := range pts {
			row.levels[pt.Index] = pt.Level
		}
		if n := len(pts); n > 0 && pts[n-1].Index == len(ys)-1 {
			row.HasLevel, row.Level, row.LevelAny = true, pts[n-1].Level, pts[n-1].Level == population.NoLevel
		}
		g.Alerts = append(g.Alerts, row)
	}
	order := map[string]int{}
	for i, n := range population.DetectorNames {
		order[n] = i
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.Day != b.Day {
			return a.Day > b.Day
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.Segment < b.Segment
	})
	for i, g := range groups {
		sort.SliceStable(g.Alerts, func(x, y int) bool { return order[g.Alerts[x].Detector] < order[g.Alerts[y].Detector] })
		days := make([]string, len(g.Series))
		vs := make([]int64, len(g.Series))
		for j, s := range g.Series {
			days[j], vs[j] = s.Day, s.Count
		}
		var lines []levelIn
		for _, a := range g.Alerts {
			if a.HasLevel && len(a.levels) == len(days) {
				lines = append(lines, levelIn{key: a.Detector, label: p.T("alarm level", "警报水平") + " " + a.Label, levels: a.levels})
			}
		}
		seg := g.Segment
		if seg == "" {
			seg = p.T("whole population", "全部设备")
		}
		g.Chart = levelChart("alerts-"+strconv.Itoa(i), p.T("New infections per day", "每日新增感染")+" — "+g.Family+" · "+seg,
			p.T("The solid line is the count of new infections; each dashed line is a detector's alarm level on that day.",
				"实线为每日新增感染数；每条虚线为某个检测器当天的警报水平。"), days,
			seriesIn{key: "incidence", label: g.Family, class: "line", values: vs}, lines)
		g.Chart.AnyText = p.T("any", "任意")
	}
	return groups
}

// DevicesData is the device search page.
type DevicesData struct {
	Query   string
	Verdict string
	Devices []store.Device
	Next    string
}

func (c *Console) devices(w http.ResponseWriter, r *http.Request, p Page) {
	q := r.URL.Query()
	d := DevicesData{Query: strings.TrimSpace(q.Get("q")), Verdict: q.Get("verdict")}
	p.Title, p.Nav = p.T("Devices", "设备"), "devices"
	switch health.Tier(d.Verdict) {
	case "", health.Affirming, health.Warning, health.Contraindicated, health.None:
	default:
		d.Verdict = ""
	}
	if d.Query != "" || d.Verdict != "" {
		ds, err := c.d.Store.ListDevices(r.Context(), store.DeviceFilter{IDPrefix: d.Query, Verdict: health.Tier(d.Verdict), After: q.Get("after"), Limit: 50})
		if err != nil {
			c.internal(w, r, err)
			return
		}
		d.Devices = ds
		if len(ds) == 50 {
			d.Next = ds[len(ds)-1].ID
		}
	}
	p.Data = d
	c.render(w, http.StatusOK, "devices", p)
}

func (c *Console) deviceQuery(w http.ResponseWriter, r *http.Request, p Page) {
	v := url.Values{}
	v.Set("q", strings.TrimSpace(r.PostFormValue("q")))
	if vd := r.PostFormValue("verdict"); vd != "" {
		v.Set("verdict", vd)
	}
	http.Redirect(w, r, "/console/devices?"+v.Encode(), http.StatusSeeOther)
}

// DeviceData is one device's page.
type DeviceData struct {
	Device   store.Device
	Latest   []FindingRow
	History  []HistoryRow
	Timeline []TimelineMark
	// Evidence is the latest statement's per-check evidence (no
	// personal data: see statementEvidence).
	Evidence []EvidenceRow
}

// FindingRow is one finding with its guide.
type FindingRow struct {
	ID, Title, Status, Trust string
}

// HistoryRow is one check-in.
type HistoryRow struct {
	At                        time.Time
	Verdict, Policy           string
	OS, OSVersion, Agent      string
	Findings                  []FindingRow
	SourceIP, Country, Family string
}

// TimelineMark is one check-in on the verdict strip, oldest left.
type TimelineMark struct {
	X       float64
	Verdict string
	Label   string
}

func (c *Console) device(w http.ResponseWriter, r *http.Request, p Page) {
	id := r.PathValue("id")
	dev, err := c.d.Store.Device(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, i18n.T("There is no device with this id.", "没有此 ID 的设备。"))
		return
	} else if err != nil {
		c.internal(w, r, err)
		return
	}
	hist, err := c.d.Store.Checkins(r.Context(), id, 100)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	p.Title, p.Nav = p.T("Device", "设备")+" "+dev.ID, "devices"
	d := DeviceData{Device: dev}
	rows := func(fs []health.Finding) []FindingRow {
		var out []FindingRow
		for _, f := range fs {
			out = append(out, FindingRow{ID: string(f.ID), Title: checkTitle(p, string(f.ID)), Status: string(f.Status), Trust: string(f.Trust)})
		}
		return out
	}
	for i, h := range hist {
		if i == 0 {
			d.Latest = rows(h.Findings)
			d.Evidence = statementEvidence(p, h.Statement)
		}
		d.History = append(d.History, HistoryRow{At: h.ReceivedAt, Verdict: string(h.Verdict), Policy: h.PolicyID, OS: h.OS, OSVersion: h.OSVersion,
			Agent: h.Agent, Findings: rows(h.Findings), SourceIP: h.SourceIP, Country: h.Country, Family: h.Family})
	}
	n := len(hist)
	for i := range n {
		h := hist[n-1-i]
		x := 4.0
		if n > 1 {
			x = 4 + 992*float64(i)/float64(n-1)
		}
		d.Timeline = append(d.Timeline, TimelineMark{X: x, Verdict: string(h.Verdict), Label: h.ReceivedAt.UTC().Format("2006-01-02 15:04") + " " + tierLabel(p, string(h.Verdict))})
	}
	p.Data = d
	c.render(w, http.StatusOK, "device", p)
}

func (c *Console) feeds(w http.ResponseWriter, r *http.Request, p Page) {
	p.Title, p.Nav = p.T("Feeds and sightings", "情报源与目击报告"), "feeds"
	var fs *FeedStatus
	if c.d.Feeds != nil {
		st, err := c.d.Feeds.FeedStatus(r.Context())
		if err != nil {
			c.internal(w, r, err)
			return
		}
		fs = &st
	}
	p.Data = fs
	c.render(w, http.StatusOK, "feeds", p)
}

func (c *Console) internal(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	c.log.Error("console", "path", r.URL.Path, "error", err)
	c.fail(w, r, http.StatusInternalServerError, i18n.T("Something went wrong on the server; it has been logged.", "服务器出错，已记录。"))
}
