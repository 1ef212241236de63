// Package sqlite is the authority's embedded store: one SQLite file in WAL
// mode, written through a single connection and read through a small pool.
//
// Durability: the writer runs with synchronous=FULL, so the write-ahead
// log is synced at every commit and a check-in acknowledged by
// RecordCheckin survives the process being killed and the machine losing
// power. (NORMAL in WAL mode would survive a killed process but could
// lose the last commits on power loss.)
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a store.Store kept in one SQLite database file.
type Store struct {
	w *sql.DB // the one writer connection; BEGIN IMMEDIATE
	r *sql.DB // readers, query_only

	selDevice   *sql.Stmt // latest verdict and OS, for RecordCheckin
	insNonce    *sql.Stmt
	delNonce    *sql.Stmt
	insCheckin  *sql.Stmt
	upsDaily    *sql.Stmt
	upsCounters *sql.Stmt
	pop         popStmts   // population.go
	ck          ckStmts    // challenges.go
	gc          *committer // groupcommit.go
}

var _ store.Store = (*Store)(nil)
var _ store.Population = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	const common = "_busy_timeout=10000&_foreign_keys=1"
	// The writer keeps a larger page cache (64 MB) and maps the file, so
	// that the check-in path's index inserts rarely read pages back;
	// temporary tables stay in memory. Durability is unchanged (FULL).
	const writerCache = "&_pragma=cache_size(-65536)&_pragma=mmap_size(268435456)&_pragma=temp_store(memory)"
	w, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"+writerCache)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w}
	// The writer connects first so the file is in WAL mode before any
	// reader opens it.
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.preparePopulation(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareCheckin(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.gc, err = newCommitter(ctx, w); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.selDevice, `SELECT last_verdict, os FROM devices WHERE id = ?`},
		{&s.insNonce, `INSERT INTO nonces (value, expires_at) VALUES (?, ?) ON CONFLICT (value) DO NOTHING`},
		{&s.delNonce, `DELETE FROM nonces WHERE value = ? RETURNING expires_at`},
		{&s.insCheckin, `INSERT INTO checkins (device_id, received_at, verdict, policy_id, findings, os, os_version, agent, statement, source_ip)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`},
		{&s.upsDaily, `INSERT INTO checkin_daily (day, verdict, os, n) VALUES (?, ?, ?, 1)
			ON CONFLICT (day, verdict, os) DO UPDATE SET n = n + 1`},
		{&s.upsCounters, `INSERT INTO counters (name, n) VALUES (?, ?), (?, ?), (?, ?)
			ON CONFLICT (name) DO UPDATE SET n = n + excluded.n`},
	} {
		st, err := s.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqldb.Migrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	// Every embedded migration not yet recorded is applied, in order: a
	// migration numbered below the highest applied one (merged from a
	// branch after a later one shipped) is not skipped.
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	current := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		applied[v], current = true, max(current, v)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if len(ms) > 0 && current > ms[len(ms)-1].Version {
		return fmt.Errorf("sqlite: database schema version %d is newer than this program knows (%d)", current, ms[len(ms)-1].Version)
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.gc != nil {
		s.gc.close()
	}
	var errs []error
	for _, st := range []*sql.Stmt{s.insNonce, s.delNonce, s.selDevice, s.insCheckin, s.upsDaily, s.upsCounters, s.ck.useNonce, s.ck.sel, s.ck.upd, s.ck.updLatest, s.ck.insCert} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// micros is t as stored: Unix microseconds, NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// CreateNonce stores a challenge value; ErrConflict if it exists.
func (s *Store) CreateNonce(ctx context.Context, value string, expires time.Time) error {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, s.insNonce).ExecContext(ctx, value, expires.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create nonce: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("nonce: %w", store.ErrConflict)
	}
	return nil
}

// ConsumeNonce uses a nonce up, as store.Nonces describes.
func (s *Store) ConsumeNonce(ctx context.Context, value string, now time.Time) error {
	var exp int64
	found := false
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.StmtContext(ctx, s.delNonce).QueryRowContext(ctx, value).Scan(&exp)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: consume nonce: %w", err)
	}
	if !found {
		return store.ErrNonceUnknown
	}
	if now.UnixMicro() > exp {
		return store.ErrNonceExpired
	}
	return nil
}

