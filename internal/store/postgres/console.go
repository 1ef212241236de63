package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/herd-health/herd/internal/store"
)

var _ store.ConsoleUsers = (*Store)(nil)

// CreateConsoleUser adds u; ErrConflict when its name exists.
func (s *Store) CreateConsoleUser(ctx context.Context, u store.ConsoleUser) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO console_users (name, password_hash, created_at) VALUES ($1, $2, $3)`,
		u.Name, nonNil(u.PasswordHash), u.CreatedAt)
	if err := conflictOr(err, "console user "+u.Name); err != nil {
		return fmt.Errorf("postgres: create console user: %w", err)
	}
	return nil
}

// ConsoleUser returns the named account.
func (s *Store) ConsoleUser(ctx context.Context, name string) (store.ConsoleUser, error) {
	var (
		u        store.ConsoleUser
		disabled pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `SELECT name, password_hash, created_at, disabled_at FROM console_users WHERE name = $1`, name).
		Scan(&u.Name, &u.PasswordHash, &u.CreatedAt, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ConsoleUser{}, fmt.Errorf("console user %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.ConsoleUser{}, fmt.Errorf("postgres: console user: %w", err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	u.DisabledAt = fromTS(disabled)
	return u, nil
}

// SetConsolePassword replaces the hash and enables the account.
func (s *Store) SetConsolePassword(ctx context.Context, name string, hash []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE console_users SET password_hash = $1, disabled_at = NULL WHERE name = $2`, nonNil(hash), name)
	return affected(tag, err, "console user "+name)
}

// DisableConsoleUser disables a working account.
func (s *Store) DisableConsoleUser(ctx context.Context, name string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE console_users SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL`, at, name)
	return affected(tag, err, "console user "+name)
}
