package console

import (
	"context"
	"net/http"
	"sort"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
)

// LearnURL is the public page about a finding: issuer + "/learn/" + id.
func LearnURL(issuer string, id health.CheckID) string { return guide.LearnURL(issuer, id) }

// LearnEntry is a guide entry in one language.
type LearnEntry struct {
	ID    string
	Title string
	Why   string
	What  string
	Fixes []LearnFix
}

// LearnFix is how to fix it on one platform.
type LearnFix struct {
	OS, Name string
	Steps    []string
}

var platforms = []struct{ goos, name string }{{"windows", "Windows"}, {"darwin", "macOS"}, {"linux", "Linux"}}

func learnEntry(e guide.Entry, l i18n.Lang) LearnEntry {
	le := LearnEntry{ID: string(e.ID), Title: e.Title.In(l), Why: e.Why.In(l), What: guide.What(e.ID).In(l)}
	for _, pl := range platforms {
		if _, ok := e.Fix[pl.goos]; !ok {
			continue
		}
		le.Fixes = append(le.Fixes, LearnFix{OS: pl.goos, Name: pl.name, Steps: guide.Steps(e.ID, pl.goos, l)})
	}
	return le
}

func (c *Console) learnIndex(w http.ResponseWriter, r *http.Request) {
	p := c.page(w, r, "")
	p.Title, p.Nav = p.T("How to fix what herd finds", "如何修复 herd 发现的问题"), "learn"
	var es []LearnEntry
	for _, e := range guide.All() {
		es = append(es, learnEntry(e, p.Lang))
	}
	p.Data = es
	w.Header().Set("Cache-Control", "public, max-age=3600")
	c.render(w, http.StatusOK, "learn_index", p)
}

func (c *Console) learn(w http.ResponseWriter, r *http.Request) {
	e, ok := guide.For(health.CheckID(r.PathValue("id")))
	if !ok || e.ID == "" {
		c.fail(w, r, http.StatusNotFound, i18n.T("There is no guide with this name. See the list of guides at /learn/.", "没有这个指南。请在 /learn/ 查看全部指南。"))
		return
	}
	p := c.page(w, r, "")
	le := learnEntry(e, p.Lang)
	p.Title, p.Nav = le.Title, "learn"
	p.Data = le
	c.render(w, http.StatusOK, "learn", p)
}

// PublicData is the public state-of-the-population page: only cells at
// or above K, from the private export's disclosure control.
type PublicData struct {
	MinCount int64
	From, To string
	Day      string
	// Verdicts is the last day's devices by verdict (withheld under K).
	Verdicts []PublicCell
	// Failing is the last day's devices by failing check.
	Failing []PublicCell
	// ByOS is the last day's devices by OS family and verdict.
	ByOS  []PublicCell
	Trend *Chart
}

// PublicCell is one published (or withheld) count.
type PublicCell struct {
	Segment, Key, Label string
	Count               int64
	Withheld            bool
}

func (c *Console) publicData(ctx context.Context, p Page) (*PublicData, error) {
	d := &PublicData{MinCount: c.cfg.MinCount}
	if c.d.Stats == nil {
		return d, nil
	}
	now := c.now
	ex, err := population.BuildExport(ctx, c.d.Stats, population.ExportOptions{MinCount: c.cfg.MinCount, WholePopulation: true, Now: now, Since: now().UTC().AddDate(0, 0, -29)})
	if err != nil {
		return nil, err
	}
	exOS, err := population.BuildExport(ctx, c.d.Stats, population.ExportOptions{MinCount: c.cfg.MinCount, Dimension: store.DimOS, Now: now, Since: now().UTC()})
	if err != nil {
		return nil, err
	}
	d.From, d.To, d.Day = ex.From, ex.To, ex.To
	// The page shows the last day twice: by OS family and for the whole
	// population. A whole-population count is the column total of the
	// by-OS table, so it is withheld whenever that column holds a
	// withheld cell (as the export withholds the total), or it minus the
	// published cells would give the withheld ones away.
	heldKeys := map[string]bool{}
	for _, t := range exOS.Tables {
		if t.Name != string(store.AggVerdict) {
			continue
		}
		for _, cl := range t.Cells {
			if cl.Day == d.Day && cl.Count == nil {
				heldKeys[cl.Key] = true
			}
		}
	}
	for ti, t := range ex.Tables {
		if t.Name != string(store.AggVerdict) {
			continue
		}
		for ci, cl := range t.Cells {
			if cl.Day == d.Day && heldKeys[cl.Key] {
				ex.Tables[ti].Cells[ci].Count, ex.Tables[ti].Cells[ci].Suppressed = nil, true
			}
		}
	}
	cells := func(t population.Table, day string, label func(string) string) []PublicCell {
		var out []PublicCell
		for _, cl := range t.Cells {
			if cl.Day != day {
				continue
			}
			pc := PublicCell{Segment: cl.Segment, Key: cl.Key, Label: label(cl.Key), Withheld: cl.Count == nil}
			if cl.Count != nil {
				pc.Count = *cl.Count
			}
			out = append(out, pc)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
		return out
	}
	tier := func(k string) string { return tierLabel(p, k) }
	for _, t := range ex.Tables {
		switch t.Name {
		case string(store.AggVerdict):
			d.Verdicts = cells(t, d.Day, tier)
			// Trend from published cells only: a withheld cell is a gap
			// in the chart and says "withheld" in the table, never 0.
			days := []string{}
			for day := now().UTC().AddDate(0, 0, -29); !day.After(now().UTC()); day = day.AddDate(0, 0, 1) {
				days = append(days, day.Format("2006-01-02"))
			}
			idx := map[string]int{}
			for i, dd := range days {
				idx[dd] = i
			}
			var in []seriesIn
			for _, tr := range tiers {
				vs := make([]int64, len(days))
				held := make([]bool, len(days))
				for _, cl := range t.Cells {
					if cl.Key != string(tr) {
						continue
					}
					if i, ok := idx[cl.Day]; ok {
						if cl.Count == nil {
							held[i] = true
						} else {
							vs[i] = *cl.Count
						}
					}
				}
				in = append(in, seriesIn{key: string(tr), label: tierLabel(p, string(tr)), class: string(tr), values: vs, withheld: held})
			}
			ch := newChart("public-trend", p.T("Devices per day by verdict (counts under K withheld)", "每日设备数（按判定，低于 K 的计数不公布）"),
				p.T("A day with a withheld count is left blank.", "含不公布计数的日期留空。"), days, in, true)
			ch.WithheldText = p.T("withheld", "不公布")
			d.Trend = &ch
		case string(store.AggFailing):
			d.Failing = cells(t, d.Day, func(k string) string { return checkTitle(p, k) })
		}
	}
	for _, t := range exOS.Tables {
		if t.Name == string(store.AggVerdict) {
			d.ByOS = cells(t, d.Day, tier)
		}
	}
	return d, nil
}

func (c *Console) public(w http.ResponseWriter, r *http.Request) {
	p := c.page(w, r, "")
	p.Title, p.Nav = p.T("State of the population", "设备群体健康状况"), "population"
	d, err := c.publicData(r.Context(), p)
	if err != nil {
		c.internal(w, r, err)
		return
	}
	p.Data = d
	c.render(w, http.StatusOK, "public", p)
}
