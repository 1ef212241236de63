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
	// DisableConsoleUser disables the account; ErrNotFound when there is
	// no such working account.
	DisableConsoleUser(ctx context.Context, name string, at time.Time) error
}
