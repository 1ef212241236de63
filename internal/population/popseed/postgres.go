package popseed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/postgres"
)

// seedKey is every seeded device's public key (never used).
var seedKey = make([]byte, 65)

// Scratch creates an empty PostgreSQL database on the server adminDSN
// names and returns its DSN and the function that drops it.
func Scratch(ctx context.Context, adminDSN string) (dsn string, drop func() error, err error) {
	u, err := url.Parse(adminDSN)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("popseed: %q is not a postgres:// URL", adminDSN)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "herd_bench_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", nil, fmt.Errorf("popseed: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		return "", nil, fmt.Errorf("popseed: create database: %w", err)
	}
	drop = func() error {
		defer admin.Close(context.Background())
		_, err := admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
		return err
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// BuildPostgres fills the empty database dsn names (its schema made by
// the store's own migrations) with the population of shape sh: the same
// population Build writes to SQLite, each cell in shard 0.
func BuildPostgres(ctx context.Context, dsn string, sh Shape) error {
	if sh.Devices == 0 {
		sh.Devices = 1_000_000
	}
	if sh.Days == 0 {
		sh.Days = 30
	}
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	stats, err := st.Stats(ctx)
	st.Close()
	if err != nil {
		return err
	}
	if stats.Devices == int64(sh.Devices) {
		return nil
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("popseed: %w", err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("popseed: %w", err)
	}
	defer tx.Rollback(ctx)
	out := &pgSink{ctx: ctx, tx: tx}
	if err := generate(sh, out); err != nil {
		return fmt.Errorf("popseed: %w", err)
	}
	if err := out.flush(); err != nil {
		return fmt.Errorf("popseed: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM pop_daily_total`,
		`INSERT INTO pop_daily_total (kind, day, key, shard, n) SELECT kind, day, key, 0, sum(n) FROM pop_daily GROUP BY kind, day, key`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("popseed: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("popseed: %w", err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("popseed: analyze: %w", err)
	}
	return nil
}

// pgSink copies rows into a PostgreSQL transaction in batches.
type pgSink struct {
	ctx          context.Context
	tx           pgx.Tx
	devs, dailys [][]any
}

const pgBatch = 20_000

var (
	deviceCols = []string{"id", "public_key", "os", "enrolled_at", "last_seen", "last_verdict", "last_policy",
		"pop_at", "pop_verdict", "pop_os", "pop_os_version", "pop_agent", "pop_country", "fail_mask"}
	dailyCols = []string{"kind", "day", "os", "os_version", "agent", "country", "key", "shard", "n"}
)

func (s *pgSink) device(id string, sg store.Segment, enrolled, seen time.Time, v health.Tier, m store.FailMask) error {
	s.devs = append(s.devs, []any{id, seedKey, sg.OS, enrolled, seen, string(v), "default", seen, string(v), sg.OS, sg.OSVersion, sg.Agent, sg.Country, int32(m)})
	if len(s.devs) == pgBatch {
		return s.flush()
	}
	return nil
}

func (s *pgSink) counter(name string, n int64) error {
	_, err := s.tx.Exec(s.ctx, `INSERT INTO counters (name, shard, n) VALUES ($1, 0, $2)
		ON CONFLICT (name, shard) DO UPDATE SET n = excluded.n`, name, n)
	return err
}

func (s *pgSink) mask(m store.FailMask, n int64) error {
	_, err := s.tx.Exec(s.ctx, `INSERT INTO pop_masks (mask, shard, n) VALUES ($1, 0, $2)`, int32(m), n)
	return err
}

func (s *pgSink) daily(kind store.AggregateKind, day string, sg store.Segment, key string, n int64) error {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return err
	}
	s.dailys = append(s.dailys, []any{string(kind), d, sg.OS, sg.OSVersion, sg.Agent, sg.Country, key, int16(0), n})
	if len(s.dailys) == pgBatch {
		return s.flush()
	}
	return nil
}

// flush copies the rows held so far.
func (s *pgSink) flush() error {
	for _, b := range []struct {
		table string
		cols  []string
		rows  *[][]any
	}{{"devices", deviceCols, &s.devs}, {"pop_daily", dailyCols, &s.dailys}} {
		if len(*b.rows) == 0 {
			continue
		}
		if _, err := s.tx.CopyFrom(s.ctx, pgx.Identifier{b.table}, b.cols, pgx.CopyFromRows(*b.rows)); err != nil {
			return fmt.Errorf("copy into %s: %w", b.table, err)
		}
		*b.rows = (*b.rows)[:0]
	}
	return nil
}
