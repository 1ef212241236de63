package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

var _ store.Intel = (*Store)(nil)
var _ store.Sightings = (*Store)(nil)
var _ store.IndicatorFamilies = (*Store)(nil)

// sqlite numbers parameters ?1, ?2, …; the shared SQL says $1, $2, ….
func rewrite(q string) string { return strings.ReplaceAll(q, "$", "?") }

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type querier struct{ db execer }

type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqldb.ErrNoRows
	}
	return err
}

type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }

func (q querier) Exec(ctx context.Context, s string, args ...any) (int64, error) {
	res, err := q.db.ExecContext(ctx, rewrite(s), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) QueryRow(ctx context.Context, s string, args ...any) sqldb.Row {
	return row{q.db.QueryRowContext(ctx, rewrite(s), args...)}
}

func (q querier) Query(ctx context.Context, s string, args ...any) (sqldb.Rows, error) {
	r, err := q.db.QueryContext(ctx, rewrite(s), args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (querier) Time(t time.Time) any { return t.UnixMicro() }

type tx struct {
	querier
	t *sql.Tx
}

func (t tx) Commit(context.Context) error   { return t.t.Commit() }
func (t tx) Rollback(context.Context) error { return t.t.Rollback() }

type beginner struct{ db *sql.DB }

func (b beginner) Begin(ctx context.Context) (sqldb.Tx, error) {
	t, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return tx{querier{t}, t}, nil
}

func (s *Store) intel() *sqldb.IntelStore {
	return &sqldb.IntelStore{DB: beginner{s.w}, R: querier{s.r}, Name: "sqlite"}
}

// ImportIndicators implements store.Intel.
func (s *Store) ImportIndicators(ctx context.Context, now time.Time, feed func(add func(store.Indicator) error) error) (store.IndicatorImport, error) {
	return s.intel().ImportIndicators(ctx, now, feed)
}

// ExpireIndicators implements store.Intel.
func (s *Store) ExpireIndicators(ctx context.Context, now, staleBefore, forgetBefore time.Time) (int, int64, error) {
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
