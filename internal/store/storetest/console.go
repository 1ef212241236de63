package storetest

import (
	"bytes"
	"errors"
	"fmt"
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
	if err := cu.DeleteConsoleUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := cu.ConsoleUser(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsoleUser after DeleteConsoleUser = %v, want ErrNotFound", err)
	}
	if err := cu.DeleteConsoleUser(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteConsoleUser(absent) = %v, want ErrNotFound", err)
	}
}

// ConsoleSessions tests store.ConsoleSessions: sessions keyed by the
// hash of their id, idle and absolute deadlines, and sessions ending
// with the credential they rest on (a revoked admin token, a disabled,
// re-passworded or deleted account).
func ConsoleSessions(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	cs, ok := s.(store.ConsoleSessions)
	if !ok {
		t.Fatalf("%T does not implement store.ConsoleSessions", s)
	}
	cu := s.(store.ConsoleUsers)
	at := s.(store.AdminTokens)
	ctx := t.Context()
	for _, u := range []string{"alice", "bob"} {
		if err := cu.CreateConsoleUser(ctx, store.ConsoleUser{Name: u, PasswordHash: []byte("h"), CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	tokHash := bytes.Repeat([]byte{0xaa}, 32)
	if err := at.CreateAdminToken(ctx, store.AdminToken{Name: "ops", Hash: tokHash, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	id := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	sess := func(b byte, user string, tok []byte) store.ConsoleSession {
		op := "console:" + user
		if user == "" {
			op = "ops"
		}
		return store.ConsoleSession{IDHash: id(b), Operator: op, User: user, TokenHash: tok, CSRF: fmt.Sprintf("csrf-%d", b),
			CreatedAt: base, LastUsed: base, IdleUntil: base.Add(30 * time.Minute), ExpiresAt: base.Add(12 * time.Hour)}
	}
	for _, x := range []store.ConsoleSession{sess(1, "alice", nil), sess(2, "", tokHash), sess(3, "bob", nil), sess(4, "alice", nil)} {
		if err := cs.CreateConsoleSession(ctx, x); err != nil {
			t.Fatalf("CreateConsoleSession(%x): %v", x.IDHash[0], err)
		}
	}
	if err := cs.CreateConsoleSession(ctx, sess(1, "alice", nil)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second session with the same id = %v, want ErrConflict", err)
	}
	both := sess(9, "alice", tokHash)
	if err := cs.CreateConsoleSession(ctx, both); err == nil {
		t.Error("a session resting on both a password and a token was stored")
	}
	neither := sess(9, "", nil)
	if err := cs.CreateConsoleSession(ctx, neither); err == nil {
		t.Error("a session resting on no credential was stored")
	}
	live := func(b byte, now time.Time) bool {
		t.Helper()
		_, err := cs.ConsoleSession(ctx, id(b), now)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ConsoleSession(%d): %v", b, err)
		}
		return err == nil
	}

	got, err := cs.ConsoleSession(ctx, id(2), base.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.Operator != "ops" || got.User != "" || !bytes.Equal(got.TokenHash, tokHash) || got.CSRF != "csrf-2" || !bytes.Equal(got.IDHash, id(2)) {
		t.Errorf("ConsoleSession = %+v", got)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, base)
	sameTime(t, "IdleUntil", got.IdleUntil, base.Add(30*time.Minute))
	sameTime(t, "ExpiresAt", got.ExpiresAt, base.Add(12*time.Hour))
	if got, _ := cs.ConsoleSession(ctx, id(1), base); got.User != "alice" || got.TokenHash != nil {
		t.Errorf("password session = %+v", got)
	}
	if live(7, base) {
		t.Error("an unknown session is live")
	}

	// Idle: live up to its idle deadline; a use moves it, never past
	// the absolute one.
	if !live(1, base.Add(30*time.Minute)) || live(1, base.Add(30*time.Minute+time.Microsecond)) {
		t.Error("the idle deadline is not where it was set")
	}
	if err := cs.TouchConsoleSession(ctx, id(1), base.Add(25*time.Minute), base.Add(55*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !live(1, base.Add(50*time.Minute)) {
		t.Error("a used session ended at its old idle deadline")
	}
	got, _ = cs.ConsoleSession(ctx, id(1), base.Add(50*time.Minute))
	sameTime(t, "LastUsed", got.LastUsed, base.Add(25*time.Minute))
	// A late, older touch does not move the deadlines back.
	if err := cs.TouchConsoleSession(ctx, id(1), base.Add(time.Minute), base.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !live(1, base.Add(50*time.Minute)) {
		t.Error("an older touch moved the idle deadline back")
	}
	if err := cs.TouchConsoleSession(ctx, id(1), base.Add(11*time.Hour), base.Add(13*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !live(1, base.Add(12*time.Hour)) || live(1, base.Add(12*time.Hour+time.Microsecond)) {
		t.Error("a session lives past its absolute deadline, or not up to it")
	}
	if err := cs.TouchConsoleSession(ctx, id(7), base, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("touching an unknown session = %v, want ErrNotFound", err)
	}

	// The token's sessions end when it is revoked, at once.
	if err := at.RevokeAdminToken(ctx, "ops", base.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if live(2, base.Add(3*time.Minute)) {
		t.Error("a session opened with a revoked token is live")
	}
	// A new token of the same name does not bring it back.
	if err := at.CreateAdminToken(ctx, store.AdminToken{Name: "ops", Hash: bytes.Repeat([]byte{0xbb}, 32), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if live(2, base.Add(3*time.Minute)) {
		t.Error("a new token of the same name revived a revoked token's session")
	}
	// Disabling an account ends its sessions; enabling it again with a
	// new password does not bring them back.
	if err := cu.DisableConsoleUser(ctx, "alice", base.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if live(1, base.Add(5*time.Minute)) || live(4, base.Add(5*time.Minute)) {
		t.Error("a disabled account's session is live")
	}
	if err := cu.SetConsolePassword(ctx, "alice", []byte("h2")); err != nil {
		t.Fatal(err)
	}
	if live(1, base.Add(5*time.Minute)) || live(4, base.Add(5*time.Minute)) {
		t.Error("a session of the old password lives after a new one was set")
	}
	// Deleting an account ends its sessions, for good.
	if !live(3, base.Add(5*time.Minute)) {
		t.Fatal("bob's session is not live")
	}
	if err := cu.DeleteConsoleUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := cu.DeleteConsoleUser(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice = %v, want ErrNotFound", err)
	}
	if _, err := cu.ConsoleUser(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted account: %v", err)
	}
	if err := cu.CreateConsoleUser(ctx, store.ConsoleUser{Name: "bob", PasswordHash: []byte("h"), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if live(3, base.Add(5*time.Minute)) {
		t.Error("a deleted account's session lives again with a new account of the same name")
	}

	// Signing out deletes; the retention sweep deletes what ended.
	for _, x := range []store.ConsoleSession{sess(5, "alice", nil), sess(6, "bob", nil)} {
		if err := cs.CreateConsoleSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.DeleteConsoleSession(ctx, id(5)); err != nil {
		t.Fatal(err)
	}
	if err := cs.DeleteConsoleSession(ctx, id(5)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a session twice = %v, want ErrNotFound", err)
	}
	// At base+1m: session 2 (revoked token) has ended; 6 is live.
	n, err := cs.DeleteEndedConsoleSessions(ctx, base.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || !live(6, base.Add(time.Minute)) {
		t.Errorf("the sweep deleted %d sessions, want 1 (the revoked token's), and kept the live one", n)
	}
	// After 6's idle deadline, it goes too.
	if n, err := cs.DeleteEndedConsoleSessions(ctx, base.Add(31*time.Minute)); err != nil || n != 1 {
		t.Errorf("the sweep after the idle deadline deleted %d, %v; want 1", n, err)
	}
	if n, err := cs.DeleteEndedConsoleSessions(ctx, base.Add(31*time.Minute)); err != nil || n != 0 {
		t.Errorf("a second sweep deleted %d, %v; want 0", n, err)
	}
}
