package sqlite

import (
	"context"
	"fmt"

	"github.com/herd-health/herd/internal/store"
)

var _ store.AuditOutcomes = (*Store)(nil)

// StartAudit appends e and returns its id.
func (s *Store) StartAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	var id int64
	if err := s.w.QueryRowContext(ctx, `INSERT INTO audit_log (at, actor, action, target, source_ip, outcome) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		e.At.UnixMicro(), e.Actor, e.Action, e.Target, e.SourceIP, e.Outcome).Scan(&id); err != nil {
		return 0, fmt.Errorf("sqlite: append audit: %w", err)
	}
	return id, nil
}

// SetAuditOutcome sets the outcome of entry id.
func (s *Store) SetAuditOutcome(ctx context.Context, id int64, outcome string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE audit_log SET outcome = ? WHERE id = ?`, outcome, id)
	return affected(res, err, fmt.Sprintf("audit entry %d", id))
}
