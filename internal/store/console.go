package store

import (
	"context"
	"time"
)

// ConsoleUser is an operator who signs in to the console with a password.
// Only a slow, salted hash of the password is kept (bcrypt).
type ConsoleUser struct {
	Name         string
	PasswordHash []byte
	CreatedAt    time.Time
	// DisabledAt is when the account stopped working; zero while it works.
	DisabledAt time.Time
}

// ConsoleUsers keeps the console's password accounts.
type ConsoleUsers interface {
	// CreateConsoleUser adds u; ErrConflict when its name exists.
	CreateConsoleUser(ctx context.Context, u ConsoleUser) error
	// ConsoleUser returns the named account, disabled or not; ErrNotFound
	// when there is none.
	ConsoleUser(ctx context.Context, name string) (ConsoleUser, error)
	// SetConsolePassword replaces the account's password hash and enables
	// it again; ErrNotFound when there is no such account.
	SetConsolePassword(ctx context.Context, name string, hash []byte) error
	// DisableConsoleUser disables the account and ends its sessions;
	// ErrNotFound when there is no such working account.
	DisableConsoleUser(ctx context.Context, name string, at time.Time) error
	// DeleteConsoleUser deletes the account and its sessions, in one
	// transaction; ErrNotFound when there is no such account.
	DeleteConsoleUser(ctx context.Context, name string) error
}

// ConsoleSession is an operator signed in to the console. The session id
// (the cookie's value) is never stored: only its SHA-256, so whoever
// reads the store cannot use a session. Every session rests on the
// credential it was opened with, exactly one of a console account (User)
// or an admin API token (TokenHash), and lives only while that does.
type ConsoleSession struct {
	IDHash []byte // SHA-256 of the session id
	// Operator is who the audit log names: "console:<user>" or the admin
	// token's name.
	Operator  string
	User      string // the console account; "" when opened with a token
	TokenHash []byte // SHA-256 of the admin token; nil when opened with a password
	// CSRF is the token every form of the session carries.
	CSRF      string
	CreatedAt time.Time
	LastUsed  time.Time // as last recorded
	// IdleUntil is when it ends unless used again; ExpiresAt when it
	// ends whatever (IdleUntil never passes it).
	IdleUntil, ExpiresAt time.Time
}

// ConsoleSessions keeps console sessions, so that any node over the store
// serves any session and a restart signs nobody out.
type ConsoleSessions interface {
	// CreateConsoleSession stores s; ErrConflict when its id hash exists.
	CreateConsoleSession(ctx context.Context, s ConsoleSession) error
	// ConsoleSession returns the session with this id hash if it is live
	// at now: neither deadline passed, and its credential still works
	// (the admin token not revoked; the account there and not
	// disabled). ErrNotFound otherwise.
	ConsoleSession(ctx context.Context, idHash []byte, now time.Time) (ConsoleSession, error)
	// TouchConsoleSession records a use at at and moves the idle
	// deadline to idleUntil (at most the session's ExpiresAt);
	// ErrNotFound when there is no such session.
	TouchConsoleSession(ctx context.Context, idHash []byte, at, idleUntil time.Time) error
	// DeleteConsoleSession ends a session (signing out); ErrNotFound
	// when there is none.
	DeleteConsoleSession(ctx context.Context, idHash []byte) error
	// DeleteEndedConsoleSessions deletes every session not live at now
	// (see ConsoleSession) and says how many.
	DeleteEndedConsoleSessions(ctx context.Context, now time.Time) (int64, error)
}
