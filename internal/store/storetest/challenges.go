package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// UsedNonces checks store.UsedNonces and the nonce and certificates a
// check-in records in its own transaction.
func UsedNonces(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"UseOnce", testUseNonceOnce},
		{"CheckinUsesNonce", testCheckinUsesNonce},
		{"CheckinNonceConcurrent", testCheckinNonceConcurrent},
		{"CheckinCertificates", testCheckinCertificates},
		{"DeviceNonce", testDeviceNonce},
		{"DeviceNonceConcurrent", testDeviceNonceConcurrent},
		{"Expire", testUsedNonceExpire},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func testUseNonceOnce(t *testing.T, s store.Store) {
	k := []byte("key-1\x00\xff")
	if used, err := s.NonceUsed(ctx(t), k); err != nil || used {
		t.Fatalf("NonceUsed before use = %v, %v; want false", used, err)
	}
	if err := s.UseNonce(ctx(t), k, base.Add(time.Minute)); err != nil {
		t.Fatalf("first UseNonce: %v", err)
	}
	if used, err := s.NonceUsed(ctx(t), k); err != nil || !used {
		t.Fatalf("NonceUsed after use = %v, %v; want true", used, err)
	}
	if err := s.UseNonce(ctx(t), k, base.Add(time.Minute)); !errors.Is(err, store.ErrNonceUnknown) {
		t.Fatalf("second UseNonce = %v, want ErrNonceUnknown", err)
	}
	if err := s.UseNonce(ctx(t), []byte("key-1\x00\xfe"), base.Add(time.Minute)); err != nil {
		t.Fatalf("UseNonce of another key: %v", err)
	}
}

func withNonce(c store.Checkin, key string) store.Checkin {
	c.NonceKey, c.NonceExpires = []byte(key), c.ReceivedAt.Add(2*time.Minute)
	return c
}

func checkinCount(t *testing.T, s store.Store) int64 {
	t.Helper()
	st, err := s.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st.Checkins
}

