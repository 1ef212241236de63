package population

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// Store is what the population service reads: the aggregates and the
// population counters.
type Store interface {
	store.PopulationStats
	Stats(ctx context.Context) (store.Stats, error)
}

// Service answers the console's questions and runs outbreak detection.
type Service struct {
	Store Store
	// Now gives the time; nil means time.Now.
	Now func() time.Time
	// Logger; nil logs nothing.
	Logger *slog.Logger
	// Lease, when set, is asked before each detection run of RunDaily
	// with the run's slot (the time truncated to the interval); the run
	// happens only when it reports true, so of several nodes over one
	// store only the lease holder detects.
	Lease func(ctx context.Context, slot time.Time) (bool, error)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Verdicts in the order the console shows them.
var verdicts = []health.Tier{health.Affirming, health.Warning, health.Contraindicated, health.None}

// DayVerdicts is one day of the population trend: devices that checked
// in that day, by their latest verdict that day.
type DayVerdicts struct {
	Day       string           `json:"day"` // YYYY-MM-DD
	Total     int64            `json:"total"`
	ByVerdict map[string]int64 `json:"by_verdict"`
}

// Overview is the console's front page.
type Overview struct {
	// Population is the number of enrolled devices.
	Population int64 `json:"population"`
	Checkins   int64 `json:"checkins"`
	// ByVerdict counts devices by their latest verdict (any day); Share
	// is the same as fractions of the devices that have a verdict.
	ByVerdict map[string]int64   `json:"by_verdict"`
	Share     map[string]float64 `json:"share"`
	// Series has one entry per day of the window, oldest first, zeros
	// included.
	Series []DayVerdicts `json:"series"`
	// NewInfections is the daily incidence of new infections, all
	// families, aligned with Series.
	NewInfections []int64 `json:"new_infections"`
	From          string  `json:"from"`
	To            string  `json:"to"`
}

// window is the days [today−days+1, today].
func (s *Service) window(days int) (from, to time.Time, err error) {
	if days < 1 || days > 400 {
		return from, to, fmt.Errorf("%w: days must be between 1 and 400, got %d", ErrBadParameter, days)
	}
	to = s.now().Truncate(24 * time.Hour)
	return to.AddDate(0, 0, -(days - 1)), to, nil
}

func dayIndex(from time.Time, day time.Time) int { return int(day.Sub(from) / (24 * time.Hour)) }

// Overview summarizes the population over the last days days.
func (s *Service) Overview(ctx context.Context, days int) (*Overview, error) {
	from, to, err := s.window(days)
	if err != nil {
		return nil, err
	}
	st, err := s.Store.Stats(ctx)
	if err != nil {
		return nil, err
	}
	o := &Overview{Population: st.Devices, Checkins: st.Checkins, ByVerdict: map[string]int64{}, Share: map[string]float64{},
		From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	var withVerdict int64
	for _, v := range verdicts {
		o.ByVerdict[string(v)] = st.ByVerdict[v]
		withVerdict += st.ByVerdict[v]
	}
	for _, v := range verdicts {
		if withVerdict > 0 {
			o.Share[string(v)] = float64(st.ByVerdict[v]) / float64(withVerdict)
		} else {
			o.Share[string(v)] = 0
		}
	}
	o.Series = make([]DayVerdicts, days)
	o.NewInfections = make([]int64, days)
	for i := range o.Series {
		o.Series[i] = DayVerdicts{Day: from.AddDate(0, 0, i).Format(time.DateOnly), ByVerdict: map[string]int64{}}
		for _, v := range verdicts {
			o.Series[i].ByVerdict[string(v)] = 0
		}
	}
	cells, err := s.Store.Aggregate(ctx, store.AggVerdict, store.DimNone, from, to)
	if err != nil {
		return nil, err
	}
	for _, c := range cells {
		i := dayIndex(from, c.Day)
		o.Series[i].ByVerdict[c.Key] += c.Count
		o.Series[i].Total += c.Count
	}
	inf, err := s.Store.Aggregate(ctx, store.AggInfection, store.DimNone, from, to)
	if err != nil {
		return nil, err
	}
	for _, c := range inf {
		o.NewInfections[dayIndex(from, c.Day)] += c.Count
	}
	return o, nil
}

// SegmentRow is one segment of a breakdown.
type SegmentRow struct {
	Segment string `json:"segment"` // the value of the dimension ("" when unknown)
	// Latest is the segment on the last day of the window: devices by
	// verdict and by failing check, and the share of each verdict.
	Devices   int64              `json:"devices"`
	ByVerdict map[string]int64   `json:"by_verdict"`
	Share     map[string]float64 `json:"share"`
	Failing   map[string]int64   `json:"failing"`
	// NewInfections sums the window's new infections by family.
	NewInfections map[string]int64 `json:"new_infections"`
	// Series is devices per day (all verdicts) and contraindicated per
	// day, oldest first.
	Series          []int64 `json:"series"`
	Contraindicated []int64 `json:"contraindicated_series"`
}

// Breakdown is the population split by one segment dimension.
type Breakdown struct {
	Dimension string       `json:"dimension"`
	From      string       `json:"from"`
	To        string       `json:"to"`
	Segments  []SegmentRow `json:"segments"` // most devices first
}

func segValue(dim store.Dimension, s store.Segment) string {
	switch dim {
	case store.DimOS:
		return s.OS
	case store.DimOSVersion:
		return s.OSVersion
	case store.DimAgent:
		return s.Agent
	case store.DimCountry:
		return s.Country
	}
	return ""
}

// ErrBadDimension is returned for a dimension a breakdown cannot use.
var ErrBadDimension = fmt.Errorf("%w: dimension must be os, os_version, agent or country", ErrBadParameter)

// ErrBadParameter is wrapped by the errors about a request's parameters
// (as opposed to errors reading the store).
var ErrBadParameter = errors.New("bad parameter")

// Breakdown splits the population over the last days days by dim.
func (s *Service) Breakdown(ctx context.Context, dim store.Dimension, days int) (*Breakdown, error) {
	switch dim {
	case store.DimOS, store.DimOSVersion, store.DimAgent, store.DimCountry:
	default:
		return nil, ErrBadDimension
	}
	from, to, err := s.window(days)
	if err != nil {
		return nil, err
	}
	rows := map[string]*SegmentRow{}
	row := func(seg store.Segment) *SegmentRow {
		k := segValue(dim, seg)
		r := rows[k]
		if r == nil {
			r = &SegmentRow{Segment: k, ByVerdict: map[string]int64{}, Share: map[string]float64{}, Failing: map[string]int64{},
				NewInfections: map[string]int64{}, Series: make([]int64, days), Contraindicated: make([]int64, days)}
			rows[k] = r
		}
		return r
	}
	last := days - 1
	vc, err := s.Store.Aggregate(ctx, store.AggVerdict, dim, from, to)
	if err != nil {
		return nil, err
	}
	for _, c := range vc {
		r, i := row(c.Segment), dayIndex(from, c.Day)
		r.Series[i] += c.Count
		if c.Key == string(health.Contraindicated) {
			r.Contraindicated[i] += c.Count
		}
		if i == last {
			r.ByVerdict[c.Key] += c.Count
			r.Devices += c.Count
		}
	}
	fc, err := s.Store.Aggregate(ctx, store.AggFailing, dim, to, to)
	if err != nil {
		return nil, err
	}
	for _, c := range fc {
		row(c.Segment).Failing[c.Key] += c.Count
	}
	ic, err := s.Store.Aggregate(ctx, store.AggInfection, dim, from, to)
	if err != nil {
		return nil, err
	}
	for _, c := range ic {
		row(c.Segment).NewInfections[c.Key] += c.Count
	}
	b := &Breakdown{Dimension: string(dim), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Segments: []SegmentRow{}}
	for _, r := range rows {
		for _, v := range verdicts {
			if r.Devices > 0 {
				r.Share[string(v)] = float64(r.ByVerdict[string(v)]) / float64(r.Devices)
			}
		}
		b.Segments = append(b.Segments, *r)
	}
	sort.Slice(b.Segments, func(i, j int) bool {
		if b.Segments[i].Devices != b.Segments[j].Devices {
			return b.Segments[i].Devices > b.Segments[j].Devices
		}
		return b.Segments[i].Segment < b.Segments[j].Segment
	})
	return b, nil
}

// CohortDevice is one listed member of a cohort.
type CohortDevice struct {
	ID          string    `json:"id"`
	OS          string    `json:"os"`
	OSVersion   string    `json:"os_version"`
	Agent       string    `json:"agent"`
	Country     string    `json:"country,omitempty"`
	LastSeen    time.Time `json:"last_seen"`
	LastVerdict string    `json:"last_verdict"`
	Failing     []string  `json:"failing"`
}

// CohortPage is a cohort's size and one page of its members.
type CohortPage struct {
	Expression string         `json:"expression"`
	Count      int64          `json:"count"`
	Devices    []CohortDevice `json:"devices"`
	// Next is the cursor for the following page; "" on the last.
	Next string `json:"next,omitempty"`
}

// Cohort counts the devices matching expr (see CohortMasks) and lists up
// to limit of them after cursor ("" for the first page), ordered by
// failing set then id.
func (s *Service) Cohort(ctx context.Context, expr, cursor string, limit int) (*CohortPage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	masks, err := CohortMasks(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadParameter, err)
	}
	counts, err := s.Store.FailMasks(ctx)
	if err != nil {
		return nil, err
	}
	p := &CohortPage{Expression: expr, Devices: []CohortDevice{}}
	for _, m := range masks {
		p.Count += counts[m]
	}
	startMask, afterID := store.FailMask(0), ""
	if cursor != "" {
		var m int
		ms, id, ok := strings.Cut(cursor, ":")
		if _, err := fmt.Sscanf(ms, "%d", &m); !ok || err != nil || m < 0 || m >= 1<<len(health.CheckIDs) {
			return nil, fmt.Errorf("%w: cursor %q is not one this API gave", ErrBadParameter, cursor)
		}
		startMask, afterID = store.FailMask(m), id
	}
	for _, m := range masks {
		if m < startMask || counts[m] == 0 {
			continue
		}
		after := ""
		if m == startMask {
			after = afterID
		}
		need := limit - len(p.Devices)
		ds, err := s.Store.DevicesWithFailMask(ctx, m, after, need+1)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if len(p.Devices) == limit {
				// One more exists: the next page starts after the last listed.
				last := p.Devices[len(p.Devices)-1]
				p.Next = fmt.Sprintf("%d:%s", maskOf(last.Failing), last.ID)
				return p, nil
			}
			var failing []string
			for _, id := range d.Failing.Checks() {
				failing = append(failing, string(id))
			}
			p.Devices = append(p.Devices, CohortDevice{ID: d.ID, OS: d.Segment.OS, OSVersion: d.Segment.OSVersion, Agent: d.Segment.Agent,
				Country: d.Segment.Country, LastSeen: d.LastSeen, LastVerdict: string(d.LastVerdict), Failing: failing})
		}
	}
	return p, nil
}

