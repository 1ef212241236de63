package sqldb

import (
	"context"
	"sort"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// RecordFeedRun implements store.FeedReports: a success clears the last
// error, a failure keeps the last success; a success drops a provisional
// record of the same URL that holds only failures.
func (s *IntelStore) RecordFeedRun(ctx context.Context, r store.FeedRun) error {
	var ok any
	if r.Err == "" {
		ok = r.At.UnixMicro()
	}
	err := s.withTx(ctx, func(tx Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO feed_runs (name, url, last_success, last_attempt, last_error) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET url = excluded.url, last_attempt = excluded.last_attempt, last_error = excluded.last_error,
			last_success = COALESCE(excluded.last_success, feed_runs.last_success)`,
			r.Name, r.URL, ok, r.At.UnixMicro(), r.Err); err != nil {
			return err
		}
		if r.Err == "" && r.Provisional != "" && r.Provisional != r.Name && r.URL != "" {
			if _, err := tx.Exec(ctx, `DELETE FROM feed_runs WHERE name = $1 AND url = $2 AND last_success IS NULL`, r.Provisional, r.URL); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.errf("record feed run", err)
	}
	return nil
}

// FeedRecords implements store.FeedReports.
func (s *IntelStore) FeedRecords(ctx context.Context) ([]store.FeedRecord, error) {
	rows, err := s.R.Query(ctx, `SELECT name, url, last_success, last_attempt, last_error FROM feed_runs ORDER BY name`)
	if err != nil {
		return nil, s.errf("feed records", err)
	}
	defer rows.Close()
	var out []store.FeedRecord
	for rows.Next() {
		var f store.FeedRecord
		var ok *int64
		var at int64
		if err := rows.Scan(&f.Name, &f.URL, &ok, &at, &f.LastError); err != nil {
			return nil, s.errf("feed records", err)
		}
		f.LastSuccess, f.LastAttempt = fromUS(ok), fromUS(&at)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("feed records", err)
	}
	return out, nil
}

// IndicatorsBySource implements store.FeedReports. The live set is
// grouped by its (few) distinct source lists, which are then split.
func (s *IntelStore) IndicatorsBySource(ctx context.Context) ([]store.SourceIndicators, error) {
	rows, err := s.R.Query(ctx, `SELECT sources, type, COUNT(*) FROM indicators WHERE removed_version IS NULL GROUP BY sources, type`)
	if err != nil {
		return nil, s.errf("indicators by source", err)
	}
	defer rows.Close()
	by := map[string]map[string]int64{}
	for rows.Next() {
		var sources, typ string
		var n int64
		if err := rows.Scan(&sources, &typ, &n); err != nil {
			return nil, s.errf("indicators by source", err)
		}
		for _, src := range splitSources(sources) {
			if by[src] == nil {
				by[src] = map[string]int64{}
			}
			by[src][typ] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("indicators by source", err)
	}
	out := make([]store.SourceIndicators, 0, len(by))
	for src, m := range by {
		out = append(out, store.SourceIndicators{Source: src, ByType: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out, nil
}

// SightingsSince implements store.FeedReports.
func (s *IntelStore) SightingsSince(ctx context.Context, since time.Time) (store.SightingSummary, error) {
	var sum store.SightingSummary
	t := since.UnixMicro()
	err := s.R.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM sightings WHERE seen_at >= $1),
		(SELECT COUNT(DISTINCT q.device_id) FROM sighting_questions q JOIN sightings g ON g.id = q.sighting_id WHERE g.seen_at >= $1),
		(SELECT COUNT(DISTINCT q.device_id) FROM sighting_questions q JOIN sightings g ON g.id = q.sighting_id WHERE g.seen_at >= $1 AND q.confirmed <> 0)`,
		t).Scan(&sum.Sightings, &sum.DevicesAsked, &sum.DevicesConfirmed)
	if err != nil {
		return sum, s.errf("sightings since", err)
	}
	return sum, nil
}
