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

// SetConsolePassword replaces the hash and enables the account; the
// account's sessions, opened with the old password, end.
func (s *Store) SetConsolePassword(ctx context.Context, name string, hash []byte) error {
	return s.userAndSessions(ctx, name, `UPDATE console_users SET password_hash = ?, disabled_at = NULL WHERE name = ?`, nonNil(hash), name)
}

// DisableConsoleUser disables a working account and ends its sessions.
func (s *Store) DisableConsoleUser(ctx context.Context, name string, at time.Time) error {
	return s.userAndSessions(ctx, name, `UPDATE console_users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL`, at.UnixMicro(), name)
}

// userAndSessions runs update on the account name and deletes its
// sessions, in one transaction; ErrNotFound when update changed nothing.
func (s *Store) userAndSessions(ctx context.Context, name, update string, args ...any) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: console user: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, update, args...)
	if err := affected(res, err, "console user "+name); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_name = ?`, name); err != nil {
		return fmt.Errorf("sqlite: console user: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: console user: %w", err)
	}
	return nil
}

// DeleteConsoleUser deletes the account and its sessions.
func (s *Store) DeleteConsoleUser(ctx context.Context, name string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: delete console user: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_name = ?`, name); err != nil {
		return fmt.Errorf("sqlite: delete console user: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM console_users WHERE name = ?`, name)
	if err := affected(res, err, "console user "+name); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: delete console user: %w", err)
	}
	return nil
}

var _ store.ConsoleSessions = (*Store)(nil)

// sessionLive is the condition a live session meets at ?1 (Unix µs).
const sessionLive = `console_sessions.idle_until >= ?1 AND console_sessions.expires_at >= ?1
	AND (console_sessions.token_hash IS NULL OR EXISTS (SELECT 1 FROM admin_tokens t
		WHERE t.hash = console_sessions.token_hash AND t.revoked_at IS NULL))
	AND (console_sessions.user_name = '' OR EXISTS (SELECT 1 FROM console_users u
		WHERE u.name = console_sessions.user_name AND u.disabled_at IS NULL))`

// CreateConsoleSession stores a session.
func (s *Store) CreateConsoleSession(ctx context.Context, cs store.ConsoleSession) error {
	if len(cs.IDHash) == 0 || (cs.User == "") == (len(cs.TokenHash) == 0) {
		return errors.New("sqlite: create console session: a session needs an id hash and exactly one of a user or a token hash")
	}
	var tok any
	if len(cs.TokenHash) > 0 {
		tok = cs.TokenHash
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, operator, user_name, token_hash, csrf, created_at, last_used, idle_until, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, cs.IDHash, cs.Operator, cs.User, tok, cs.CSRF, cs.CreatedAt.UnixMicro(), cs.LastUsed.UnixMicro(),
		min(cs.IdleUntil.UnixMicro(), cs.ExpiresAt.UnixMicro()), cs.ExpiresAt.UnixMicro())
	if err := conflictOr(err, "console session"); err != nil {
		return fmt.Errorf("sqlite: create console session: %w", err)
	}
	return nil
}

// ConsoleSession returns a live session.
func (s *Store) ConsoleSession(ctx context.Context, idHash []byte, now time.Time) (store.ConsoleSession, error) {
	var (
		cs                           store.ConsoleSession
		created, used, idle, expires int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id_hash, operator, user_name, token_hash, csrf, created_at, last_used, idle_until, expires_at
		FROM console_sessions WHERE id_hash = ?2 AND `+sessionLive, now.UnixMicro(), idHash).
		Scan(&cs.IDHash, &cs.Operator, &cs.User, &cs.TokenHash, &cs.CSRF, &created, &used, &idle, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ConsoleSession{}, fmt.Errorf("console session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.ConsoleSession{}, fmt.Errorf("sqlite: console session: %w", err)
	}
	cs.CreatedAt, cs.LastUsed = time.UnixMicro(created).UTC(), time.UnixMicro(used).UTC()
	cs.IdleUntil, cs.ExpiresAt = time.UnixMicro(idle).UTC(), time.UnixMicro(expires).UTC()
	return cs, nil
}

// TouchConsoleSession records a use.
func (s *Store) TouchConsoleSession(ctx context.Context, idHash []byte, at, idleUntil time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE console_sessions SET last_used = max(last_used, ?), idle_until = min(max(idle_until, ?), expires_at) WHERE id_hash = ?`,
		at.UnixMicro(), idleUntil.UnixMicro(), idHash)
	return affected(res, err, "console session")
}

// DeleteConsoleSession ends a session.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash []byte) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash)
	return affected(res, err, "console session")
}

// DeleteEndedConsoleSessions deletes the sessions not live at now.
func (s *Store) DeleteEndedConsoleSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE NOT (`+sessionLive+`)`, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete ended console sessions: %w", err)
	}
	return res.RowsAffected()
}
