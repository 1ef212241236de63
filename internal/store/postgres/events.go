package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// queueCheckinEvents queues a check-in's webhook events in b (part of
// its transaction) and says how many statements it queued.
func queueCheckinEvents(b *pgx.Batch, c store.Checkin, prev health.Tier) int {
	if len(c.Events) == 0 || (c.EventsOnChange && prev == c.Verdict) {
		return 0
	}
	for _, e := range c.Events {
		b.Queue(`INSERT INTO webhook_outbox (event_id, audience, body, created_at, next_attempt) VALUES ($1, $2, $3, $4, $4)`,
			e.EventID, e.Audience, nonNil(e.Body), e.CreatedAt)
	}
	return len(c.Events)
}