// DeleteExpiredNonces removes nonces that expired before now, stored
// challenges never used and used nonces alike, and says how many.
func (s *Store) DeleteExpiredNonces(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM nonces WHERE expires_at < ?`, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired nonces: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	used, err := s.deleteExpiredUsedNonces(ctx, now)
	return n + used, err
}

// CreateDevice enrolls d; ErrConflict when its id exists.
func (s *Store) CreateDevice(ctx context.Context, d store.Device) error {
	if d.ID == "" {
		return errors.New("sqlite: create device: empty id")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: create device: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO devices (id, public_key, os, enrolled_at, last_seen, last_verdict, last_policy)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		d.ID, nonNil(d.PublicKey), d.OS, d.EnrolledAt.UnixMicro(), micros(d.LastSeen), string(d.LastVerdict), d.LastPolicy)
	if err != nil {
		return fmt.Errorf("sqlite: create device: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: create device: %w", err)
	} else if n == 0 {
		return fmt.Errorf("device %s: %w", d.ID, store.ErrConflict)
	}
	verdictDelta := 0
	if d.LastVerdict != "" {
		verdictDelta = 1
	}
	if _, err := tx.StmtContext(ctx, s.upsCounters).ExecContext(ctx,
		sqldb.DevicesCounter, 1, sqldb.VerdictCounter(d.LastVerdict), verdictDelta, sqldb.CheckinsCounter, 0); err != nil {
		return fmt.Errorf("sqlite: create device: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create device: %w", err)
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Device returns one device; ErrNotFound when absent.
func (s *Store) Device(ctx context.Context, id string) (store.Device, error) {
	var (
		d        store.Device
		enrolled int64
		seen     sql.NullInt64
		verdict  string
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, public_key, os, enrolled_at, last_seen, last_verdict, last_policy FROM devices WHERE id = ?`, id).
		Scan(&d.ID, &d.PublicKey, &d.OS, &enrolled, &seen, &verdict, &d.LastPolicy)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Device{}, fmt.Errorf("device %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("sqlite: device: %w", err)
	}
	d.EnrolledAt = time.UnixMicro(enrolled).UTC()
	d.LastSeen = fromMicros(seen)
	d.LastVerdict = health.Tier(verdict)
	return d, nil
}

