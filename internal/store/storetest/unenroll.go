package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// RunUnenroll checks what operators rely on when they take things away:
// a deleted device's certificates stay revoked, a revoked admin token's
// name can be given again, and the keyring's lifetime record.
func RunUnenroll(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"DeleteDeviceRevokes", testDeleteDeviceRevokes},
		{"AdminTokenNameReuse", testAdminTokenNameReuse},
		{"KeyringState", testKeyringState},
		{"AuditOutcome", testAuditOutcome},
	}
	for _, tc := range tests {
		t.Run("Unenroll/"+tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// testDeleteDeviceRevokes: deleting a device sets the bits of its live
// certificates, and they stay set once its certificate rows are gone.
func testDeleteDeviceRevokes(t *testing.T, s store.Store) {
	sl, ok := s.(store.StatusLists)
	ops, ok2 := s.(store.Operations)
	if !ok || !ok2 {
		t.Fatalf("%T does not keep status lists and operations", s)
	}
	mustCreate(t, s, newDevice("dev-gone"))
	mustCreate(t, s, newDevice("dev-stays"))
	list := reserve(t, sl, 8, 64).list
	now := time.Now().UTC().Truncate(time.Second)
	cert := func(jti, dev string, idx int64) store.IssuedCertificate {
		return store.IssuedCertificate{JTI: jti, DeviceID: dev, Audience: "https://bank.example", ListID: list, Index: idx,
			IssuedAt: now, ExpiresAt: now.Add(4 * time.Hour)}
	}
	if err := sl.RecordCertificates(ctx(t), []store.IssuedCertificate{
		cert("g1", "dev-gone", 2), cert("g2", "dev-gone", 5), cert("s1", "dev-stays", 3),
	}); err != nil {
		t.Fatal(err)
	}
	if err := ops.DeleteDevice(ctx(t), "dev-gone"); err != nil {
		t.Fatalf("DeleteDevice: %v", err)
	}
	l, err := sl.StatusList(ctx(t), list)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 8; i++ {
		if want := i == 2 || i == 5; l.Revoked(i) != want {
			t.Errorf("after deleting the device, index %d revoked = %v, want %v", i, l.Revoked(i), want)
		}
	}
	// Its rows are gone, so revoking by device finds nothing, and
	// forgetting expired certificates leaves the bits alone.
	if got, err := sl.RevokeDevice(ctx(t), "dev-gone", "again", now); err != nil || len(got) != 0 {
		t.Errorf("RevokeDevice after delete = %v, %v; want none", got, err)
	}
	if _, err := sl.DeleteExpiredCertificates(ctx(t), now.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if l, _ = sl.StatusList(ctx(t), list); !l.Revoked(2) || !l.Revoked(5) || l.Revoked(3) {
		t.Errorf("bits after forgetting expired certificates: %08b", l.Bits)
	}
	if err := ops.DeleteDevice(ctx(t), "dev-gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

// testAdminTokenNameReuse: a revoked token's name can be given again; the
// revoked record stays, and a working name still conflicts.
func testAdminTokenNameReuse(t *testing.T, s store.Store) {
	ops := s.(store.Operations)
	at := time.Now().UTC().Truncate(time.Second)
	if err := ops.CreateAdminToken(ctx(t), store.AdminToken{Name: "t1", Hash: []byte("hash-1"), CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := ops.CreateAdminToken(ctx(t), store.AdminToken{Name: "t1", Hash: []byte("hash-2"), CreatedAt: at}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a working token's name again: %v, want ErrConflict", err)
	}
	if err := ops.RevokeAdminToken(ctx(t), "t1", at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := ops.CreateAdminToken(ctx(t), store.AdminToken{Name: "t1", Hash: []byte("hash-3"), CreatedAt: at.Add(2 * time.Minute)}); err != nil {
		t.Fatalf("a revoked token's name again: %v, want it allowed", err)
	}
	ts, err := ops.AdminTokens(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].RevokedAt.IsZero() || !ts[1].RevokedAt.IsZero() || string(ts[1].Hash) != "hash-3" {
		t.Fatalf("tokens = %+v, want the revoked t1 then the working t1", ts)
	}
	if old, err := ops.AdminTokenByHash(ctx(t), []byte("hash-1")); err != nil || old.RevokedAt.IsZero() {
		t.Errorf("old token = %+v, %v; want it kept, revoked", old, err)
	}
	if err := ops.RevokeAdminToken(ctx(t), "t1", at.Add(3*time.Minute)); err != nil {
		t.Fatalf("revoking the new t1: %v", err)
	}
	if err := ops.RevokeAdminToken(ctx(t), "t1", at.Add(4*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking with no working t1: %v, want ErrNotFound", err)
	}
}

// testKeyringState: the longest lifetime only grows; the keys version
// changes when a key is added.
func testKeyringState(t *testing.T, s store.Store) {
	ks, ok := s.(store.KeyringState)
	if !ok {
		t.Fatalf("%T does not implement store.KeyringState", s)
	}
	if d, err := ks.LongestCertLifetime(ctx(t)); err != nil || d != 0 {
		t.Fatalf("fresh store: longest lifetime %v, %v; want 0", d, err)
	}
	for _, d := range []time.Duration{8 * time.Hour, 4 * time.Hour} {
		if err := ks.NoteCertLifetime(ctx(t), d); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := ks.LongestCertLifetime(ctx(t)); err != nil || d != 8*time.Hour {
		t.Errorf("longest lifetime after 8h then 4h = %v, %v; want 8h", d, err)
	}
	v1, err := ks.KeysVersion(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddSigningKey(ctx(t), store.SigningKey{KID: "k-new", Alg: "EdDSA", Private: []byte{1}, Public: []byte{2}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if v2, err := ks.KeysVersion(ctx(t)); err != nil || v2 == v1 {
		t.Errorf("keys version %d before adding a key, %d (%v) after; want a change", v1, v2, err)
	}
}

// testAuditOutcome: an entry started pending gets its outcome.
func testAuditOutcome(t *testing.T, s store.Store) {
	ao, ok := s.(store.AuditOutcomes)
	if !ok {
		t.Fatalf("%T does not implement store.AuditOutcomes", s)
	}
	at := time.Now().UTC().Truncate(time.Second)
	id, err := ao.StartAudit(ctx(t), store.AuditEntry{At: at, Actor: "alice", Action: "device.delete", Target: "d1", SourceIP: "local", Outcome: store.AuditPending})
	if err != nil {
		t.Fatal(err)
	}
	if err := ao.SetAuditOutcome(ctx(t), id, "404"); err != nil {
		t.Fatal(err)
	}
	if err := ao.SetAuditOutcome(ctx(t), id+1000, "200"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("outcome of a missing entry: %v, want ErrNotFound", err)
	}
	es, err := s.(store.Operations).AuditLog(ctx(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].ID != id || es[0].Outcome != "404" || es[0].Action != "device.delete" {
		t.Errorf("audit log = %+v, want one device.delete entry with outcome 404", es)
	}
}
