// Package storetest is the conformance suite every store.Store
// implementation runs: storetest.Run(t, open) exercises every method
// against a fresh store and asserts the values it gets back.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// Run runs the suite. open must return a new, empty store each time it is
// called; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"NonceConsumeOnce", testNonceConsumeOnce},
		{"NonceExpired", testNonceExpired},
		{"NonceNeverIssued", testNonceNeverIssued},
		{"NonceDuplicate", testNonceDuplicate},
		{"NonceConcurrent", testNonceConcurrent},
		{"DeviceCreateGet", testDeviceCreateGet},
		{"DeviceConflict", testDeviceConflict},
		{"DeviceNotFound", testDeviceNotFound},
		{"CheckinUpdatesDevice", testCheckinUpdatesDevice},
		{"CheckinHistory", testCheckinHistory},
		{"CheckinUnknownDevice", testCheckinUnknownDevice},
		{"CheckinConcurrent", testCheckinConcurrent},
		{"BatchedCheckins", testBatchedCheckins},
		{"Keys", testKeys},
		{"KeyConflict", testKeyConflict},
		{"Secret", testSecret},
		{"SecretConcurrent", testSecretConcurrent},
		{"Stats", testStats},
		{"DailyCheckins", testDailyCheckins},
		{"StatusLists", testStatusLists},
		{"Feeds", testFeeds},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
	runIntel(t, open)
	RunOperations(t, open)
	RunUnenroll(t, open)
	t.Run("Population", func(t *testing.T) { Population(t, open) })
	t.Run("InfectionOncePerDay", func(t *testing.T) { InfectionOncePerDay(t, open) })
	t.Run("ConsoleUsers", func(t *testing.T) { ConsoleUsers(t, open) })
	t.Run("ConsoleSessions", func(t *testing.T) { ConsoleSessions(t, open) })
	t.Run("CheckinEvents", func(t *testing.T) { CheckinEvents(t, open) })
	t.Run("UsedNonces", func(t *testing.T) { UsedNonces(t, open) })
	t.Run("FeedReports", func(t *testing.T) { FeedReports(t, open) })
	t.Run("SightingsActivity", func(t *testing.T) { SightingsActivity(t, open) })
	t.Run("SightingHolds", func(t *testing.T) { SightingHolds(t, open) })
	t.Run("Policies", func(t *testing.T) { Policies(t, open) })
}

// base is a fixed instant with sub-microsecond digits and a non-UTC zone,
// so the suite checks truncation to microseconds and conversion to UTC.
var base = time.Date(2026, 12, 3, 18, 0, 0, 123456789, time.FixedZone("CST", 8*3600))

