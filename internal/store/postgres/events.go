package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// checkinEvents queues a check-in's webhook events in its transaction.
func checkinEvents(ctx context.Context, tx pgx.Tx, c store.Checkin, prev health.Tier) error {
	if len(c.Events) == 0 || (c.EventsOnChange && prev == c.Verdict) {
		return nil
	}
	for _, e := range c.Events {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_outbox (event_id, audience, body, created_at, next_attempt) VALUES ($1, $2, $3, $4, $4)`,
			e.EventID, e.Audience, nonNil(e.Body), e.CreatedAt); err != nil {
			return err
		}
	}
	return nil
}
