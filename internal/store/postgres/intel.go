package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

var _ store.Intel = (*Store)(nil)
var _ store.Sightings = (*Store)(nil)
var _ store.IndicatorFamilies = (*Store)(nil)

type querier struct {
	pool *pgxpool.Pool
	tx   pgx.Tx
}

type pgconnTag = interface{ RowsAffected() int64 }

type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqldb.ErrNoRows
	}
	return err
}

func (q querier) Exec(ctx context.Context, s string, args ...any) (int64, error) {
	if q.tx != nil {
		t, err := q.tx.Exec(ctx, s, args...)
		return t.RowsAffected(), err
	}
	t, err := q.pool.Exec(ctx, s, args...)
	return t.RowsAffected(), err
}

func (q querier) QueryRow(ctx context.Context, s string, args ...any) sqldb.Row {
	if q.tx != nil {
		return row{q.tx.QueryRow(ctx, s, args...)}
	}
	return row{q.pool.QueryRow(ctx, s, args...)}
}

func (q querier) Query(ctx context.Context, s string, args ...any) (sqldb.Rows, error) {
	if q.tx != nil {
		return q.tx.Query(ctx, s, args...)
	}
	return q.pool.Query(ctx, s, args...)
}

func (querier) Time(t time.Time) any { return t }

type tx struct{ querier }

func (t tx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t tx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

type beginner struct{ pool *pgxpool.Pool }

func (b beginner) Begin(ctx context.Context) (sqldb.Tx, error) {
	t, err := b.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return tx{querier{tx: t}}, nil
}

func (s *Store) intel() *sqldb.IntelStore {
	return &sqldb.IntelStore{DB: beginner{s.pool}, R: querier{pool: s.pool}, ForUpdate: " FOR UPDATE", Name: "postgres"}
}

// ImportIndicators implements store.Intel. The version row is locked for
// the import, so imports on several nodes take turns.
func (s *Store) ImportIndicators(ctx context.Context, now time.Time, feed func(add func(store.Indicator) error) error) (store.IndicatorImport, error) {
	if err := s.ensureIntelMeta(ctx); err != nil {
		return store.IndicatorImport{}, err
	}
	return s.intel().ImportIndicators(ctx, now, feed)
}

// ensureIntelMeta creates the version row, so FOR UPDATE has a row to lock.
func (s *Store) ensureIntelMeta(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO intel_meta (name, n) VALUES ('version', 0) ON CONFLICT (name) DO NOTHING`)
	if err != nil {
		return errors.Join(errors.New("postgres: indicator version"), err)
	}
	return nil
}

// ExpireIndicators implements store.Intel.
func (s *Store) ExpireIndicators(ctx context.Context, now, staleBefore, forgetBefore time.Time) (int, int64, error) {
	if err := s.ensureIntelMeta(ctx); err != nil {
		return 0, 0, err
	}
	return s.intel().ExpireIndicators(ctx, now, staleBefore, forgetBefore)
}

// IndicatorsVersion implements store.Intel.
func (s *Store) IndicatorsVersion(ctx context.Context) (int64, error) {
	return s.intel().IndicatorsVersion(ctx)
}

// LiveIndicators implements store.Intel.
func (s *Store) LiveIndicators(ctx context.Context, types []string, fn func(store.Indicator) error) (int64, error) {
	return s.intel().LiveIndicators(ctx, types, fn)
}

// IndicatorChanges implements store.Intel.
func (s *Store) IndicatorChanges(ctx context.Context, from int64, types []string) (store.IndicatorDelta, error) {
	return s.intel().IndicatorChanges(ctx, from, types)
}

// ImportSightings implements store.Sightings.
func (s *Store) ImportSightings(ctx context.Context, now time.Time, window time.Duration, feed func(add func(store.Sighting) error) error) (store.SightingImport, error) {
	return s.intel().ImportSightings(ctx, now, window, feed)
}

// IndicatorFamily implements store.IndicatorFamilies.
func (s *Store) IndicatorFamily(ctx context.Context, typ, value string, port int) (string, error) {
	return s.intel().IndicatorFamily(ctx, typ, value, port)
}

// AddSighting implements store.Sightings.
func (s *Store) AddSighting(ctx context.Context, sg store.Sighting, window time.Duration, now time.Time) (int64, []string, error) {
	return s.intel().AddSighting(ctx, sg, window, now)
}

// OpenQuestions implements store.Sightings.
func (s *Store) OpenQuestions(ctx context.Context, deviceID string) ([]store.Question, error) {
	return s.intel().OpenQuestions(ctx, deviceID)
}

// AnswerQuestion implements store.Sightings.
func (s *Store) AnswerQuestion(ctx context.Context, deviceID string, id int64, confirmed bool, evidence string, now time.Time) error {
	return s.intel().AnswerQuestion(ctx, deviceID, id, confirmed, evidence, now)
}

// ConfirmedSince implements store.Sightings.
func (s *Store) ConfirmedSince(ctx context.Context, deviceID string, since time.Time) ([]store.Question, error) {
	return s.intel().ConfirmedSince(ctx, deviceID, since)
}
