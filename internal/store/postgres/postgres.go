// Package postgres is the authority's store for several nodes: PostgreSQL
// through a pgx connection pool.
//
// pgxpool is used directly rather than database/sql: it speaks the binary
// protocol, caches a prepared statement per connection for every query
// text (so the hot statements are parsed and planned once per
// connection), and avoids database/sql's extra layer. Check-ins that
// arrive together are written in one transaction of two round trips
// (groupcommit.go).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// shards is how many rows each hot aggregate is spread over. Each pooled
// connection writes to its own shard (the session setting herd.shard, set
// when it connects), so one node's concurrent check-ins never wait on
// each other's aggregate rows; nodes start at random offsets.
const shards = 64

// shardExpr is the connection's shard, in SQL.
const shardExpr = `COALESCE(NULLIF(current_setting('herd.shard', true), '')::smallint, 0)`

// migrationLock is the advisory lock key held while migrating, so nodes
// starting together apply each migration once.
const migrationLock int64 = 0x68657264_6d696772 // "herdmigr"

// Store is a store.Store kept in PostgreSQL.
type Store struct {
	pool  *pgxpool.Pool
	batch *batcher // groupcommit.go
}

var _ store.Store = (*Store)(nil)
var _ store.Population = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; pool settings such as pool_max_conns are honoured) and brings
// its schema up to date. Tables are created in the first schema of the
// connection's search_path.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, false)
}

// ErrNoSchema: OpenExisting found no herd schema in the database.
var ErrNoSchema = errors.New("the database holds no herd schema")

// OpenExisting is Open for a database that `herd serve` has made: one
// without herd's schema is ErrNoSchema, and nothing is created in it.
func OpenExisting(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, true)
}