func testCheckinUsesNonce(t *testing.T, s store.Store) {
	mustCreate(t, s, newDevice("dev-n"))
	if _, err := s.RecordCheckin(ctx(t), withNonce(newCheckin("dev-n", base, health.Affirming), "k1")); err != nil {
		t.Fatalf("RecordCheckin with a fresh nonce: %v", err)
	}
	// The same nonce again: refused, and nothing of the check-in kept.
	_, err := s.RecordCheckin(ctx(t), withNonce(newCheckin("dev-n", base.Add(time.Second), health.Contraindicated), "k1"))
	if !errors.Is(err, store.ErrNonceUnknown) {
		t.Fatalf("RecordCheckin replaying a nonce = %v, want ErrNonceUnknown", err)
	}
	if n := checkinCount(t, s); n != 1 {
		t.Errorf("check-ins after a refused replay = %d, want 1", n)
	}
	d, err := s.Device(ctx(t), "dev-n")
	if err != nil || d.LastVerdict != health.Affirming {
		t.Errorf("device after a refused replay = %+v, %v; want verdict affirming", d, err)
	}
	// A nonce used otherwise (enrollment) cannot answer a check-in.
	if err := s.UseNonce(ctx(t), []byte("k2"), base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordCheckin(ctx(t), withNonce(newCheckin("dev-n", base.Add(2*time.Second), health.Affirming), "k2")); !errors.Is(err, store.ErrNonceUnknown) {
		t.Errorf("RecordCheckin with a nonce used by UseNonce = %v, want ErrNonceUnknown", err)
	}
	// A check-in refused for another reason does not use its nonce up.
	if _, err := s.RecordCheckin(ctx(t), withNonce(newCheckin("no-such-device", base, health.Affirming), "k3")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RecordCheckin of an unknown device = %v, want ErrNotFound", err)
	}
	if err := s.UseNonce(ctx(t), []byte("k3"), base.Add(time.Minute)); err != nil {
		t.Errorf("the nonce of a check-in that failed was used up: %v", err)
	}
	if n := checkinCount(t, s); n != 1 {
		t.Errorf("check-ins = %d, want 1", n)
	}
}

func testCheckinNonceConcurrent(t *testing.T, s store.Store) {
	const n = 8
	for i := range n {
		mustCreate(t, s, newDevice("dev-c"+string(rune('a'+i))))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.RecordCheckin(context.Background(), withNonce(newCheckin("dev-c"+string(rune('a'+i)), base, health.Affirming), "shared"))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrNonceUnknown):
			t.Errorf("RecordCheckin = %v, want nil or ErrNonceUnknown", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d check-ins used one nonce, want exactly 1", ok)
	}
	if c := checkinCount(t, s); c != 1 {
		t.Errorf("check-ins = %d, want 1", c)
	}
}

func testCheckinCertificates(t *testing.T, s store.Store) {
	sl, ok := s.(store.StatusLists)
	if !ok {
		t.Fatalf("%T keeps no status lists: both stores must", s)
	}
	mustCreate(t, s, newDevice("dev-cert"))
	list, first, err := sl.ReserveStatusIndices(ctx(t), 2, 64)
	if err != nil {
		t.Fatal(err)
	}
	c := newCheckin("dev-cert", base, health.Affirming)
	for i, aud := range []string{"https://a.example", "https://b.example"} {
		c.Certificates = append(c.Certificates, store.IssuedCertificate{JTI: "jti-" + aud, DeviceID: "dev-cert", Audience: aud,
			ListID: list, Index: first + int64(i), IssuedAt: base, ExpiresAt: base.Add(4 * time.Hour)})
	}
	if _, err := s.RecordCheckin(ctx(t), c); err != nil {
		t.Fatalf("RecordCheckin with certificates: %v", err)
	}
	// A check-in whose certificate clashes is refused whole.
	c2 := newCheckin("dev-cert", base.Add(time.Second), health.Affirming)
	c2.Certificates = c.Certificates[:1]
	if _, err := s.RecordCheckin(ctx(t), c2); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RecordCheckin with a certificate recorded before = %v, want ErrConflict", err)
	}
	if n := checkinCount(t, s); n != 1 {
		t.Errorf("check-ins = %d, want 1", n)
	}
	revoked, err := sl.RevokeDevice(ctx(t), "dev-cert", "test", base.Add(time.Minute))
	if err != nil || len(revoked) != 2 {
		t.Fatalf("RevokeDevice = %d certificates, %v; want the 2 recorded with the check-in", len(revoked), err)
	}
	l, err := sl.StatusList(ctx(t), list)
	if err != nil || !l.Revoked(first) || !l.Revoked(first+1) {
		t.Errorf("status list after revocation = %+v, %v; want indices %d and %d set", l, err, first, first+1)
	}
}

