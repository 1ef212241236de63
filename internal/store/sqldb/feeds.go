package sqldb

import (
	"context"
	"strings"
	"time"
)

// TakeLease implements store.Feeds with a row of intel_meta holding the
// lease's end (Unix microseconds): the upsert only overwrites an ended
// lease, in one statement, so two nodes never both take it.
func (s *IntelStore) TakeLease(ctx context.Context, name string, now, until time.Time) (bool, error) {
	n, err := s.R.Exec(ctx, `INSERT INTO intel_meta (name, n) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET n = excluded.n WHERE intel_meta.n <= $3`,
		"lease:"+name, until.UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, s.errf("take lease", err)
	}
	return n == 1, nil
}

// EndLease implements store.Feeds.
func (s *IntelStore) EndLease(ctx context.Context, name string, at time.Time) error {
	if _, err := s.R.Exec(ctx, `UPDATE intel_meta SET n = $2 WHERE name = $1 AND n > $2`, "lease:"+name, at.UnixMicro()); err != nil {
		return s.errf("end lease", err)
	}
	return nil
}

// TouchIndicators implements store.Feeds.
func (s *IntelStore) TouchIndicators(ctx context.Context, source string, since, now time.Time) (int64, error) {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(source)
	n, err := s.R.Exec(ctx, `UPDATE indicators SET refreshed_at = $1
		WHERE removed_version IS NULL AND refreshed_at >= $4 AND ($2 || sources || $2) LIKE $3 ESCAPE '\'`,
		now.UnixMicro(), "\n", "%\n"+esc+"\n%", since.UnixMicro())
	if err != nil {
		return 0, s.errf("touch indicators", err)
	}
	return n, nil
}
