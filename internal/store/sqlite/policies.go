package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herd-health/herd/internal/store"
)

var _ store.Policies = (*Store)(nil)

// ActivatePolicy implements store.Policies in one write transaction.
func (s *Store) ActivatePolicy(ctx context.Context, p store.StoredPolicy, actor string, at time.Time) (store.PolicyActivation, bool, error) {
	at = at.UTC().Truncate(time.Microsecond)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.PolicyActivation{}, false, fmt.Errorf("sqlite: activate policy: %w", err)
	}
	defer tx.Rollback()
	var body []byte
	err = tx.QueryRowContext(ctx, `SELECT body FROM policies WHERE id = ? AND version = ?`, p.ID, p.Version).Scan(&body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO policies (id, version, body, created_at) VALUES (?, ?, ?, ?)`,
			p.ID, p.Version, p.Body, at.UnixMicro()); err != nil {
			return store.PolicyActivation{}, false, fmt.Errorf("sqlite: activate policy: %w", err)
		}
	case err != nil:
		return store.PolicyActivation{}, false, fmt.Errorf("sqlite: activate policy: %w", err)
	case !bytes.Equal(body, p.Body):
		return store.PolicyActivation{}, false, fmt.Errorf("policy %s@%d is stored with other rules: %w", p.ID, p.Version, store.ErrConflict)
	}
	var cur store.PolicyActivation
	var curAt int64
	err = tx.QueryRowContext(ctx, `SELECT seq, id, version, activated_at, actor FROM policy_activations ORDER BY seq DESC LIMIT 1`).
		Scan(&cur.Seq, &cur.ID, &cur.Version, &curAt, &cur.Actor)
	if err == nil && cur.ID == p.ID && cur.Version == p.Version {
		cur.ActivatedAt = time.UnixMicro(curAt).UTC()
		return cur, false, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return store.PolicyActivation{}, false, fmt.Errorf("sqlite: activate policy: %w", err)
	}
	a := store.PolicyActivation{ID: p.ID, Version: p.Version, ActivatedAt: at.UTC(), Actor: actor}
	if err := tx.QueryRowContext(ctx, `INSERT INTO policy_activations (id, version, activated_at, actor) VALUES (?, ?, ?, ?) RETURNING seq`,
		p.ID, p.Version, at.UnixMicro(), actor).Scan(&a.Seq); err != nil {
		return store.PolicyActivation{}, false, fmt.Errorf("sqlite: activate policy: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return store.PolicyActivation{}, false, fmt.Errorf("sqlite: activate policy: %w", err)
	}
	return a, true, nil
}

// ActivePolicy implements store.Policies.
func (s *Store) ActivePolicy(ctx context.Context) (store.StoredPolicy, store.PolicyActivation, error) {
	var p store.StoredPolicy
	var a store.PolicyActivation
	var created, activated int64
	err := s.r.QueryRowContext(ctx, `SELECT a.seq, a.id, a.version, a.activated_at, a.actor, p.body, p.created_at
		FROM policy_activations a JOIN policies p ON p.id = a.id AND p.version = a.version
		ORDER BY a.seq DESC LIMIT 1`).Scan(&a.Seq, &a.ID, &a.Version, &activated, &a.Actor, &p.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return p, a, fmt.Errorf("active policy: %w", store.ErrNotFound)
	}
	if err != nil {
		return p, a, fmt.Errorf("sqlite: active policy: %w", err)
	}
	p.ID, p.Version, p.CreatedAt = a.ID, a.Version, time.UnixMicro(created).UTC()
	a.ActivatedAt = time.UnixMicro(activated).UTC()
	return p, a, nil
}

// PolicyVersion implements store.Policies.
func (s *Store) PolicyVersion(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM policy_activations`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite: policy version: %w", err)
	}
	return seq, nil
}

// PolicyHistory implements store.Policies.
func (s *Store) PolicyHistory(ctx context.Context, limit int) ([]store.PolicyActivation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, id, version, activated_at, actor FROM policy_activations ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: policy history: %w", err)
	}
	defer rows.Close()
	var out []store.PolicyActivation
	for rows.Next() {
		var a store.PolicyActivation
		var at int64
		if err := rows.Scan(&a.Seq, &a.ID, &a.Version, &at, &a.Actor); err != nil {
			return nil, fmt.Errorf("sqlite: policy history: %w", err)
		}
		a.ActivatedAt = time.UnixMicro(at).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
