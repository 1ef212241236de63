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

// SetConsolePassword replaces the hash and enables the account; the
// account's sessions, opened with the old password, end.
func (s *Store) SetConsolePassword(ctx context.Context, name string, hash []byte) error {
	return s.userAndSessions(ctx, name, `UPDATE console_users SET password_hash = $1, disabled_at = NULL WHERE name = $2`, nonNil(hash), name)
}

// DisableConsoleUser disables a working account and ends its sessions.
func (s *Store) DisableConsoleUser(ctx context.Context, name string, at time.Time) error {
	return s.userAndSessions(ctx, name, `UPDATE console_users SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL`, at, name)
}

// DeleteConsoleUser deletes the account and its sessions.
func (s *Store) DeleteConsoleUser(ctx context.Context, name string) error {
	return s.userAndSessions(ctx, name, `DELETE FROM console_users WHERE name = $1`, name)
}

// userAndSessions runs change on the account name and deletes its
// sessions, in one transaction; ErrNotFound when change changed nothing.
func (s *Store) userAndSessions(ctx context.Context, name, change string, args ...any) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: console user: %w", err)
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, change, args...)
	if err := affected(tag, err, "console user "+name); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE user_name = $1`, name); err != nil {
		return fmt.Errorf("postgres: console user: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: console user: %w", err)
	}
	return nil
}

var _ store.ConsoleSessions = (*Store)(nil)

// sessionLive is the condition a live session meets at $1.
const sessionLive = `console_sessions.idle_until >= $1 AND console_sessions.expires_at >= $1
	AND (console_sessions.token_hash IS NULL OR EXISTS (SELECT 1 FROM admin_tokens t
		WHERE t.hash = console_sessions.token_hash AND t.revoked_at IS NULL))
	AND (console_sessions.user_name = '' OR EXISTS (SELECT 1 FROM console_users u
		WHERE u.name = console_sessions.user_name AND u.disabled_at IS NULL))`

// CreateConsoleSession stores a session.
func (s *Store) CreateConsoleSession(ctx context.Context, cs store.ConsoleSession) error {
	if len(cs.IDHash) == 0 || (cs.User == "") == (len(cs.TokenHash) == 0) {
		return errors.New("postgres: create console session: a session needs an id hash and exactly one of a user or a token hash")
	}
	var tok []byte
	if len(cs.TokenHash) > 0 {
		tok = cs.TokenHash
	}
	idle := cs.IdleUntil
	if idle.After(cs.ExpiresAt) {
		idle = cs.ExpiresAt
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO console_sessions (id_hash, operator, user_name, token_hash, csrf, created_at, last_used, idle_until, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, cs.IDHash, cs.Operator, cs.User, tok, cs.CSRF, cs.CreatedAt, cs.LastUsed, idle, cs.ExpiresAt)
	if err := conflictOr(err, "console session"); err != nil {
		return fmt.Errorf("postgres: create console session: %w", err)
	}
	return nil
}

// ConsoleSession returns a live session.
func (s *Store) ConsoleSession(ctx context.Context, idHash []byte, now time.Time) (store.ConsoleSession, error) {
	var cs store.ConsoleSession
	err := s.pool.QueryRow(ctx, `SELECT id_hash, operator, user_name, token_hash, csrf, created_at, last_used, idle_until, expires_at
		FROM console_sessions WHERE id_hash = $2 AND `+sessionLive, now, idHash).
		Scan(&cs.IDHash, &cs.Operator, &cs.User, &cs.TokenHash, &cs.CSRF, &cs.CreatedAt, &cs.LastUsed, &cs.IdleUntil, &cs.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ConsoleSession{}, fmt.Errorf("console session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.ConsoleSession{}, fmt.Errorf("postgres: console session: %w", err)
	}
	cs.CreatedAt, cs.LastUsed, cs.IdleUntil, cs.ExpiresAt = cs.CreatedAt.UTC(), cs.LastUsed.UTC(), cs.IdleUntil.UTC(), cs.ExpiresAt.UTC()
	return cs, nil
}

// TouchConsoleSession records a use.
func (s *Store) TouchConsoleSession(ctx context.Context, idHash []byte, at, idleUntil time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE console_sessions SET last_used = greatest(last_used, $1), idle_until = least(greatest(idle_until, $2), expires_at)
		WHERE id_hash = $3`, at, idleUntil, idHash)
	return affected(tag, err, "console session")
}

// DeleteConsoleSession ends a session.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash []byte) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash)
	return affected(tag, err, "console session")
}

// DeleteEndedConsoleSessions deletes the sessions not live at now.
func (s *Store) DeleteEndedConsoleSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE NOT (`+sessionLive+`)`, now)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete ended console sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
