package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// CheckinEvents checks that the webhook events a check-in carries are
// written in its own transaction: none when the check-in fails, all when
// it succeeds, none for a repeated verdict when EventsOnChange is set.
func CheckinEvents(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	ops, ok := s.(store.Operations)
	if !ok {
		t.Fatalf("%T has no outbox: both stores must", s)
	}
	ctx := context.Background()
	evs := func(tag string) []store.OutboxEvent {
		return []store.OutboxEvent{
			{EventID: tag + "-a", Audience: "https://a.example", Body: []byte(`{"a":1}`), CreatedAt: base},
			{EventID: tag + "-b", Audience: "https://b.example", Body: []byte(`{"b":2}`), CreatedAt: base},
		}
	}
	claimed := func() []string {
		t.Helper()
		got, err := ops.ClaimEvents(ctx, base.Add(time.Minute), time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range got {
			out = append(out, e.EventID)
		}
		slices.Sort(out)
		return out
	}
	checkin := func(dev string, v health.Tier, tag string, onChange bool) error {
		_, err := s.RecordCheckin(ctx, store.Checkin{DeviceID: dev, ReceivedAt: base, Verdict: v, PolicyID: "p@1", OS: "linux",
			Events: evs(tag), EventsOnChange: onChange})
		return err
	}

	// A check-in that fails (unknown device) writes no event.
	if err := checkin("no-such-device", health.Contraindicated, "failed", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("check-in of an unknown device: %v, want ErrNotFound", err)
	}
	if got := claimed(); len(got) != 0 {
		t.Fatalf("a failed check-in queued events %v", got)
	}
	if err := s.CreateDevice(ctx, store.Device{ID: "dev-events", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: base}); err != nil {
		t.Fatal(err)
	}
	// A succeeding one writes both.
	if err := checkin("dev-events", health.Contraindicated, "turned", true); err != nil {
		t.Fatal(err)
	}
	if got, want := claimed(), []string{"turned-a", "turned-b"}; !slices.Equal(got, want) {
		t.Fatalf("events after the check-in = %v, want %v", got, want)
	}
	// The same verdict again is no news when EventsOnChange is set…
	if err := checkin("dev-events", health.Contraindicated, "again", true); err != nil {
		t.Fatal(err)
	}
	if got := claimed(); len(got) != 0 {
		t.Fatalf("a repeated verdict queued events %v", got)
	}
	// …and is queued without it.
	if err := checkin("dev-events", health.Contraindicated, "always", false); err != nil {
		t.Fatal(err)
	}
	if got, want := claimed(), []string{"always-a", "always-b"}; !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	// A failing event (a duplicate event id) fails the check-in, which is
	// then not recorded.
	before, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dup := []store.OutboxEvent{{EventID: "dup", Audience: "x", CreatedAt: base}, {EventID: "dup", Audience: "x", CreatedAt: base}}
	_, err = s.RecordCheckin(ctx, store.Checkin{DeviceID: "dev-events", ReceivedAt: base, Verdict: health.Affirming, PolicyID: "p@1", Events: dup})
	after, _ := s.Stats(ctx)
	if err == nil {
		// The outbox allows repeated event ids: then both are queued.
		if got := claimed(); len(got) != 2 || after.Checkins != before.Checkins+1 {
			t.Fatalf("duplicate ids: events %v, check-ins %d→%d", got, before.Checkins, after.Checkins)
		}
	} else if after.Checkins != before.Checkins || len(claimed()) != 0 {
		t.Fatalf("a check-in whose events failed was recorded: check-ins %d→%d", before.Checkins, after.Checkins)
	}
}