func maskOf(ids []string) store.FailMask {
	fs := make([]health.Finding, len(ids))
	for i, id := range ids {
		fs[i] = health.Finding{ID: health.CheckID(id), Status: health.Fail}
	}
	return store.FailMaskOf(fs)
}

// AlertView is a stored alert as the console shows it.
type AlertView struct {
	Key       string          `json:"key"`
	Day       string          `json:"day"`
	Detector  string          `json:"detector"`
	Family    string          `json:"family"`
	Segment   string          `json:"segment"`
	CreatedAt time.Time       `json:"created_at"`
	Detail    json.RawMessage `json:"detail"`
}

// Alerts lists the outbreak alerts of the last days days, newest first.
func (s *Service) Alerts(ctx context.Context, days int) ([]AlertView, error) {
	from, to, err := s.window(days)
	if err != nil {
		return nil, err
	}
	return s.AlertsBetween(ctx, from, to)
}

// AlertsBetween lists the outbreak alerts of the days from..to (UTC,
// inclusive), newest day first.
func (s *Service) AlertsBetween(ctx context.Context, from, to time.Time) ([]AlertView, error) {
	as, err := s.Store.Alerts(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]AlertView, 0, len(as))
	for _, a := range as {
		out = append(out, AlertView{Key: a.Key, Day: a.Day.Format(time.DateOnly), Detector: a.Detector, Family: a.Family,
			Segment: a.Segment, CreatedAt: a.CreatedAt, Detail: json.RawMessage(a.Body)})
	}
	return out, nil
}
