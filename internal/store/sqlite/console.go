package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herd-health/herd/internal/store"
)

var _ store.ConsoleUsers = (*Store)(nil)

// CreateConsoleUser adds u; ErrConflict when its name exists.
func (s *Store) CreateConsoleUser(ctx context.Context, u store.ConsoleUser) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_users (name, password_hash, created_at) VALUES (?, ?, ?)`,
		u.Name, nonNil(u.PasswordHash), u.CreatedAt.UnixMicro())
	if err := conflictOr(err, "console user "+u.Name); err != nil {
		return fmt.Errorf("sqlite: create console user: %w", err)
	}
	return nil
}

// ConsoleUser returns the named account.
func (s *Store) ConsoleUser(ctx context.Context, name string) (store.ConsoleUser, error) {
	var (
		u        store.ConsoleUser
		created  int64
		disabled sql.NullInt64
	)
	err := s.w.QueryRowContext(ctx, `SELECT name, password_hash, created_at, disabled_at FROM console_users WHERE name = ?`, name).
		Scan(&u.Name, &u.PasswordHash, &created, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ConsoleUser{}, fmt.Errorf("console user %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.ConsoleUser{}, fmt.Errorf("sqlite: console user: %w", err)
	}
	u.CreatedAt = time.UnixMicro(created).UTC()
	u.DisabledAt = fromMicros(disabled)
	return u, nil
}

// SetConsolePassword replaces the hash and enables the account.
func (s *Store) SetConsolePassword(ctx context.Context, name string, hash []byte) error {
	res, err := s.w.ExecContext(ctx, `UPDATE console_users SET password_hash = ?, disabled_at = NULL WHERE name = ?`, nonNil(hash), name)
	return affected(res, err, "console user "+name)
}

// DisableConsoleUser disables a working account.
func (s *Store) DisableConsoleUser(ctx context.Context, name string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE console_users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL`, at.UnixMicro(), name)
	return affected(res, err, "console user "+name)
}
