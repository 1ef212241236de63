package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// RunOperations runs the tests of store.Operations: admin tokens, the
// audit log, device administration, retention, relying parties, the
// webhook outbox and enrollment tokens.
func RunOperations(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Operations, full store.Store)
	}{
		{"AdminTokens", testAdminTokens},
		{"Audit", testAudit},
		{"ListDevices", testListDevices},
		{"DeleteDevice", testDeleteDevice},
		{"Retention", testRetention},
		{"RelyingParties", testRelyingParties},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"EnrollmentTokens", testEnrollmentTokens},
		{"EnrollmentTokenSingleUseConcurrent", testEnrollmentTokenSingleUseConcurrent},
	}
	for _, tc := range tests {
		t.Run("Operations/"+tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			ops, ok := s.(store.Operations)
			if !ok {
				t.Fatalf("%T does not implement store.Operations", s)
			}
			tc.fn(t, ops, s)
		})
	}
}

func testAdminTokens(t *testing.T, s store.Operations, _ store.Store) {
	h1, h2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if err := s.CreateAdminToken(ctx(t), store.AdminToken{Name: "alice", Hash: h1, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAdminToken(ctx(t), store.AdminToken{Name: "alice", Hash: h2, CreatedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second token named alice = %v, want ErrConflict", err)
	}
	if err := s.CreateAdminToken(ctx(t), store.AdminToken{Name: "bob", Hash: h2, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	got, err := s.AdminTokenByHash(ctx(t), h1)
	if err != nil || got.Name != "alice" || !got.RevokedAt.IsZero() {
		t.Fatalf("AdminTokenByHash = %+v, %v; want alice, not revoked", got, err)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, base)
	if _, err := s.AdminTokenByHash(ctx(t), bytes.Repeat([]byte{3}, 32)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hash = %v, want ErrNotFound", err)
	}
	if err := s.RevokeAdminToken(ctx(t), "alice", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAdminToken(ctx(t), "alice", base.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking twice = %v, want ErrNotFound", err)
	}
	got, _ = s.AdminTokenByHash(ctx(t), h1)
	sameTime(t, "RevokedAt", got.RevokedAt, base.Add(time.Hour))
	all, err := s.AdminTokens(ctx(t))
	if err != nil || len(all) != 2 || all[0].Name != "alice" || all[1].Name != "bob" || !all[1].RevokedAt.IsZero() {
		t.Errorf("AdminTokens = %+v, %v", all, err)
	}
}

func testAudit(t *testing.T, s store.Operations, _ store.Store) {
	for i := range 3 {
		if err := s.AppendAudit(ctx(t), store.AuditEntry{At: base.Add(time.Duration(i) * time.Second), Actor: "alice",
			Action: fmt.Sprintf("act-%d", i), Target: "dev-a", SourceIP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuditLog(ctx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Action != "act-2" || got[1].Action != "act-1" || got[0].Actor != "alice" || got[0].SourceIP != "192.0.2.1" || got[0].Target != "dev-a" {
		t.Fatalf("AuditLog(2) = %+v, want act-2, act-1 by alice", got)
	}
	sameTime(t, "At", got[0].At, base.Add(2*time.Second))
}

func ids(ds []store.Device) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func testListDevices(t *testing.T, s store.Operations, full store.Store) {
	for _, id := range []string{"b-2", "a_1", "a-2", "b_1", "c"} {
		mustCreate(t, full, newDevice(id))
	}
	mustRecord(t, full, newCheckin("b-2", base, health.Contraindicated))
	mustRecord(t, full, newCheckin("c", base, health.Contraindicated))
	mustRecord(t, full, newCheckin("a_1", base, health.Affirming))
	tests := []struct {
		name string
		f    store.DeviceFilter
		want []string
	}{
		{"all", store.DeviceFilter{}, []string{"a-2", "a_1", "b-2", "b_1", "c"}},
		{"page1", store.DeviceFilter{Limit: 2}, []string{"a-2", "a_1"}},
		{"page2", store.DeviceFilter{Limit: 2, After: "a_1"}, []string{"b-2", "b_1"}},
		{"prefix", store.DeviceFilter{IDPrefix: "b"}, []string{"b-2", "b_1"}},
		{"verdict", store.DeviceFilter{Verdict: health.Contraindicated}, []string{"b-2", "c"}},
		{"prefix and verdict", store.DeviceFilter{IDPrefix: "a", Verdict: health.Affirming}, []string{"a_1"}},
		{"none", store.DeviceFilter{IDPrefix: "z"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListDevices(ctx(t), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("ListDevices(%+v) = %v, want %v", tc.f, ids(got), tc.want)
			}
		})
	}
	got, _ := s.ListDevices(ctx(t), store.DeviceFilter{IDPrefix: "c"})
	if len(got) != 1 || got[0].LastVerdict != health.Contraindicated || got[0].OS != "linux" {
		t.Errorf("device c = %+v", got)
	}
}

func testDeleteDevice(t *testing.T, s store.Operations, full store.Store) {
	mustCreate(t, full, newDevice("dev-a"))
	mustCreate(t, full, newDevice("dev-b"))
	mustRecord(t, full, newCheckin("dev-a", base, health.Warning))
	mustRecord(t, full, newCheckin("dev-a", base.Add(time.Minute), health.Contraindicated))
	mustRecord(t, full, newCheckin("dev-b", base, health.Affirming))
	if err := s.RecordAudiences(ctx(t), "dev-a", []string{"https://bank.example"}, base); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDevice(ctx(t), "dev-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDevice(ctx(t), "dev-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
	if _, err := full.Device(ctx(t), "dev-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Device after delete = %v, want ErrNotFound", err)
	}
	if h, err := full.Checkins(ctx(t), "dev-a", 10); err != nil || len(h) != 0 {
		t.Errorf("history after delete = %d rows, %v; want none", len(h), err)
	}
	if h, _ := full.Checkins(ctx(t), "dev-b", 10); len(h) != 1 {
		t.Errorf("other device's history = %d rows, want 1", len(h))
	}
	// Re-enrolling the same id and recording an audience works: the old
	// audience rows are gone.
	mustCreate(t, full, newDevice("dev-a"))
	if err := s.RecordAudiences(ctx(t), "dev-a", []string{"https://bank.example"}, base); err != nil {
		t.Fatal(err)
	}
	st, err := full.Stats(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[health.Tier]int64{health.Affirming: 1}
	if st.Devices != 2 || st.Checkins != 1 || !mapsEqual(nonZero(st.ByVerdict), want) {
		t.Errorf("Stats after delete = %+v, want 2 devices, 1 check-in, %v", st, want)
	}
}

func testRetention(t *testing.T, s store.Operations, full store.Store) {
	mustCreate(t, full, newDevice("dev-a"))
	for i := range 4 {
		mustRecord(t, full, newCheckin("dev-a", base.Add(time.Duration(i)*24*time.Hour), health.Affirming))
	}
	n, err := s.ClearSourceIPs(ctx(t), base.Add(36*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("ClearSourceIPs = %d, %v; want 2", n, err)
	}
	if n, _ := s.ClearSourceIPs(ctx(t), base.Add(36*time.Hour)); n != 0 {
		t.Errorf("ClearSourceIPs again = %d, want 0", n)
	}
	h, _ := full.Checkins(ctx(t), "dev-a", 10)
	var addrs []string
	for _, c := range h {
		addrs = append(addrs, c.SourceIP)
	}
	if want := []string{"192.0.2.7", "192.0.2.7", "", ""}; !slices.Equal(addrs, want) {
		t.Errorf("source addresses newest first = %q, want %q", addrs, want)
	}
	n, err = s.DeleteCheckinsBefore(ctx(t), base.Add(24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteCheckinsBefore = %d, %v; want 1", n, err)
	}
	if h, _ := full.Checkins(ctx(t), "dev-a", 10); len(h) != 3 {
		t.Errorf("history = %d rows, want 3", len(h))
	}
	if st, _ := full.Stats(ctx(t)); st.Checkins != 3 {
		t.Errorf("Stats.Checkins = %d, want 3", st.Checkins)
	}
	if err := full.CreateNonce(ctx(t), "old", base); err != nil {
		t.Fatal(err)
	}
	if err := full.CreateNonce(ctx(t), "new", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpiredNonces(ctx(t), base.Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("DeleteExpiredNonces = %d, %v; want 1", n, err)
	}
	if err := full.ConsumeNonce(ctx(t), "new", base); err != nil {
		t.Errorf("live nonce gone: %v", err)
	}
}

func testRelyingParties(t *testing.T, s store.Operations, full store.Store) {
	bank := store.RelyingParty{Audience: "https://bank.example", WebhookURL: "https://bank.example/hook", Secret: []byte("s1"), CreatedAt: base}
	shop := store.RelyingParty{Audience: "https://shop.example", WebhookURL: "https://shop.example/hook", Secret: []byte("s2"), CreatedAt: base}
	for _, rp := range []store.RelyingParty{shop, bank} {
		if err := s.AddRelyingParty(ctx(t), rp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRelyingParty(ctx(t), bank); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate = %v, want ErrConflict", err)
	}
	all, err := s.RelyingParties(ctx(t))
	if err != nil || len(all) != 2 || all[0].Audience != bank.Audience || string(all[0].Secret) != "s1" || all[0].WebhookURL != bank.WebhookURL {
		t.Fatalf("RelyingParties = %+v, %v", all, err)
	}
	mustCreate(t, full, newDevice("dev-a"))
	mustCreate(t, full, newDevice("dev-b"))
	for range 2 { // idempotent
		if err := s.RecordAudiences(ctx(t), "dev-a", []string{"https://bank.example", "https://unregistered.example"}, base); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordAudiences(ctx(t), "dev-b", []string{"https://shop.example"}, base); err != nil {
		t.Fatal(err)
	}
	seen, err := s.RelyingPartiesOf(ctx(t), "dev-a")
	if err != nil || len(seen) != 1 || seen[0].Audience != bank.Audience {
		t.Errorf("RelyingPartiesOf(dev-a) = %+v, %v; want the bank only", seen, err)
	}
	if err := s.RemoveRelyingParty(ctx(t), bank.Audience); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveRelyingParty(ctx(t), bank.Audience); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second remove = %v, want ErrNotFound", err)
	}
	if seen, _ := s.RelyingPartiesOf(ctx(t), "dev-a"); len(seen) != 0 {
		t.Errorf("RelyingPartiesOf after removal = %+v, want none", seen)
	}
}

func testOutbox(t *testing.T, s store.Operations, _ store.Store) {
	evs := []store.OutboxEvent{
		{EventID: "e1", Audience: "https://bank.example", Body: []byte(`{"a":1}`), CreatedAt: base},
		{EventID: "e2", Audience: "https://shop.example", Body: []byte(`{"a":2}`), CreatedAt: base.Add(time.Second)},
	}
	if err := s.EnqueueEvents(ctx(t), evs); err != nil {
		t.Fatal(err)
	}
	now := base.Add(time.Minute)
	got, err := s.ClaimEvents(ctx(t), now, 30*time.Second, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("ClaimEvents = %d, %v; want 2", len(got), err)
	}
	slices.SortFunc(got, func(a, b store.OutboxEvent) int { return int(a.ID - b.ID) })
	if got[0].EventID != "e1" || string(got[0].Body) != `{"a":1}` || got[0].Audience != "https://bank.example" || got[0].Attempts != 0 {
		t.Errorf("first event = %+v", got[0])
	}
	sameTime(t, "lease", got[0].NextAttempt, now.Add(30*time.Second))
	if again, _ := s.ClaimEvents(ctx(t), now.Add(10*time.Second), 30*time.Second, 10); len(again) != 0 {
		t.Errorf("claimed %d leased events, want 0", len(again))
	}
	// The dispatcher dies: once the lease ends the event is due again.
	again, err := s.ClaimEvents(ctx(t), now.Add(31*time.Second), 30*time.Second, 10)
	if err != nil || len(again) != 2 {
		t.Fatalf("claims after the lease = %d, %v; want 2", len(again), err)
	}
	if err := s.EventDelivered(ctx(t), got[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.EventFailed(ctx(t), got[1].ID, 1, now.Add(time.Hour), "503 Service Unavailable", false, now); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.ClaimEvents(ctx(t), now.Add(59*time.Minute), time.Minute, 10); len(c) != 0 {
		t.Errorf("claimed %d events before their retry time", len(c))
	}
	c, _ := s.ClaimEvents(ctx(t), now.Add(time.Hour), time.Minute, 10)
	if len(c) != 1 || c[0].EventID != "e2" || c[0].Attempts != 1 || c[0].LastError != "503 Service Unavailable" {
		t.Fatalf("retry claim = %+v, want e2 after 1 attempt", c)
	}
	if err := s.EventFailed(ctx(t), c[0].ID, 2, now.Add(2*time.Hour), "timeout", true, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.ClaimEvents(ctx(t), now.Add(100*time.Hour), time.Minute, 10); len(c) != 0 {
		t.Errorf("claimed a dead event")
	}
	dead, err := s.DeadEvents(ctx(t), 10)
	if err != nil || len(dead) != 1 || dead[0].EventID != "e2" || dead[0].Attempts != 2 || dead[0].LastError != "timeout" {
		t.Fatalf("DeadEvents = %+v, %v", dead, err)
	}
	sameTime(t, "DeadAt", dead[0].DeadAt, now.Add(time.Hour))
	if err := s.EventFailed(ctx(t), 1<<40, 1, now, "x", false, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EventFailed(unknown) = %v, want ErrNotFound", err)
	}
}

func testOutboxConcurrentClaims(t *testing.T, s store.Operations, _ store.Store) {
	const n = 40
	var evs []store.OutboxEvent
	for i := range n {
		evs = append(evs, store.OutboxEvent{EventID: fmt.Sprint(i), Audience: "a", Body: []byte("{}"), CreatedAt: base})
	}
	if err := s.EnqueueEvents(ctx(t), evs); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := s.ClaimEvents(ctx(t), base.Add(time.Minute), time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(c) == 0 {
					return
				}
				mu.Lock()
				for _, e := range c {
					seen[e.EventID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d distinct events, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("event %s claimed %d times while leased", id, k)
		}
	}
}

func testEnrollmentTokens(t *testing.T, s store.Operations, _ store.Store) {
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	for _, tok := range []store.EnrollmentToken{
		{Name: "fleet", Hash: h(1), CreatedAt: base},
		{Name: "once", Hash: h(2), CreatedAt: base, SingleUse: true},
		{Name: "week", Hash: h(3), CreatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour)},
	} {
		if err := s.CreateEnrollmentToken(ctx(t), tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateEnrollmentToken(ctx(t), store.EnrollmentToken{Name: "fleet", Hash: h(9), CreatedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate = %v, want ErrConflict", err)
	}
	tests := []struct {
		name string
		hash []byte
		at   time.Time
		want string // "" for ErrNotFound
	}{
		{"reusable", h(1), base, "fleet"},
		{"reusable again", h(1), base, "fleet"},
		{"single use", h(2), base, "once"},
		{"single use again", h(2), base, ""},
		{"before expiry", h(3), base.Add(time.Hour), "week"},
		{"after expiry", h(3), base.Add(8 * 24 * time.Hour), ""},
		{"unknown", h(4), base, ""},
	}
	for _, tc := range tests {
		got, err := s.UseEnrollmentToken(ctx(t), tc.hash, tc.at)
		if tc.want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: = %q, %v; want ErrNotFound", tc.name, got, err)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("%s: = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if err := s.RevokeEnrollmentToken(ctx(t), "fleet", base); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseEnrollmentToken(ctx(t), h(1), base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked token = %v, want ErrNotFound", err)
	}
	all, err := s.EnrollmentTokens(ctx(t))
	if err != nil || len(all) != 3 {
		t.Fatalf("EnrollmentTokens = %+v, %v", all, err)
	}
	if all[0].Name != "fleet" || all[0].Uses != 2 || all[0].RevokedAt.IsZero() || !all[1].SingleUse || all[1].Uses != 1 {
		t.Errorf("EnrollmentTokens = %+v", all)
	}
	sameTime(t, "ExpiresAt", all[2].ExpiresAt, base.Add(7*24*time.Hour))
}

func testEnrollmentTokenSingleUseConcurrent(t *testing.T, s store.Operations, _ store.Store) {
	hash := bytes.Repeat([]byte{7}, 32)
	if err := s.CreateEnrollmentToken(ctx(t), store.EnrollmentToken{Name: "once", Hash: hash, CreatedAt: base, SingleUse: true}); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UseEnrollmentToken(ctx(t), hash, base)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent uses of a single-use token succeeded, want 1", wins)
	}
}
