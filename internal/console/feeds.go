package console

import (
	"context"
	"sort"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// ConfiguredFeed is a feed the authority refreshes on a schedule.
type ConfiguredFeed struct{ Name, URL string }

// StoreFeeds is the feeds page's data from the intelligence store: the
// configured feeds and every source that imported indicators or has an
// import recorded, and the sightings of the last SightingDays days.
type StoreFeeds struct {
	Reports    store.FeedReports
	Intel      store.Intel
	Configured []ConfiguredFeed
	// SightingDays is the sightings window (default 30).
	SightingDays int
	Now          func() time.Time
}

// FeedStatus implements Feeds.
func (s *StoreFeeds) FeedStatus(ctx context.Context) (FeedStatus, error) {
	days := s.SightingDays
	if days <= 0 {
		days = 30
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	st := FeedStatus{SightingDays: days}
	var err error
	if st.IndicatorsVersion, err = s.Intel.IndicatorsVersion(ctx); err != nil {
		return st, err
	}
	rows := map[string]*FeedRow{}
	row := func(name string) *FeedRow {
		if rows[name] == nil {
			rows[name] = &FeedRow{Name: name}
		}
		return rows[name]
	}
	for _, f := range s.Configured {
		r := row(f.Name)
		r.URL, r.Configured = f.URL, true
	}
	recs, err := s.Reports.FeedRecords(ctx)
	if err != nil {
		return st, err
	}
	for _, f := range recs {
		r := row(f.Name)
		if r.URL == "" {
			r.URL = f.URL
		}
		r.LastImport, r.LastAttempt, r.LastError = f.LastSuccess, f.LastAttempt, f.LastError
	}
	counts, err := s.Reports.IndicatorsBySource(ctx)
	if err != nil {
		return st, err
	}
	for _, c := range counts {
		r := row(c.Source)
		for t, n := range c.ByType {
			r.ByType = append(r.ByType, TypeCount{Type: t, Count: n})
			r.Indicators += n
		}
		sort.Slice(r.ByType, func(i, j int) bool {
			return r.ByType[i].Count > r.ByType[j].Count || r.ByType[i].Count == r.ByType[j].Count && r.ByType[i].Type < r.ByType[j].Type
		})
	}
	for _, r := range rows {
		st.Feeds = append(st.Feeds, *r)
	}
	sort.Slice(st.Feeds, func(i, j int) bool {
		a, b := st.Feeds[i], st.Feeds[j]
		if a.Configured != b.Configured {
			return a.Configured
		}
		return a.Name < b.Name
	})
	sum, err := s.Reports.SightingsSince(ctx, now().AddDate(0, 0, -days))
	if err != nil {
		return st, err
	}
	st.Sightings, st.DevicesAsked, st.Confirmed = sum.Sightings, sum.DevicesAsked, sum.DevicesConfirmed
	return st, nil
}
