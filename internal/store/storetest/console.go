package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// ConsoleUsers tests store.ConsoleUsers: create, conflict, look-up,
// password change and disabling.
func ConsoleUsers(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	cu, ok := s.(store.ConsoleUsers)
	if !ok {
		t.Fatalf("%T does not implement store.ConsoleUsers", s)
	}
	ctx := t.Context()
	if _, err := cu.ConsoleUser(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsoleUser(absent) = %v, want ErrNotFound", err)
	}
	if err := cu.CreateConsoleUser(ctx, store.ConsoleUser{Name: "alice", PasswordHash: []byte("h1"), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := cu.CreateConsoleUser(ctx, store.ConsoleUser{Name: "alice", PasswordHash: []byte("h2"), CreatedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateConsoleUser = %v, want ErrConflict", err)
	}
	u, err := cu.ConsoleUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" || !bytes.Equal(u.PasswordHash, []byte("h1")) || !u.DisabledAt.IsZero() {
		t.Errorf("ConsoleUser = %+v", u)
	}
	sameTime(t, "CreatedAt", u.CreatedAt, base)
	if err := cu.DisableConsoleUser(ctx, "alice", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := cu.DisableConsoleUser(ctx, "alice", base.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("disabling twice = %v, want ErrNotFound", err)
	}
	u, _ = cu.ConsoleUser(ctx, "alice")
	sameTime(t, "DisabledAt", u.DisabledAt, base.Add(time.Hour))
	if err := cu.SetConsolePassword(ctx, "alice", []byte("h3")); err != nil {
		t.Fatal(err)
	}
	u, _ = cu.ConsoleUser(ctx, "alice")
	if !bytes.Equal(u.PasswordHash, []byte("h3")) || !u.DisabledAt.IsZero() {
		t.Errorf("after SetConsolePassword: %+v", u)
	}
	if err := cu.SetConsolePassword(ctx, "bob", []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetConsolePassword(absent) = %v, want ErrNotFound", err)
	}
}