// micro is t as a store gives it back: UTC, microsecond precision.
func micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	want = micro(want)
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
	if got.Nanosecond()%1000 != 0 {
		t.Errorf("%s = %v has sub-microsecond digits", what, got)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func testNonceConsumeOnce(t *testing.T, s store.Store) {
	if err := s.CreateNonce(ctx(t), "n-1", base.Add(time.Minute)); err != nil {
		t.Fatalf("CreateNonce: %v", err)
	}
	if err := s.CreateNonce(ctx(t), "n-2", base.Add(time.Minute)); err != nil {
		t.Fatalf("CreateNonce: %v", err)
	}
	if err := s.ConsumeNonce(ctx(t), "n-1", base); err != nil {
		t.Fatalf("first ConsumeNonce: %v", err)
	}
	if err := s.ConsumeNonce(ctx(t), "n-1", base); !errors.Is(err, store.ErrNonceUnknown) {
		t.Fatalf("second ConsumeNonce = %v, want ErrNonceUnknown", err)
	}
	// The other nonce is untouched.
	if err := s.ConsumeNonce(ctx(t), "n-2", base.Add(59*time.Second)); err != nil {
		t.Fatalf("ConsumeNonce(n-2): %v", err)
	}
}

func testNonceExpired(t *testing.T, s store.Store) {
	if err := s.CreateNonce(ctx(t), "old", base); err != nil {
		t.Fatalf("CreateNonce: %v", err)
	}
	if err := s.ConsumeNonce(ctx(t), "old", base.Add(time.Second)); !errors.Is(err, store.ErrNonceExpired) {
		t.Fatalf("ConsumeNonce after expiry = %v, want ErrNonceExpired", err)
	}
	// An expired nonce is used up by the failed attempt.
	if err := s.ConsumeNonce(ctx(t), "old", base.Add(-time.Hour)); !errors.Is(err, store.ErrNonceUnknown) {
		t.Fatalf("ConsumeNonce of used-up expired nonce = %v, want ErrNonceUnknown", err)
	}
}

func testNonceNeverIssued(t *testing.T, s store.Store) {
	err := s.ConsumeNonce(ctx(t), "never", base)
	if !errors.Is(err, store.ErrNonceUnknown) {
		t.Fatalf("ConsumeNonce(never issued) = %v, want ErrNonceUnknown", err)
	}
	if errors.Is(err, store.ErrNonceExpired) {
		t.Fatalf("ConsumeNonce(never issued) also matches ErrNonceExpired: %v", err)
	}
}

func testNonceDuplicate(t *testing.T, s store.Store) {
	if err := s.CreateNonce(ctx(t), "dup", base.Add(time.Minute)); err != nil {
		t.Fatalf("CreateNonce: %v", err)
	}
	if err := s.CreateNonce(ctx(t), "dup", base.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateNonce of the same value = %v, want ErrConflict", err)
	}
}

func testNonceConcurrent(t *testing.T, s store.Store) {
	const n = 20
	if err := s.CreateNonce(ctx(t), "race", base.Add(time.Minute)); err != nil {
		t.Fatalf("CreateNonce: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.ConsumeNonce(context.Background(), "race", base)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrNonceUnknown):
		default:
			t.Errorf("consumer %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent consumers succeeded, want exactly 1", wins, n)
	}
}

func newDevice(id string) store.Device {
	return store.Device{
		ID:         id,
		PublicKey:  bytes.Repeat([]byte{byte(len(id))}, 32),
		OS:         "linux",
		EnrolledAt: base,
	}
}

func mustCreate(t *testing.T, s store.Store, d store.Device) {
	t.Helper()
	if err := s.CreateDevice(ctx(t), d); err != nil {
		t.Fatalf("CreateDevice(%s): %v", d.ID, err)
	}
}

func testDeviceCreateGet(t *testing.T, s store.Store) {
	d := store.Device{
		ID:         "dev-a",
		PublicKey:  []byte("0123456789abcdef0123456789abcdef"),
		OS:         "windows",
		EnrolledAt: base,
	}
	mustCreate(t, s, d)
	mustCreate(t, s, newDevice("dev-b"))
	got, err := s.Device(ctx(t), "dev-a")
	if err != nil {
		t.Fatalf("Device: %v", err)
	}
	if got.ID != "dev-a" || got.OS != "windows" || !bytes.Equal(got.PublicKey, d.PublicKey) {
		t.Errorf("Device = %+v, want id dev-a, os windows, key %q", got, d.PublicKey)
	}
	sameTime(t, "EnrolledAt", got.EnrolledAt, base)
	if !got.LastSeen.IsZero() || got.LastVerdict != "" || got.LastPolicy != "" {
		t.Errorf("new device has latest state %v %q %q, want none", got.LastSeen, got.LastVerdict, got.LastPolicy)
	}
}

func testDeviceConflict(t *testing.T, s store.Store) {
	mustCreate(t, s, newDevice("dev-a"))
	other := newDevice("dev-a")
	other.OS = "darwin"
	if err := s.CreateDevice(ctx(t), other); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateDevice of an existing id = %v, want ErrConflict", err)
	}
	got, err := s.Device(ctx(t), "dev-a")
	if err != nil {
		t.Fatalf("Device: %v", err)
	}
	if got.OS != "linux" {
		t.Errorf("conflicting CreateDevice changed OS to %q", got.OS)
	}
	st, err := s.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Devices != 1 {
		t.Errorf("Stats.Devices = %d after a conflict, want 1", st.Devices)
	}
}

func testDeviceNotFound(t *testing.T, s store.Store) {
	mustCreate(t, s, newDevice("dev-a"))
	if _, err := s.Device(ctx(t), "dev-x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Device(absent) = %v, want ErrNotFound", err)
	}
}

