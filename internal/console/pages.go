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

// AlertRow is one alert with its series drawn.
type AlertRow struct {
	population.AlertView
	Detail population.AlertDetail
	Chart  Chart
	// Level is the alarm level of the alert's day, recomputed from its
	// series (so alerts stored before levels were recorded show one
	// too); LevelAny: the days before alone made it alarm. HasLevel is
	// false for a detector this version does not know.
	Level              float64
	HasLevel, LevelAny bool
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, p Page) {
	as, err := c.d.Population.Alerts(r.Context(), daysParam(r))
	if err != nil {
		c.internal(w, r, err)
		return
	}
	p.Title, p.Nav = p.T("Outbreak alerts", "疫情警报"), "alerts"
	var rows []AlertRow
	for i, a := range as {
		row := AlertRow{AlertView: a}
		if json.Unmarshal(a.Detail, &row.Detail) == nil && len(row.Detail.Series) > 0 {
			row.Chart = alertChart(p, "alert-"+strconv.Itoa(i), a, &row)
		}
		rows = append(rows, row)
	}
	p.Data = rows
	c.render(w, http.StatusOK, "alerts", p)
}

// alertChart draws an alert's series with its detector's alarm level on
// every day the detector is defined: the level is the detector's real
// threshold as a count (C1 and C2: μ + 3σ; C3 and CUSUM: what the day's
// count must exceed given the days before), so the day the series
// crosses it is the day it alarmed.
func alertChart(p Page, id string, a population.AlertView, row *AlertRow) Chart {
	d := row.Detail
	days := make([]string, len(d.Series))
	vs := make([]int64, len(d.Series))
	ys := make([]float64, len(d.Series))
	for j, s := range d.Series {
		days[j], vs[j], ys[j] = s.Day, s.Count, float64(s.Count)
	}
	levels := make([]float64, len(ys))
	for j := range levels {
		levels[j] = math.NaN()
	}
	pts := population.RunDetector(d.Detector, ys)
	for _, pt := range pts {
		levels[pt.Index] = pt.Level
	}
	last := len(ys) - 1
	if n := len(pts); n > 0 && pts[n-1].Index == last {
		row.HasLevel, row.Level, row.LevelAny = true, pts[n-1].Level, pts[n-1].Level == population.NoLevel
	}
	series := seriesIn{key: "incidence", label: a.Family, class: "line", values: vs}
	title := p.T("New infections per day", "每日新增感染") + " — " + a.Family
	if !row.HasLevel {
		return newChart(id, title, d.Definition, days, []seriesIn{series}, false)
	}
	mark := p.T("alarm level", "警报水平") + " " + d.Day + ": "
	if row.LevelAny {
		mark += p.T("any count", "任意计数")
	} else {
		mark += f2(row.Level)
	}
	return levelChart(id, title, d.Definition, days, series, p.T("alarm level", "警报水平"), levels, last, mark)
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
