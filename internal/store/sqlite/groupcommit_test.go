package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// TestBatchWithFailingWrite: a batch of three writes in which the middle
// one fails after it has written. The other two are committed, nothing
// of the failing one is, and each caller gets its own answer.
func TestBatchWithFailingWrite(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	boom := errors.New("refused after writing")
	counter := func(name string, fail bool) *writeJob {
		return &writeJob{ctx: ctx, done: make(chan error, 1), fn: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO counters (name, n) VALUES (?, 1)
				ON CONFLICT (name) DO UPDATE SET n = n + 1`, name); err != nil {
				return err
			}
			if fail {
				return boom
			}
			return nil
		}}
	}
	batch := []*writeJob{counter("test:a", false), counter("test:b", true), counter("test:c", false)}
	s.gc.run(batch)
	want := []error{nil, boom, nil}
	for i, j := range batch {
		if err := <-j.done; !errors.Is(err, want[i]) {
			t.Errorf("write %d answered %v, want %v", i, err, want[i])
		}
	}
	got := map[string]int64{}
	rows, err := s.r.QueryContext(ctx, `SELECT name, n FROM counters WHERE name LIKE 'test:%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		got[name] = n
	}
	if len(got) != 2 || got["test:a"] != 1 || got["test:c"] != 1 {
		t.Errorf("committed counters = %v, want test:a and test:c at 1 and no test:b", got)
	}
}
