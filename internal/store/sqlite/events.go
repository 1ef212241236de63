package sqlite

import (
	"context"
	"database/sql"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// checkinEvents queues a check-in's webhook events in its transaction.
func (s *Store) checkinEvents(ctx context.Context, tx *sql.Tx, c store.Checkin, prev health.Tier) error {
	if len(c.Events) == 0 || (c.EventsOnChange && prev == c.Verdict) {
		return nil
	}
	for _, e := range c.Events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_outbox (event_id, audience, body, created_at, next_attempt) VALUES (?, ?, ?, ?, ?)`,
			e.EventID, e.Audience, nonNil(e.Body), e.CreatedAt.UnixMicro(), e.CreatedAt.UnixMicro()); err != nil {
			return err
		}
	}
	return nil
}
