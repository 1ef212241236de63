package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/internal/store"
)

var _ store.Policies = (*Store)(nil)

// policyLock serialises policy activations across nodes.
const policyLock = 0x68657270 // "herp"

// ActivatePolicy implements store.Policies under an advisory lock.
func (s *Store) ActivatePolicy(ctx context.Context, p store.StoredPolicy, actor string, at time.Time) (store.PolicyActivation, bool, error) {
	at = at.UTC().Truncate(time.Microsecond)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return store.PolicyActivation{}, false, fmt.Errorf("postgres: activate policy: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, policyLock); err != nil {
		return store.PolicyActivation{}, false, fmt.Errorf("postgres: activate policy: %w", err)
	}
	var body []byte
	err = tx.QueryRow(ctx, `SELECT body FROM policies WHERE id = $1 AND version = $2`, p.ID, p.Version).Scan(&body)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := tx.Exec(ctx, `INSERT INTO policies (id, version, body, created_at) VALUES ($1, $2, $3, $4)`,
			p.ID, p.Version, p.Body, at.UTC()); err != nil {
			return store.PolicyActivation{}, false, fmt.Errorf("postgres: activate policy: %w", err)
		}
	case err != nil:
		return store.PolicyActivation{}, false, fmt.Errorf("postgres: activate policy: %w", err)
	case !bytes.Equal(body, p.Body):
		return store.PolicyActivation{}, false, fmt.Errorf("policy %s@%d is stored with other rules: %w", p.ID, p.Version, store.ErrConflict)
	}
	var cur store.PolicyActivation
	err = tx.QueryRow(ctx, `SELECT seq, id, version, activated_at, actor FROM policy_activations ORDER BY seq DESC LIMIT 1`).
		Scan(&cur.Seq, &cur.ID, &cur.Version, &cur.ActivatedAt, &cur.Actor)
	if err == nil && cur.ID == p.ID && cur.Version == p.Version {
		cur.ActivatedAt = cur.ActivatedAt.UTC()
		return cur, false, nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return store.PolicyActivation{}, false, fmt.Errorf("postgres: activate policy: %w", err)
	}
	a := store.PolicyActivation{ID: p.ID, Version: p.Version, ActivatedAt: at.UTC(), Actor: actor}
	if err := tx.QueryRow(ctx, `INSERT INTO policy_activations (id, version, activated_at, actor) VALUES ($1, $2, $3, $4) RETURNING seq`,
		p.ID, p.Version, at.UTC(), actor).Scan(&a.Seq); err != nil {
		return store.PolicyActivation{}, false, fmt.Errorf("postgres: activate policy: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return store.PolicyActivation{}, false, fmt.Errorf("postgres: activate policy: %w", err)
	}
	return a, true, nil
}

// ActivePolicy implements store.Policies.
func (s *Store) ActivePolicy(ctx context.Context) (store.StoredPolicy, store.PolicyActivation, error) {
	var p store.StoredPolicy
	var a store.PolicyActivation
	err := s.pool.QueryRow(ctx, `SELECT a.seq, a.id, a.version, a.activated_at, a.actor, p.body, p.created_at
		FROM policy_activations a JOIN policies p ON p.id = a.id AND p.version = a.version
		ORDER BY a.seq DESC LIMIT 1`).Scan(&a.Seq, &a.ID, &a.Version, &a.ActivatedAt, &a.Actor, &p.Body, &p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, a, fmt.Errorf("active policy: %w", store.ErrNotFound)
	}
	if err != nil {
		return p, a, fmt.Errorf("postgres: active policy: %w", err)
	}
	p.ID, p.Version, p.CreatedAt, a.ActivatedAt = a.ID, a.Version, p.CreatedAt.UTC(), a.ActivatedAt.UTC()
	return p, a, nil
}

// PolicyVersion implements store.Policies.
func (s *Store) PolicyVersion(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM policy_activations`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("postgres: policy version: %w", err)
	}
	return seq, nil
}

// PolicyHistory implements store.Policies.
func (s *Store) PolicyHistory(ctx context.Context, limit int) ([]store.PolicyActivation, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, id, version, activated_at, actor FROM policy_activations ORDER BY seq DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: policy history: %w", err)
	}
	defer rows.Close()
	var out []store.PolicyActivation
	for rows.Next() {
		var a store.PolicyActivation
		if err := rows.Scan(&a.Seq, &a.ID, &a.Version, &a.ActivatedAt, &a.Actor); err != nil {
			return nil, fmt.Errorf("postgres: policy history: %w", err)
		}
		a.ActivatedAt = a.ActivatedAt.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
