package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commit. Every commit syncs the write-ahead log, and on a busy
// authority that sync, not the SQL, is what limits check-ins per second.
// So the hot-path writes (nonces, check-ins, certificates) are handed to
// one committer goroutine, which runs whatever has queued up while the
// previous commit was syncing in a single transaction, each write in its
// own savepoint when one fails (so that it is rolled back alone), and answers
// each caller only after that transaction has committed: a write that
// returns nil is durable, exactly as with a transaction of its own.

// maxBatch bounds the writes in one transaction.
const maxBatch = 256

var errClosed = errors.New("sqlite: store closed")

type writeJob struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

type committer struct {
	db *sql.DB
	// The savepoint statements, prepared once: a statement given as text
	// is parsed again at every use.
	savepoint, rollbackTo, release *sql.Stmt

	jobs chan *writeJob
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func newCommitter(ctx context.Context, db *sql.DB) (*committer, error) {
	c := &committer{db: db, jobs: make(chan *writeJob, maxBatch), quit: make(chan struct{})}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{{&c.savepoint, "SAVEPOINT w"}, {&c.rollbackTo, "ROLLBACK TO w"}, {&c.release, "RELEASE w"}} {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	c.wg.Go(c.loop)
	return c, nil
}

// write runs fn in a group-committed transaction and returns its error,
// or the commit's; nil means fn's writes are committed. fn must not keep
// tx, and gets a context that is not cancelled while the batch runs (a
// caller that gives up is answered after the commit all the same). fn
// may run more than once, each time in a transaction rolled back before
// the next (see run): it must act only through tx and set what it
// returns afresh each time.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.gc.jobs <- j:
	case <-s.gc.quit:
		return errClosed
	}
	return <-j.done
}

func (c *committer) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}

func (c *committer) loop() {
	batch := make([]*writeJob, 0, maxBatch)
	for {
		select {
		case j := <-c.jobs:
			batch = append(batch[:0], j)
		case <-c.quit:
			c.drain()
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case j := <-c.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		c.run(batch)
		clear(batch)
	}
}

// drain answers the writes queued when the store closes.
func (c *committer) drain() {
	for {
		select {
		case j := <-c.jobs:
			j.done <- errClosed
		default:
			return
		}
	}
}

// run commits a batch. It first runs every write straight in one
// transaction; only when one of them fails is that transaction rolled
// back and the batch run again with each write in its own savepoint, so
// that the failing write is undone alone. Failures are rare (a replayed
// nonce, a device deleted meanwhile), and a savepoint is not free: every
// page a write first touches inside one is copied aside. So a write may
// run twice; only its last run counts.
func (c *committer) run(batch []*writeJob) {
	if c.runStraight(batch) {
		return
	}
	c.runSavepoints(batch)
}

// runStraight runs the batch without savepoints and answers every write
// when all succeeded and the commit did. It reports false, having
// answered nobody and rolled back, when a write failed.
func (c *committer) runStraight(batch []*writeJob) bool {
	ctx := context.Background()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		fail(batch, fmt.Errorf("sqlite: begin: %w", err))
		return true
	}
	errs := make([]error, len(batch))
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if err := j.fn(ctx, tx); err != nil {
			tx.Rollback()
			if len(batch) == 1 {
				j.done <- err
				return true
			}
			return false
		}
	}
	if err := tx.Commit(); err != nil {
		fail(batch, fmt.Errorf("sqlite: commit: %w", err))
		return true
	}
	for i, j := range batch {
		j.done <- errs[i]
	}
	return true
}

func fail(batch []*writeJob, err error) {
	for _, j := range batch {
		j.done <- err
	}
}

// runSavepoints runs the batch with each write in its own savepoint, so
// that a write that fails is rolled back alone.
func (c *committer) runSavepoints(batch []*writeJob) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		fail(batch, fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.StmtContext(ctx, c.savepoint).ExecContext(ctx); err != nil {
			tx.Rollback()
			fail(batch, fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		if errs[i] = j.fn(ctx, tx); errs[i] != nil {
			if _, err := tx.StmtContext(ctx, c.rollbackTo).ExecContext(ctx); err != nil {
				tx.Rollback()
				fail(batch, fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.StmtContext(ctx, c.release).ExecContext(ctx); err != nil {
			tx.Rollback()
			fail(batch, fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(batch, fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	for i, j := range batch {
		j.done <- errs[i]
	}
}