// RecordCheckin appends c and updates the device's latest state, the
// daily aggregates and the counters in one transaction.
func (s *Store) RecordCheckin(ctx context.Context, c store.Checkin) (int64, error) {
	if c.ReceivedAt.IsZero() {
		return 0, errors.New("sqlite: record check-in: no receive time")
	}
	findings, err := sqldb.EncodeFindings(c.Findings)
	if err != nil {
		return 0, err
	}
	at := c.ReceivedAt.UnixMicro()
	var id int64
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		id, err = s.recordCheckin(ctx, tx, c, at, findings)
		return err
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

func (s *Store) recordCheckin(ctx context.Context, tx *sql.Tx, c store.Checkin, at int64, findings string) (int64, error) {
	if err := s.useNonceTx(ctx, tx, c.NonceKey, c.NonceExpires); err != nil {
		return 0, err
	}
	// One read of the device row: the verdict this check-in replaces, its
	// OS, the state the population aggregates hold for it and the latest
	// nonce it used.
	var (
		prev, devOS string
		pop         sqldb.PopState
		popAt       sql.NullInt64
		popVerdict  string
		mask        int64
		nonceAt     int64
		nonceRandom []byte
	)
	err := tx.StmtContext(ctx, s.ck.sel).QueryRowContext(ctx, c.DeviceID).Scan(&prev, &devOS,
		&popAt, &popVerdict, &pop.Segment.OS, &pop.Segment.OSVersion, &pop.Segment.Agent, &pop.Segment.Country, &mask, &pop.InfectedDay,
		&nonceAt, &nonceRandom)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("device %s: %w", c.DeviceID, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: record check-in: %w", err)
	}
	if n := c.DeviceNonce; n != nil {
		if !n.After(nonceAt, nonceRandom) {
			return 0, fmt.Errorf("nonce: %w", store.ErrNonceUnknown)
		}
		nonceAt, nonceRandom = n.IssuedAt, n.Random
	}
	nonceRandom = nonNil(nonceRandom)
	pop.At, pop.Verdict, pop.Mask = popAt.Int64, health.Tier(popVerdict), store.FailMask(mask)
	next, deltas, popOK := sqldb.PopStep(pop, c, devOS)
	if popOK {
		_, err = tx.StmtContext(ctx, s.ck.upd).ExecContext(ctx, at, string(c.Verdict), c.PolicyID,
			next.At, string(next.Verdict), next.Segment.OS, next.Segment.OSVersion, next.Segment.Agent, next.Segment.Country, int64(next.Mask), next.InfectedDay,
			nonceAt, nonceRandom, c.DeviceID)
	} else {
		_, err = tx.StmtContext(ctx, s.ck.updLatest).ExecContext(ctx, at, string(c.Verdict), c.PolicyID, nonceAt, nonceRandom, c.DeviceID)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: record check-in: %w", err)
	}
	var id int64
	if err := tx.StmtContext(ctx, s.insCheckin).QueryRowContext(ctx,
		c.DeviceID, at, string(c.Verdict), c.PolicyID, findings, c.OS, c.OSVersion, c.Agent, nonNil(c.Statement), c.SourceIP,
	).Scan(&id); err != nil {
		return 0, fmt.Errorf("sqlite: record check-in: %w", err)
	}
	segOS := c.OS
	if segOS == "" {
		segOS = devOS
	}
	if _, err := tx.StmtContext(ctx, s.upsDaily).ExecContext(ctx,
		c.ReceivedAt.UTC().Format(time.DateOnly), string(c.Verdict), segOS); err != nil {
		return 0, fmt.Errorf("sqlite: record check-in: %w", err)
	}
	if popOK {
		if err := s.recordPopulation(ctx, tx, pop, next, deltas); err != nil {
			return 0, err
		}
	}
	if err := s.recordCertificatesTx(ctx, tx, c.Certificates); err != nil {
		return 0, err
	}
	gain, loss := 0, 0
	if health.Tier(prev) != c.Verdict {
		gain = 1
		if prev != "" {
			loss = -1
		}
	}
	if _, err := tx.StmtContext(ctx, s.upsCounters).ExecContext(ctx,
		sqldb.CheckinsCounter, 1,
		sqldb.VerdictCounter(c.Verdict), gain,
		sqldb.VerdictCounter(health.Tier(prev)), loss,
	); err != nil {
		return 0, fmt.Errorf("sqlite: record check-in: %w", err)
	}
	if err := s.checkinEvents(ctx, tx, c, health.Tier(prev)); err != nil {
		return 0, fmt.Errorf("sqlite: record check-in: %w", err)
	}
	return id, nil
}

// Checkins returns a device's history, newest first, at most limit.
func (s *Store) Checkins(ctx context.Context, deviceID string, limit int) ([]store.Checkin, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, device_id, received_at, verdict, policy_id, findings, os, os_version, agent, statement, source_ip
		FROM checkins WHERE device_id = ? ORDER BY received_at DESC, id DESC LIMIT ?`, deviceID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: check-ins: %w", err)
	}
	defer rows.Close()
	var out []store.Checkin
	for rows.Next() {
		var (
			c        store.Checkin
			at       int64
			verdict  string
			findings string
		)
		if err := rows.Scan(&c.ID, &c.DeviceID, &at, &verdict, &c.PolicyID, &findings, &c.OS, &c.OSVersion, &c.Agent, &c.Statement, &c.SourceIP); err != nil {
			return nil, fmt.Errorf("sqlite: check-ins: %w", err)
		}
		c.ReceivedAt = time.UnixMicro(at).UTC()
		c.Verdict = health.Tier(verdict)
		if c.Findings, err = sqldb.DecodeFindings(findings); err != nil {
			return nil, fmt.Errorf("sqlite: check-in %d: %w", c.ID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: check-ins: %w", err)
	}
	return out, nil
}

// AddSigningKey stores k; ErrConflict when its kid exists.
func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys (kid, alg, private_key, public_key, created_at, retired_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING`,
		k.KID, k.Alg, nonNil(k.Private), nonNil(k.Public), k.CreatedAt.UnixMicro(), micros(k.RetiredAt))
	if err != nil {
		return fmt.Errorf("sqlite: add signing key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: add signing key: %w", err)
	} else if n == 0 {
		return fmt.Errorf("signing key %s: %w", k.KID, store.ErrConflict)
	}
	return nil
}

