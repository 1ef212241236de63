package store

import (
	"context"
	"time"
)

// FeedRun is the outcome of one attempt to import a feed.
type FeedRun struct {
	// Name is the feed's identity, the source of its indicators; URL is
	// where it was read from (a file's path for a file).
	Name, URL string
	At        time.Time
	// Err is why it failed; empty when it succeeded.
	Err string
	// Provisional is a name the same URL may have been recorded under
	// when its feed's own name could not be told (a file that could not
	// be read): a success drops that record if it holds only failures.
	Provisional string
}

// FeedRecord is what is remembered of a feed's imports.
type FeedRecord struct {
	Name, URL string
	// LastSuccess is the last successful import (zero: none);
	// LastAttempt the last import tried, successful or not.
	LastSuccess, LastAttempt time.Time
	// LastError is the last failed import's error, kept until an import
	// succeeds after it; empty otherwise.
	LastError string
}

// SourceIndicators counts the live indicators one source listed, by type.
type SourceIndicators struct {
	Source string
	ByType map[string]int64
}

// SightingSummary counts the outside sightings seen since a time, the
// devices they asked and the devices that confirmed.
type SightingSummary struct {
	Sightings, DevicesAsked, DevicesConfirmed int64
}

// FeedReports is what the console's feeds page reads, and the record of
// feed imports the scheduled refresh writes.
type FeedReports interface {
	// RecordFeedRun records a feed import's outcome.
	RecordFeedRun(ctx context.Context, r FeedRun) error
	// FeedRecords lists every feed with an import recorded, by name.
	FeedRecords(ctx context.Context) ([]FeedRecord, error)
	// IndicatorsBySource counts the live indicators by source and type,
	// sources sorted by name. An indicator several sources listed counts
	// for each of them.
	IndicatorsBySource(ctx context.Context) ([]SourceIndicators, error)
	// SightingsSince summarises the sightings seen at or after since.
	SightingsSince(ctx context.Context, since time.Time) (SightingSummary, error)
}
