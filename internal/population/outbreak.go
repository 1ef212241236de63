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
	Detector  string        `json:"detector"`
	Family    string        `json:"family"`
	Segment   string        `json:"segment"` // "" for the whole population, else "os=linux"
	Day       string        `json:"day"`
	Series    []SeriesPoint `json:"series"`
	Observed  float64       `json:"observed"`
	Baseline  []float64     `json:"baseline"`
	Mean      float64       `json:"mean"`
	SD        float64       `json:"sd"`
	Statistic float64       `json:"statistic"`
	Threshold float64       `json:"threshold"`
	// Definition states the rule that fired.
	Definition string `json:"definition"`
}

// Detect runs the EARS detectors on the daily incidence of new infections
// ending on day (UTC), per malware family, for the whole population and
// per OS family, stores every alarm as an alert (once per detector,
// family, segment and day) and returns the alerts raised.
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
	byOS, err := s.Store.Aggregate(ctx, store.AggInfection, store.DimOS, from, to)
	if err != nil {
		return nil, fmt.Errorf("outbreak detection: %w", err)
	}
	for _, c := range byOS {
		add("", c.Key, c.Day, c.Count)
		add("os="+c.Segment.OS, c.Key, c.Day, c.Count)
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
		names := make([]string, 0, len(dets))
		for n := range dets {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			p := dets[name]
			if !p.Alarm {
				continue
			}
			d := AlertDetail{Detector: name, Family: k[1], Segment: k[0], Day: to.Format(time.DateOnly),
				Observed: p.Observed, Baseline: p.Baseline, Mean: p.Mean, SD: p.SD, Statistic: p.Statistic,
				Threshold: p.Threshold, Definition: p.ThresholdDef}
			for i, v := range y {
				d.Series = append(d.Series, SeriesPoint{Day: from.AddDate(0, 0, i).Format(time.DateOnly), Count: int64(v)})
			}
			body, err := json.Marshal(d)
			if err != nil {
				return nil, err
			}
			ok, err := s.Store.SaveAlert(ctx, store.Alert{Key: name + "/" + k[1] + "/" + k[0] + "/" + d.Day, Day: to,
				Detector: name, Family: k[1], Segment: k[0], CreatedAt: s.now(), Body: body})
			if err != nil {
				return nil, fmt.Errorf("outbreak detection: %w", err)
			}
			if ok && s.Logger != nil {
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