func newCheckin(dev string, at time.Time, v health.Tier) store.Checkin {
	return store.Checkin{
		DeviceID:   dev,
		ReceivedAt: at,
		Verdict:    v,
		PolicyID:   "default@3",
		Findings: []health.Finding{
			{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported},
			{ID: health.DiskEncryption, Status: health.Unknown},
		},
		OS:        "linux",
		OSVersion: "debian 12",
		Agent:     "herd-agent/0.1",
		Statement: []byte("eyJhbGciOiJFZERTQSJ9.e30.sig"),
		SourceIP:  "192.0.2.7",
	}
}

func mustRecord(t *testing.T, s store.Store, c store.Checkin) int64 {
	t.Helper()
	id, err := s.RecordCheckin(ctx(t), c)
	if err != nil {
		t.Fatalf("RecordCheckin(%s, %v): %v", c.DeviceID, c.ReceivedAt, err)
	}
	return id
}

func testCheckinUpdatesDevice(t *testing.T, s store.Store) {
	mustCreate(t, s, newDevice("dev-a"))
	mustCreate(t, s, newDevice("dev-b"))
	c := newCheckin("dev-a", base.Add(time.Hour), health.Warning)
	c.PolicyID = "default@7"
	mustRecord(t, s, c)
	got, err := s.Device(ctx(t), "dev-a")
	if err != nil {
		t.Fatalf("Device: %v", err)
	}
	sameTime(t, "LastSeen", got.LastSeen, base.Add(time.Hour))
	if got.LastVerdict != health.Warning || got.LastPolicy != "default@7" {
		t.Errorf("latest state = %q %q, want warning default@7", got.LastVerdict, got.LastPolicy)
	}
	sameTime(t, "EnrolledAt", got.EnrolledAt, base)

	mustRecord(t, s, newCheckin("dev-a", base.Add(2*time.Hour), health.Affirming))
	got, err = s.Device(ctx(t), "dev-a")
	if err != nil {
		t.Fatalf("Device: %v", err)
	}
	sameTime(t, "LastSeen", got.LastSeen, base.Add(2*time.Hour))
	if got.LastVerdict != health.Affirming || got.LastPolicy != "default@3" {
		t.Errorf("latest state = %q %q, want affirming default@3", got.LastVerdict, got.LastPolicy)
	}
	// The other device is untouched.
	other, err := s.Device(ctx(t), "dev-b")
	if err != nil {
		t.Fatalf("Device(dev-b): %v", err)
	}
	if !other.LastSeen.IsZero() || other.LastVerdict != "" {
		t.Errorf("dev-b latest state = %v %q, want none", other.LastSeen, other.LastVerdict)
	}
}

func testCheckinHistory(t *testing.T, s store.Store) {
	mustCreate(t, s, newDevice("dev-a"))
	mustCreate(t, s, newDevice("dev-b"))
	binary := []byte{0x00, 0xff, 0x80, '.', 0x01, 0x00}
	var ids []int64
	for i := range 5 {
		c := newCheckin("dev-a", base.Add(time.Duration(i)*time.Minute+time.Duration(i)*time.Nanosecond*333), health.Affirming)
		c.PolicyID = fmt.Sprintf("default@%d", i)
		if i == 2 {
			c.Statement = binary
			c.Findings = nil
			c.Verdict = health.Contraindicated
			c.SourceIP = "2001:db8::1"
		}
		ids = append(ids, mustRecord(t, s, c))
	}
	mustRecord(t, s, newCheckin("dev-b", base.Add(time.Hour), health.Warning))
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Errorf("check-in ids not increasing: %v", ids)
		}
	}

	all, err := s.Checkins(ctx(t), "dev-a", 100)
	if err != nil {
		t.Fatalf("Checkins: %v", err)
	}
	if len(all) != 5 {
		t.Fatalf("Checkins returned %d, want 5", len(all))
	}
	for i, c := range all {
		n := 4 - i // newest first
		if c.ID != ids[n] {
			t.Errorf("history[%d].ID = %d, want %d", i, c.ID, ids[n])
		}
		if c.DeviceID != "dev-a" {
			t.Errorf("history[%d].DeviceID = %q", i, c.DeviceID)
		}
		if want := fmt.Sprintf("default@%d", n); c.PolicyID != want {
			t.Errorf("history[%d].PolicyID = %q, want %q", i, c.PolicyID, want)
		}
		sameTime(t, fmt.Sprintf("history[%d].ReceivedAt", i), c.ReceivedAt,
			base.Add(time.Duration(n)*time.Minute+time.Duration(n)*time.Nanosecond*333))
		if c.OS != "linux" || c.OSVersion != "debian 12" || c.Agent != "herd-agent/0.1" {
			t.Errorf("history[%d] os/version/agent = %q %q %q", i, c.OS, c.OSVersion, c.Agent)
		}
	}
	mid := all[2]
	if mid.Verdict != health.Contraindicated || !bytes.Equal(mid.Statement, binary) || len(mid.Findings) != 0 || mid.SourceIP != "2001:db8::1" {
		t.Errorf("binary check-in = %+v, want contraindicated, statement %x, no findings", mid, binary)
	}
	first := all[4]
	wantFindings := newCheckin("", base, "").Findings
	if !slices.Equal(first.Findings, wantFindings) {
		t.Errorf("Findings = %+v, want %+v", first.Findings, wantFindings)
	}
	if first.Verdict != health.Affirming || string(first.Statement) != "eyJhbGciOiJFZERTQSJ9.e30.sig" || first.SourceIP != "192.0.2.7" {
		t.Errorf("first check-in = %+v", first)
	}

	two, err := s.Checkins(ctx(t), "dev-a", 2)
	if err != nil {
		t.Fatalf("Checkins(limit 2): %v", err)
	}
	if len(two) != 2 || two[0].ID != ids[4] || two[1].ID != ids[3] {
		t.Errorf("Checkins(limit 2) ids = %v, want [%d %d]", checkinIDs(two), ids[4], ids[3])
	}
	none, err := s.Checkins(ctx(t), "dev-x", 10)
	if err != nil {
		t.Fatalf("Checkins(unknown device): %v", err)
	}
	if len(none) != 0 {
		t.Errorf("Checkins(unknown device) = %d entries", len(none))
	}
}