func open(ctx context.Context, dsn string, existing bool) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// Commits wait on the WAL flush; more connections in flight let
		// PostgreSQL flush many commits at once.
		cfg.MaxConns = 16
	}
	var next atomic.Int64
	next.Store(rand.Int64N(shards))
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		k := next.Add(1) % shards
		_, err := c.Exec(ctx, `SELECT set_config('herd.shard', $1, false)`, strconv.FormatInt(k, 10))
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool}
	if existing {
		var found bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&found); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: connect: %w", err)
		}
		if !found {
			pool.Close()
			return nil, ErrNoSchema
		}
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.batch = newBatcher(s)
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqldb.Migrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	// Every embedded migration not yet recorded is applied, in order: a
	// migration numbered below the highest applied one (merged from a
	// branch after a later one shipped) is not skipped.
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	applied, current := map[int]bool{}, 0
	for _, v := range versions {
		applied[int(v)], current = true, max(current, int(v))
	}
	if len(ms) > 0 && current > ms[len(ms)-1].Version {
		return fmt.Errorf("postgres: database schema version %d is newer than this program knows (%d)", current, ms[len(ms)-1].Version)
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Close closes every connection.
func (s *Store) Close() error {
	if s.batch != nil {
		s.batch.close()
	}
	s.pool.Close()
	return nil
}

// ts is t as a query argument: NULL for the zero time.
func ts(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

func fromTS(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CreateNonce stores a challenge value; ErrConflict if it exists.
func (s *Store) CreateNonce(ctx context.Context, value string, expires time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO nonces (value, expires_at) VALUES ($1, $2) ON CONFLICT (value) DO NOTHING`, value, expires)
	if err != nil {
		return fmt.Errorf("postgres: create nonce: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("nonce: %w", store.ErrConflict)
	}
	return nil
}

// ConsumeNonce uses a nonce up, as store.Nonces describes. Concurrent
// consumers of one nonce race on one row delete: exactly one gets the row.
func (s *Store) ConsumeNonce(ctx context.Context, value string, now time.Time) error {
	var exp time.Time
	err := s.pool.QueryRow(ctx, `DELETE FROM nonces WHERE value = $1 RETURNING expires_at`, value).Scan(&exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNonceUnknown
	}
	if err != nil {
		return fmt.Errorf("postgres: consume nonce: %w", err)
	}
	if now.Truncate(time.Microsecond).After(exp) {
		return store.ErrNonceExpired
	}
	return nil
}

// DeleteExpiredNonces removes nonces that expired before now, stored
// challenges never used and used nonces alike, and says how many.
func (s *Store) DeleteExpiredNonces(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM nonces WHERE expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired nonces: %w", err)
	}
	used, err := s.pool.Exec(ctx, `DELETE FROM used_nonces WHERE expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired used nonces: %w", err)
	}
	return tag.RowsAffected() + used.RowsAffected(), nil
}

const createDevice = `
WITH ins AS (
	INSERT INTO devices (id, public_key, os, enrolled_at, last_seen, last_verdict, last_policy)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (id) DO NOTHING
	RETURNING last_verdict
), cnt AS (
	INSERT INTO counters (name, shard, n)
	SELECT x.name, ` + shardExpr + `, 1
	FROM ins CROSS JOIN LATERAL (VALUES ('devices'), ('verdict:' || ins.last_verdict)) AS x (name)
	WHERE x.name = 'devices' OR ins.last_verdict <> ''
	ON CONFLICT (name, shard) DO UPDATE SET n = counters.n + excluded.n
)
SELECT count(*) FROM ins`

// CreateDevice enrolls d; ErrConflict when its id exists.
func (s *Store) CreateDevice(ctx context.Context, d store.Device) error {
	if d.ID == "" {
		return errors.New("postgres: create device: empty id")
	}
	var n int
	err := s.pool.QueryRow(ctx, createDevice,
		d.ID, nonNil(d.PublicKey), d.OS, d.EnrolledAt, ts(d.LastSeen), string(d.LastVerdict), d.LastPolicy,
	).Scan(&n)
	if err != nil {
		return fmt.Errorf("postgres: create device: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("device %s: %w", d.ID, store.ErrConflict)
	}
	return nil
}

// Device returns one device; ErrNotFound when absent.
func (s *Store) Device(ctx context.Context, id string) (store.Device, error) {
	var (
		d        store.Device
		enrolled time.Time
		seen     pgtype.Timestamptz
		verdict  string
	)
	err := s.pool.QueryRow(ctx, `SELECT id, public_key, os, enrolled_at, last_seen, last_verdict, last_policy FROM devices WHERE id = $1`, id).
		Scan(&d.ID, &d.PublicKey, &d.OS, &enrolled, &seen, &verdict, &d.LastPolicy)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Device{}, fmt.Errorf("device %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("postgres: device: %w", err)
	}
	d.EnrolledAt = enrolled.UTC()
	d.LastSeen = fromTS(seen)
	d.LastVerdict = health.Tier(verdict)
	return d, nil
}

// recordCheckin does all of a check-in in one statement. prev locks the
// device row, so the previous verdict it reads is the one this check-in
// replaces even when check-ins of one device race. When the device does
// not exist prev is empty and so is every insert that selects from it.
// The check-in's writes to the device row (its latest state, latest
// nonce and population state), the history, the daily cells and the
// counters; recordCheckin has locked and read the row first.
const (
	updateDeviceSQL = `UPDATE devices SET last_seen = $2, last_verdict = $3, last_policy = $4, nonce_at = $5, nonce_random = $6,
		pop_at = $7, pop_verdict = $8, pop_os = $9, pop_os_version = $10, pop_agent = $11, pop_country = $12, fail_mask = $13, pop_infected_day = $14
		WHERE id = $1`
	insertCheckinSQL = `INSERT INTO checkins (device_id, received_at, verdict, policy_id, findings, os, os_version, agent, statement, source_ip)
		VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10) RETURNING id`
	dailySQL = `INSERT INTO checkin_daily (day, verdict, os, shard, n)
		VALUES (($1::timestamptz AT TIME ZONE 'UTC')::date, $2, $3, ` + shardExpr + `, 1)
		ON CONFLICT (day, verdict, os, shard) DO UPDATE SET n = checkin_daily.n + 1`
	countersSQL = `INSERT INTO counters (name, shard, n) VALUES ($1, ` + shardExpr + `, $2)
		ON CONFLICT (name, shard) DO UPDATE SET n = counters.n + excluded.n`
)

// RecordCheckin appends c, uses its nonce, records its certificates and
// events and updates the device's latest state, the daily aggregates and
// the counters, atomically, in two round trips (challenges.go).
func (s *Store) RecordCheckin(ctx context.Context, c store.Checkin) (int64, error) {
	if c.ReceivedAt.IsZero() {
		return 0, errors.New("postgres: record check-in: no receive time")
	}
	findings, err := sqldb.EncodeFindings(c.Findings)
	if err != nil {
		return 0, err
	}
	if len(c.NonceKey) > 0 {
		return s.recordCheckin(ctx, c, findings)
	}
	return s.batch.record(ctx, c, findings)
}

// Checkins returns a device's history, newest first, at most limit.
func (s *Store) Checkins(ctx context.Context, deviceID string, limit int) ([]store.Checkin, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, device_id, received_at, verdict, policy_id, findings::text, os, os_version, agent, statement, source_ip
		FROM checkins WHERE device_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2`, deviceID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: check-ins: %w", err)
	}
	defer rows.Close()
	var out []store.Checkin
	for rows.Next() {
		var (
			c        store.Checkin
			verdict  string
			findings string
		)
		if err := rows.Scan(&c.ID, &c.DeviceID, &c.ReceivedAt, &verdict, &c.PolicyID, &findings, &c.OS, &c.OSVersion, &c.Agent, &c.Statement, &c.SourceIP); err != nil {
			return nil, fmt.Errorf("postgres: check-ins: %w", err)
		}
		c.ReceivedAt = c.ReceivedAt.UTC()
		c.Verdict = health.Tier(verdict)
		if c.Findings, err = sqldb.DecodeFindings(findings); err != nil {
			return nil, fmt.Errorf("postgres: check-in %d: %w", c.ID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: check-ins: %w", err)
	}
	return out, nil
}

// AddSigningKey stores k; ErrConflict when its kid exists.
func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (kid, alg, private_key, public_key, created_at, retired_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kid) DO NOTHING`,
		k.KID, k.Alg, nonNil(k.Private), nonNil(k.Public), k.CreatedAt, ts(k.RetiredAt))
	if err != nil {
		return fmt.Errorf("postgres: add signing key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("signing key %s: %w", k.KID, store.ErrConflict)
	}
	return nil
}

// SigningKeys lists every key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT kid, alg, private_key, public_key, created_at, retired_at
		FROM signing_keys ORDER BY created_at, seq`)
	if err != nil {
		return nil, fmt.Errorf("postgres: signing keys: %w", err)
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var (
			k       store.SigningKey
			retired pgtype.Timestamptz
		)
		if err := rows.Scan(&k.KID, &k.Alg, &k.Private, &k.Public, &k.CreatedAt, &retired); err != nil {
			return nil, fmt.Errorf("postgres: signing keys: %w", err)
		}
		k.CreatedAt = k.CreatedAt.UTC()
		k.RetiredAt = fromTS(retired)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: signing keys: %w", err)
	}
	return out, nil
}

// Secret returns the named secret, storing make() first if there is none.
// Concurrent makers race on one insert; every caller then reads the
// winner's value.
func (s *Store) Secret(ctx context.Context, name string, make func() []byte) ([]byte, error) {
	const get = `SELECT value FROM secrets WHERE name = $1`
	var v []byte
	err := s.pool.QueryRow(ctx, get, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: secret %s: %w", name, err)
	}
	made := make()
	if len(made) == 0 {
		return nil, fmt.Errorf("postgres: secret %s: made an empty value", name)
	}
	// ON CONFLICT waits for a concurrent inserter to commit, so the read
	// after it (a new snapshot) sees whichever value won.
	if _, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, made); err != nil {
		return nil, fmt.Errorf("postgres: secret %s: %w", name, err)
	}
	if err := s.pool.QueryRow(ctx, get, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("postgres: secret %s: %w", name, err)
	}
	return v, nil
}

// Stats sums the counter shards: at most a few dozen rows, whatever the
// size of the population or its history.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	st := store.Stats{ByVerdict: map[health.Tier]int64{}}
	rows, err := s.pool.Query(ctx, `SELECT name, sum(n)::bigint FROM counters GROUP BY name`)
	if err != nil {
		return store.Stats{}, fmt.Errorf("postgres: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			n    int64
		)
		if err := rows.Scan(&name, &n); err != nil {
			return store.Stats{}, fmt.Errorf("postgres: stats: %w", err)
		}
		sqldb.CounterStats(name, n, &st.Devices, &st.Checkins, st.ByVerdict)
	}
	if err := rows.Err(); err != nil {
		return store.Stats{}, fmt.Errorf("postgres: stats: %w", err)
	}
	return st, nil
}

// DailyCheckins returns the per-day aggregates from from's day to to's
// day, UTC, both inclusive.
func (s *Store) DailyCheckins(ctx context.Context, from, to time.Time) ([]store.DayCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT day::text, verdict, os, sum(n)::bigint FROM checkin_daily
		WHERE day BETWEEN $1::text::date AND $2::text::date
		GROUP BY day, verdict, os ORDER BY day, verdict, os`,
		from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("postgres: daily check-ins: %w", err)
	}
	defer rows.Close()
	var out []store.DayCount
	for rows.Next() {
		var (
			dc      store.DayCount
			day     string
			verdict string
		)
		if err := rows.Scan(&day, &verdict, &dc.OS, &dc.Count); err != nil {
			return nil, fmt.Errorf("postgres: daily check-ins: %w", err)
		}
		if dc.Day, err = time.Parse(time.DateOnly, day); err != nil {
			return nil, fmt.Errorf("postgres: daily check-ins: bad day %q: %w", day, err)
		}
		dc.Verdict = health.Tier(verdict)
		out = append(out, dc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: daily check-ins: %w", err)
	}
	return out, nil
}
