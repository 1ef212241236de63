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
// own savepoint (a write that fails is rolled back alone), and answers
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
	db   *sql.DB
	jobs chan *writeJob
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func newCommitter(db *sql.DB) *committer {
	c := &committer{db: db, jobs: make(chan *writeJob, maxBatch), quit: make(chan struct{})}
	c.wg.Go(c.loop)
	return c
}

// write runs fn in a group-committed transaction and returns its error,
// or the commit's; nil means fn's writes are committed. fn must not keep
// tx, and gets a context that is not cancelled while the batch runs (a
// caller that gives up is answered after the commit all the same).
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

func (c *committer) run(batch []*writeJob) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, j := range batch {
			j.done <- err
		}
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	single := len(batch) == 1
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if single {
			errs[i] = j.fn(ctx, tx)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		if errs[i] = j.fn(ctx, tx); errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
	}
	if single && errs[0] != nil {
		tx.Rollback()
		batch[0].done <- errs[0]
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	for i, j := range batch {
		j.done <- errs[i]
	}
}
