package console

import (
	"context"
	"net/http"
	"sort"
	"time"

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

// PublicData is the public state-of-the-population page: the day
// releases every sharing channel shows (population.Releaser), for the
// last 30 complete days.
type PublicData struct {
	MinCount int64
	// Epsilon > 0: the counts carry Laplace noise.
	Epsilon  float64
	From, To string
	// Day is the last complete day (UTC), the one the tables show.
	Day string
	// Verdicts is the day's devices by verdict (withheld under K).
	Verdicts []PublicCell
	// Failing is the day's devices by failing check.
	Failing []PublicCell
	// ByOS is the day's devices by OS family and verdict.
	ByOS  []PublicCell
	Trend *Chart
}

// PublicCell is one published (or withheld) count.
type PublicCell struct {
	Segment, Key, Label string
	Count               int64
	Withheld            bool
}

// publicDays is the window of the public page.
const publicDays = 30

// releaser is the page's view of the day releases: the same K and ε as
// TAXII (the serve config's min_count and epsilon), and the same record
// of each released day, kept in the store.
func (c *Console) releaser() *population.Releaser {
	c.relOnce.Do(func() {
		recs, _ := c.d.Stats.(store.Secrets)
		c.rel = &population.Releaser{Stats: c.d.Stats, Records: recs, MinCount: c.cfg.MinCount, Epsilon: c.cfg.Epsilon, Now: c.now}
	})
	return c.rel
}

func (c *Console) publicData(ctx context.Context, p Page) (*PublicData, error) {
	d := &PublicData{MinCount: c.cfg.MinCount, Epsilon: c.cfg.Epsilon}
	if c.d.Stats == nil {
		return d, nil
	}
	rl := c.releaser()
	last := rl.LastCompleteDay()
	first := last.AddDate(0, 0, -(publicDays - 1))
	rels, err := rl.Days(ctx, first, last)
	if err != nil {
		return nil, err
	}
	d.From, d.To, d.Day = first.Format(time.DateOnly), last.Format(time.DateOnly), last.Format(time.DateOnly)
	today := rels[len(rels)-1]
	if today.Epsilon > 0 {
		d.Epsilon = today.Epsilon
	}
	cells := func(table store.AggregateKind, dim store.Dimension, label func(string) string) []PublicCell {
		t := today.Table(table)
		if t == nil {
			return nil
		}
		var out []PublicCell
		for _, cl := range t.Counts {
			if cl.Dimension != dim {
				continue
			}
			pc := PublicCell{Segment: cl.Segment, Key: cl.Key, Label: label(cl.Key), Withheld: cl.Value == nil}
			if cl.Value != nil {
				pc.Count = *cl.Value
			}
			out = append(out, pc)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
		return out
	}
	tier := func(k string) string { return tierLabel(p, k) }
	d.Verdicts = cells(store.AggVerdict, store.DimNone, tier)
	d.Failing = cells(store.AggFailing, store.DimNone, func(k string) string { return checkTitle(p, k) })
	d.ByOS = cells(store.AggVerdict, store.DimOS, tier)
	// The trend: the whole population's verdict counts of each day; a
	// withheld count is a gap in the chart and says "withheld" in the
	// table, never 0.
	days := make([]string, len(rels))
	for i, r := range rels {
		days[i] = r.Day
	}
	var in []seriesIn
	for _, tr := range tiers {
		vs := make([]int64, len(rels))
		held := make([]bool, len(rels))
		for i, r := range rels {
			t := r.Table(store.AggVerdict)
			if t == nil {
				continue
			}
			for _, cl := range t.Counts {
				if cl.Dimension != store.DimNone || cl.Key != string(tr) {
					continue
				}
				if cl.Value == nil {
					held[i] = true
				} else {
					vs[i] = *cl.Value
				}
			}
		}
		in = append(in, seriesIn{key: string(tr), label: tierLabel(p, string(tr)), class: string(tr), values: vs, withheld: held})
	}
	ch := newChart("public-trend", p.T("Devices per day by verdict (counts under K withheld)", "每日设备数（按判定，低于 K 的计数不公布）"),
		p.T("A day with a withheld count is left blank.", "含不公布计数的日期留空。"), days, in, true)
	ch.WithheldText = p.T("withheld", "不公布")
	d.Trend = &ch
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
