package population

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// seriesDays is how many days of incidence a detection reads: C3 needs
// 11 (two earlier C2 terms, a two-day guard band, a 7-day baseline); a
// few more are kept in the alert for context.
const seriesDays = 21

// SeriesPoint is one day of an incidence series.
type SeriesPoint struct {
	Day   string `json:"day"`
	Count int64  `json:"count"`
}

// AlertDetail is what an alert carries: the series, the baseline, the
// statistic and the threshold that triggered it.
type AlertDetail struct {
	Detector string `json:"detector"`
	Family   string `json:"family"`
	// Segment is "" for the whole population, else one segment field
	// and its value: "os=linux", "os_version=debian 12", "agent=1.2.0",
	// "country=DE".
	Segment   string        `json:"segment"`
	Day       string        `json:"day"`
	Series    []SeriesPoint `json:"series"`
	Observed  float64       `json:"observed"`
	Baseline  []float64     `json:"baseline"`
	Mean      float64       `json:"mean"`
	SD        float64       `json:"sd"`
	Statistic float64       `json:"statistic"`
	Threshold float64       `json:"threshold"`
	// Level is the threshold as a count of new infections on Day: the
	// detector alarms when the count exceeds it (Point.Level; NoLevel
	// when the days before alone make it alarm).
	Level float64 `json:"level"`
	// Definition states the rule that fired.
	Definition string `json:"definition"`
}

// segmentDims are the segment fields detection watches besides the
// whole population, with how an alert names them.
var segmentDims = []struct {
	name  string
	value func(store.Segment) string
}{
	{"os", func(s store.Segment) string { return s.OS }},
	{"os_version", func(s store.Segment) string { return s.OSVersion }},
	{"agent", func(s store.Segment) string { return s.Agent }},
	{"country", func(s store.Segment) string { return s.Country }},
}

// Detect runs every detector (EARS C1, C2, C3 and CUSUM) on the daily
// incidence of new infections ending on day (UTC), per malware family,
// for the whole population and for each segment (every value of the OS
// family, OS release, agent build and country) that had a new infection
// of that family in the window: the aggregates hold only non-zero cells,
// so the number of series is bounded by where infections were, never by
// the number of segments. An unknown segment value ("" — no GeoIP
// database, say) is left to the whole-population series. Every alarm is
// stored as an alert (once per detector, family, segment and day); the
// alerts raised are returned, ordered by family, segment and detector.
func (s *Service) Detect(ctx context.Context, day time.Time) ([]AlertDetail, error) {
	to := day.UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, 0, -(seriesDays - 1))
	series := map[[2]string][]float64{} // (segment, family) → counts
	add := func(seg, fam string, d time.Time, n int64) {
		k := [2]string{seg, fam}
		if series[k] == nil {
			series[k] = make([]float64, seriesDays)
		}
		series[k][dayIndex(from, d)] += float64(n)
	}
	cells, err := s.Store.Aggregate(ctx, store.AggInfection, store.DimAll, from, to)
	if err != nil {
		return nil, fmt.Errorf("outbreak detection: %w", err)
	}
	for _, c := range cells {
		add("", c.Key, c.Day, c.Count)
		for _, d := range segmentDims {
			if v := d.value(c.Segment); v != "" {
				add(d.name+"="+v, c.Key, c.Day, c.Count)
			}
		}
	}
	keys := make([][2]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][1] != keys[j][1] {
			return keys[i][1] < keys[j][1]
		}
		return keys[i][0] < keys[j][0]
	})
	var raised []AlertDetail
	for _, k := range keys {
		y := series[k]
		dets := Detectors(y)
		for _, name := range DetectorNames {
			p, ok := dets[name]
			if !ok || !p.Alarm {
				continue
			}
			d := AlertDetail{Detector: name, Family: k[1], Segment: k[0], Day: to.Format(time.DateOnly),
				Observed: p.Observed, Baseline: p.Baseline, Mean: p.Mean, SD: p.SD, Statistic: p.Statistic,
				Threshold: p.Threshold, Level: p.Level, Definition: p.ThresholdDef}
			for i, v := range y {
				d.Series = append(d.Series, SeriesPoint{Day: from.AddDate(0, 0, i).Format(time.DateOnly), Count: int64(v)})
			}
			body, err := json.Marshal(d)
			if err != nil {
				return nil, err
			}
			saved, err := s.Store.SaveAlert(ctx, store.Alert{Key: name + "/" + k[1] + "/" + k[0] + "/" + d.Day, Day: to,
				Detector: name, Family: k[1], Segment: k[0], CreatedAt: s.now(), Body: body})
			if err != nil {
				return nil, fmt.Errorf("outbreak detection: %w", err)
			}
			if saved && s.Logger != nil {
				s.Logger.Warn("outbreak alert", "detector", name, "family", k[1], "segment", k[0], "day", d.Day,
					"observed", p.Observed, "statistic", p.Statistic, "threshold", p.Threshold)
			}
			raised = append(raised, d)
		}
	}
	return raised, nil
}

// RunDaily runs Detect for the previous day (the last complete one) and
// then for today so far, at start and every interval, until ctx ends.
func (s *Service) RunDaily(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	for {
		now := s.now()
		run := true
		if s.Lease != nil {
			ok, err := s.Lease(ctx, now.Truncate(interval))
			if err != nil && s.Logger != nil && ctx.Err() == nil {
				s.Logger.Error("outbreak detection lease", "err", err)
			}
			run = ok && err == nil
		}
		for _, d := range []time.Time{now.AddDate(0, 0, -1), now} {
			if !run || ctx.Err() != nil {
				break
			}
			if _, err := s.Detect(ctx, d); err != nil && s.Logger != nil && ctx.Err() == nil {
				s.Logger.Error("outbreak detection", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
