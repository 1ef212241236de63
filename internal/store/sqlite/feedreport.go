package sqlite

import (
	"context"
	"time"

	"github.com/herd-health/herd/internal/store"
)

var _ store.FeedReports = (*Store)(nil)

// RecordFeedRun implements store.FeedReports.
func (s *Store) RecordFeedRun(ctx context.Context, r store.FeedRun) error {
	return s.intelWriter().RecordFeedRun(ctx, r)
}

// FeedRecords implements store.FeedReports.
func (s *Store) FeedRecords(ctx context.Context) ([]store.FeedRecord, error) {
	return s.intel().FeedRecords(ctx)
}

// IndicatorsBySource implements store.FeedReports.
func (s *Store) IndicatorsBySource(ctx context.Context) ([]store.SourceIndicators, error) {
	return s.intel().IndicatorsBySource(ctx)
}

// SightingsSince implements store.FeedReports.
func (s *Store) SightingsSince(ctx context.Context, since time.Time) (store.SightingSummary, error) {
	return s.intel().SightingsSince(ctx, since)
}