func testUsedNonceExpire(t *testing.T, s store.Store) {
	r, ok := s.(store.Retention)
	if !ok {
		t.Fatalf("%T has no retention: both stores must", s)
	}
	if err := s.UseNonce(ctx(t), []byte("old"), base); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce(ctx(t), []byte("live"), base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := r.DeleteExpiredNonces(ctx(t), base.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredNonces = %d, %v; want 1 (the expired used nonce)", n, err)
	}
	// The expired one is gone (the authority refuses it by its MAC'd
	// expiry anyway); the live one is still used.
	if err := s.UseNonce(ctx(t), []byte("old"), base.Add(time.Hour)); err != nil {
		t.Errorf("UseNonce after its row expired: %v", err)
	}
	if err := s.UseNonce(ctx(t), []byte("live"), base.Add(time.Hour)); !errors.Is(err, store.ErrNonceUnknown) {
		t.Errorf("UseNonce of a live used nonce after retention = %v, want ErrNonceUnknown", err)
	}
}

func withDeviceNonce(c store.Checkin, at int64, random string) store.Checkin {
	c.DeviceNonce = &store.DeviceNonce{IssuedAt: at, Random: []byte(random)}
	return c
}

func deviceNonceUsed(t *testing.T, s store.Store, dev string, at int64, random string) bool {
	t.Helper()
	used, err := s.DeviceNonceUsed(ctx(t), dev, store.DeviceNonce{IssuedAt: at, Random: []byte(random)})
	if err != nil {
		t.Fatalf("DeviceNonceUsed: %v", err)
	}
	return used
}

// testDeviceNonce: a device's nonce is used once, by becoming the
// device's latest; an earlier one is refused; a refused check-in records
// nothing and a check-in refused for another reason uses nothing up.
func testDeviceNonce(t *testing.T, s store.Store) {
	mustCreate(t, s, newDevice("dev-dn"))
	mustCreate(t, s, newDevice("dev-dn2"))
	t0 := base.UnixMicro()
	if deviceNonceUsed(t, s, "dev-dn", t0, "b") {
		t.Fatal("a fresh device reports its first nonce used")
	}
	if _, err := s.RecordCheckin(ctx(t), withDeviceNonce(newCheckin("dev-dn", base, health.Affirming), t0, "b")); err != nil {
		t.Fatalf("RecordCheckin with a fresh device nonce: %v", err)
	}
	for _, tc := range []struct {
		name   string
		at     int64
		random string
	}{
		{"the same nonce", t0, "b"},
		{"an earlier nonce", t0 - 1, "z"},
		{"the same time, smaller random bytes", t0, "a"},
	} {
		if !deviceNonceUsed(t, s, "dev-dn", tc.at, tc.random) {
			t.Errorf("%s: DeviceNonceUsed = false, want true", tc.name)
		}
		_, err := s.RecordCheckin(ctx(t), withDeviceNonce(newCheckin("dev-dn", base.Add(time.Second), health.Contraindicated), tc.at, tc.random))
		if !errors.Is(err, store.ErrNonceUnknown) {
			t.Errorf("%s: RecordCheckin = %v, want ErrNonceUnknown", tc.name, err)
		}
	}
	if n := checkinCount(t, s); n != 1 {
		t.Errorf("check-ins after refused replays = %d, want 1", n)
	}
	if d, err := s.Device(ctx(t), "dev-dn"); err != nil || d.LastVerdict != health.Affirming {
		t.Errorf("device after refused replays = %+v, %v; want verdict affirming", d, err)
	}
	// Another device's nonces are its own.
	if deviceNonceUsed(t, s, "dev-dn2", t0, "b") {
		t.Error("one device's latest nonce counts as used by another")
	}
	if _, err := s.RecordCheckin(ctx(t), withDeviceNonce(newCheckin("dev-dn2", base, health.Affirming), t0, "b")); err != nil {
		t.Errorf("another device's check-in with an equal nonce: %v", err)
	}
	// Later nonces go on being accepted, by time and then random bytes.
	if _, err := s.RecordCheckin(ctx(t), withDeviceNonce(newCheckin("dev-dn", base.Add(2*time.Second), health.Warning), t0, "c")); err != nil {
		t.Errorf("RecordCheckin with larger random bytes at the same time: %v", err)
	}
	if _, err := s.RecordCheckin(ctx(t), withDeviceNonce(newCheckin("dev-dn", base.Add(3*time.Second), health.Affirming), t0+1, "a")); err != nil {
		t.Errorf("RecordCheckin with a later nonce: %v", err)
	}
	if n := checkinCount(t, s); n != 4 {
		t.Errorf("check-ins = %d, want 4", n)
	}
	// A check-in refused for another reason (its device is not enrolled)
	// uses nothing up.
	c := withDeviceNonce(newCheckin("dev-dn", base.Add(4*time.Second), health.Affirming), t0+5, "a")
	if _, err := s.RecordCheckin(ctx(t), withDeviceNonce(newCheckin("no-such-device", base, health.Affirming), t0+5, "a")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordCheckin of an unknown device = %v, want ErrNotFound", err)
	}
	if deviceNonceUsed(t, s, "dev-dn", t0+5, "a") {
		t.Error("a nonce reported used before any check-in used it")
	}
	if _, err := s.RecordCheckin(ctx(t), c); err != nil {
		t.Errorf("RecordCheckin: %v", err)
	}
}

// testDeviceNonceConcurrent: copies of one check-in sent at once, as by
// an attacker replaying it through several nodes: exactly one counts.
func testDeviceNonceConcurrent(t *testing.T, s store.Store) {
	mustCreate(t, s, newDevice("dev-dnc"))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.RecordCheckin(context.Background(), withDeviceNonce(newCheckin("dev-dnc", base, health.Affirming), base.UnixMicro(), "r"))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrNonceUnknown):
			t.Errorf("RecordCheckin = %v, want nil or ErrNonceUnknown", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d check-ins used one device nonce, want exactly 1", ok)
	}
	if c := checkinCount(t, s); c != 1 {
		t.Errorf("check-ins = %d, want 1", c)
	}
}