func checkinIDs(cs []store.Checkin) []int64 {
	var ids []int64
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func testCheckinUnknownDevice(t *testing.T, s store.Store) {
	mustCreate(t, s, newDevice("dev-a"))
	_, err := s.RecordCheckin(ctx(t), newCheckin("ghost", base, health.Contraindicated))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RecordCheckin(unknown device) = %v, want ErrNotFound", err)
	}
	st, err := s.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Checkins != 0 || st.Devices != 1 || len(nonZero(st.ByVerdict)) != 0 {
		t.Errorf("Stats after a rejected check-in = %+v, want 1 device, nothing else", st)
	}
	if cs, err := s.Checkins(ctx(t), "ghost", 10); err != nil || len(cs) != 0 {
		t.Errorf("Checkins(ghost) = %d, %v; want none", len(cs), err)
	}
	if pop, ok := s.(store.Population); ok {
		days, err := pop.DailyCheckins(ctx(t), base.Add(-48*time.Hour), base.Add(48*time.Hour))
		if err != nil {
			t.Fatalf("DailyCheckins: %v", err)
		}
		if len(days) != 0 {
			t.Errorf("DailyCheckins after a rejected check-in = %+v, want none", days)
		}
	}
}

func testCheckinConcurrent(t *testing.T, s store.Store) {
	const devices, each = 4, 10
	for d := range devices {
		mustCreate(t, s, newDevice(fmt.Sprintf("dev-%d", d)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, devices*each)
	for d := range devices {
		for i := range each {
			wg.Go(func() {
				v := health.Affirming
				if i == each-1 && d == 0 {
					v = health.Contraindicated
				}
				c := newCheckin(fmt.Sprintf("dev-%d", d), base.Add(time.Duration(i)*time.Second), v)
				if _, err := s.RecordCheckin(context.Background(), c); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("RecordCheckin: %v", err)
	}
	st, err := s.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Checkins != devices*each || st.Devices != devices {
		t.Errorf("Stats = %+v, want %d devices, %d check-ins", st, devices, devices*each)
	}
	// Every device has exactly one latest verdict, whatever order the
	// check-ins landed in.
	var sum int64
	for _, n := range st.ByVerdict {
		sum += n
	}
	if sum != devices {
		t.Errorf("ByVerdict = %v sums to %d, want %d", st.ByVerdict, sum, devices)
	}
	for d := range devices {
		cs, err := s.Checkins(ctx(t), fmt.Sprintf("dev-%d", d), 100)
		if err != nil || len(cs) != each {
			t.Errorf("dev-%d history: %d, %v; want %d", d, len(cs), err, each)
		}
	}
}

func testKeys(t *testing.T, s store.Store) {
	keys := []store.SigningKey{
		{KID: "k-2026-01", Alg: "EdDSA", Private: []byte{1, 2, 3, 0}, Public: []byte{4, 5, 6}, CreatedAt: base.Add(-48 * time.Hour), RetiredAt: base},
		{KID: "k-2026-02", Alg: "EdDSA", Private: []byte{7, 8}, Public: []byte{9}, CreatedAt: base},
		{KID: "k-es", Alg: "ES256", Private: []byte{10}, Public: []byte{11, 12}, CreatedAt: base.Add(time.Hour)},
	}
	// Added out of order: the list is by creation time.
	for _, i := range []int{1, 2, 0} {
		if err := s.AddSigningKey(ctx(t), keys[i]); err != nil {
			t.Fatalf("AddSigningKey(%s): %v", keys[i].KID, err)
		}
	}
	got, err := s.SigningKeys(ctx(t))
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(got) != len(keys) {
		t.Fatalf("SigningKeys returned %d, want %d", len(got), len(keys))
	}
	for i, k := range got {
		w := keys[i]
		if k.KID != w.KID || k.Alg != w.Alg || !bytes.Equal(k.Private, w.Private) || !bytes.Equal(k.Public, w.Public) {
			t.Errorf("key %d = %+v, want %+v", i, k, w)
		}
		sameTime(t, k.KID+" CreatedAt", k.CreatedAt, w.CreatedAt)
		sameTime(t, k.KID+" RetiredAt", k.RetiredAt, w.RetiredAt)
	}
	if !got[1].RetiredAt.IsZero() {
		t.Errorf("signing key has RetiredAt %v, want zero", got[1].RetiredAt)
	}
}

func testKeyConflict(t *testing.T, s store.Store) {
	k := store.SigningKey{KID: "k1", Alg: "EdDSA", Private: []byte{1}, Public: []byte{2}, CreatedAt: base}
	if err := s.AddSigningKey(ctx(t), k); err != nil {
		t.Fatalf("AddSigningKey: %v", err)
	}
	k.Public = []byte{3}
	if err := s.AddSigningKey(ctx(t), k); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("AddSigningKey(same kid) = %v, want ErrConflict", err)
	}
	got, err := s.SigningKeys(ctx(t))
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(got) != 1 || !bytes.Equal(got[0].Public, []byte{2}) {
		t.Errorf("SigningKeys after conflict = %+v", got)
	}
}

func testSecret(t *testing.T, s store.Store) {
	calls := 0
	mk := func(v string) func() []byte {
		return func() []byte { calls++; return []byte(v) }
	}
	a, err := s.Secret(ctx(t), "pairwise", mk("\x00first\xff"))
	if err != nil {
		t.Fatalf("Secret: %v", err)
	}
	if string(a) != "\x00first\xff" {
		t.Errorf("Secret = %q, want the made value", a)
	}
	b, err := s.Secret(ctx(t), "pairwise", mk("second"))
	if err != nil {
		t.Fatalf("Secret again: %v", err)
	}
	if string(b) != "\x00first\xff" {
		t.Errorf("Secret again = %q, want the first value", b)
	}
	if calls != 1 {
		t.Errorf("make called %d times, want 1", calls)
	}
	c, err := s.Secret(ctx(t), "other", mk("other-value"))
	if err != nil {
		t.Fatalf("Secret(other): %v", err)
	}
	if string(c) != "other-value" {
		t.Errorf("Secret(other) = %q", c)
	}
}

func testSecretConcurrent(t *testing.T, s store.Store) {
	const n = 10
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = s.Secret(context.Background(), "shared", func() []byte {
				return []byte(fmt.Sprintf("value-from-%d", i))
			})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if len(got[i]) == 0 || !bytes.Equal(got[i], got[0]) {
			t.Errorf("caller %d got %q, caller 0 got %q", i, got[i], got[0])
		}
	}
	again, err := s.Secret(ctx(t), "shared", func() []byte { return []byte("late") })
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Errorf("Secret after the race = %q, %v; want %q", again, err, got[0])
	}
}

func nonZero(m map[health.Tier]int64) map[health.Tier]int64 {
	out := map[health.Tier]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func testStats(t *testing.T, s store.Store) {
	st, err := s.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats (empty): %v", err)
	}
	if st.Devices != 0 || st.Checkins != 0 || len(nonZero(st.ByVerdict)) != 0 {
		t.Errorf("empty Stats = %+v", st)
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		mustCreate(t, s, newDevice(id))
	}
	// a: warning then affirming; b: contraindicated; c: affirming twice;
	// d: warning; e: never checked in.
	steps := []struct {
		dev string
		v   health.Tier
	}{
		{"a", health.Warning}, {"b", health.Contraindicated}, {"c", health.Affirming},
		{"a", health.Affirming}, {"c", health.Affirming}, {"d", health.Warning},
	}
	for i, st := range steps {
		mustRecord(t, s, newCheckin(st.dev, base.Add(time.Duration(i)*time.Minute), st.v))
	}
	st, err = s.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := map[health.Tier]int64{health.Affirming: 2, health.Warning: 1, health.Contraindicated: 1}
	if st.Devices != 5 || st.Checkins != 6 {
		t.Errorf("Stats devices, checkins = %d, %d; want 5, 6", st.Devices, st.Checkins)
	}
	if got := nonZero(st.ByVerdict); !mapsEqual(got, want) {
		t.Errorf("ByVerdict = %v, want %v", got, want)
	}
	// b recovers: contraindicated drops to zero.
	mustRecord(t, s, newCheckin("b", base.Add(time.Hour), health.Affirming))
	st, err = s.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want = map[health.Tier]int64{health.Affirming: 3, health.Warning: 1}
	if got := nonZero(st.ByVerdict); !mapsEqual(got, want) || st.Checkins != 7 {
		t.Errorf("after recovery ByVerdict = %v, checkins %d; want %v, 7", got, st.Checkins, want)
	}
}

func mapsEqual(a, b map[health.Tier]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func testDailyCheckins(t *testing.T, s store.Store) {
	pop, ok := s.(store.Population)
	if !ok {
		t.Fatalf("%T does not implement store.Population", s)
	}
	mustCreate(t, s, newDevice("a"))
	win := newDevice("w")
	win.OS = "windows"
	mustCreate(t, s, win)
	day1 := time.Date(2026, 12, 3, 23, 59, 59, 999999000, time.UTC)
	day2 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	// 2026-12-04 07:30 in UTC+8 is still 2026-12-03 in UTC.
	day1East := time.Date(2026, 12, 4, 7, 30, 0, 0, time.FixedZone("CST", 8*3600))
	wc := func(at time.Time, v health.Tier) store.Checkin {
		c := newCheckin("w", at, v)
		c.OS = "windows"
		return c
	}
	for _, c := range []store.Checkin{
		newCheckin("a", day1, health.Affirming),
		newCheckin("a", day1East, health.Affirming),
		wc(day1, health.Warning),
		newCheckin("a", day2, health.Contraindicated),
		wc(day2, health.Warning),
		wc(day2.Add(time.Hour), health.Warning),
		newCheckin("a", day2.Add(48*time.Hour), health.Affirming), // outside the window
	} {
		mustRecord(t, s, c)
	}
	got, err := pop.DailyCheckins(ctx(t), day1.Add(-24*time.Hour), day2.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("DailyCheckins: %v", err)
	}
	d1 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	d2 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	want := []store.DayCount{
		{Day: d1, Verdict: health.Affirming, OS: "linux", Count: 2},
		{Day: d1, Verdict: health.Warning, OS: "windows", Count: 1},
		{Day: d2, Verdict: health.Contraindicated, OS: "linux", Count: 1},
		{Day: d2, Verdict: health.Warning, OS: "windows", Count: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("DailyCheckins = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Day.Equal(w.Day) || g.Day.Location() != time.UTC || g.Verdict != w.Verdict || g.OS != w.OS || g.Count != w.Count {
			t.Errorf("DailyCheckins[%d] = %+v, want %+v", i, g, w)
		}
	}
	// The window is by day: from and to are inclusive of their days.
	only2, err := pop.DailyCheckins(ctx(t), d2.Add(time.Hour), d2.Add(2*time.Hour))
	if err != nil {
		t.Fatalf("DailyCheckins(day 2): %v", err)
	}
	if len(only2) != 2 || !only2[0].Day.Equal(d2) || !only2[1].Day.Equal(d2) {
		t.Errorf("DailyCheckins(day 2) = %+v, want the two day-2 rows", only2)
	}
}