// SigningKeys lists every key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kid, alg, private_key, public_key, created_at, retired_at
		FROM signing_keys ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var (
			k       store.SigningKey
			created int64
			retired sql.NullInt64
		)
		if err := rows.Scan(&k.KID, &k.Alg, &k.Private, &k.Public, &created, &retired); err != nil {
			return nil, fmt.Errorf("sqlite: signing keys: %w", err)
		}
		k.CreatedAt = time.UnixMicro(created).UTC()
		k.RetiredAt = fromMicros(retired)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	return out, nil
}

// Secret returns the named secret, storing make() first if there is none.
func (s *Store) Secret(ctx context.Context, name string, make func() []byte) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: secret %s: %w", name, err)
	}
	// The write transaction serializes makers: the first stores its value,
	// the rest read it.
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %s: %w", name, err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		v = make()
		if len(v) == 0 {
			return nil, fmt.Errorf("sqlite: secret %s: made an empty value", name)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)`, name, v)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: secret %s: %w", name, err)
	}
	return v, nil
}

// Stats reads the counters RecordCheckin and CreateDevice keep: a handful
// of rows, whatever the size of the population or its history.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	st := store.Stats{ByVerdict: map[health.Tier]int64{}}
	rows, err := s.r.QueryContext(ctx, `SELECT name, n FROM counters`)
	if err != nil {
		return store.Stats{}, fmt.Errorf("sqlite: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			n    int64
		)
		if err := rows.Scan(&name, &n); err != nil {
			return store.Stats{}, fmt.Errorf("sqlite: stats: %w", err)
		}
		sqldb.CounterStats(name, n, &st.Devices, &st.Checkins, st.ByVerdict)
	}
	if err := rows.Err(); err != nil {
		return store.Stats{}, fmt.Errorf("sqlite: stats: %w", err)
	}
	return st, nil
}

// DailyCheckins returns the per-day aggregates from from's day to to's
// day, UTC, both inclusive.
func (s *Store) DailyCheckins(ctx context.Context, from, to time.Time) ([]store.DayCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT day, verdict, os, n FROM checkin_daily
		WHERE day BETWEEN ? AND ? ORDER BY day, verdict, os`,
		from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("sqlite: daily check-ins: %w", err)
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
			return nil, fmt.Errorf("sqlite: daily check-ins: %w", err)
		}
		if dc.Day, err = time.Parse(time.DateOnly, day); err != nil {
			return nil, fmt.Errorf("sqlite: daily check-ins: bad day %q: %w", day, err)
		}
		dc.Verdict = health.Tier(verdict)
		out = append(out, dc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: daily check-ins: %w", err)
	}
	return out, nil
}
