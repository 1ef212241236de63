package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// SightingHolds checks store.SightingHolds: clearing ends a device's
// hold (ConfirmedSince and SightingsActive no longer see it) and touches
// no other device, keeps the confirmation in the sighting report, and
// an unknown device is ErrNotFound.
func SightingHolds(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	sh, ok := s.(store.SightingHolds)
	is, ok2 := s.(intelStore)
	if !ok || !ok2 {
		t.Fatalf("%T keeps no sightings: both stores must", s)
	}
	for _, id := range []string{"sh-a", "sh-b"} {
		mustCreate(t, s, newDevice(id))
		c := newCheckin(id, base.Add(-time.Hour), health.Contraindicated)
		c.SourceIP = "192.0.2.45"
		mustRecord(t, s, c)
	}
	if _, asked, err := is.AddSighting(ctx(t), store.Sighting{IP: "192.0.2.45", SeenAt: base.Add(-time.Hour), Family: "QakBot", C2: "198.51.100.9:443", Source: "test"}, time.Hour, base); err != nil || len(asked) != 2 {
		t.Fatalf("AddSighting = %v, %v; want two devices asked", asked, err)
	}
	for _, id := range []string{"sh-a", "sh-b"} {
		qs, err := is.OpenQuestions(ctx(t), id)
		if err != nil || len(qs) != 1 {
			t.Fatalf("%s: open questions %v, %v", id, qs, err)
		}
		if err := is.AnswerQuestion(ctx(t), id, qs[0].ID, true, `{"endpoint":"198.51.100.9:443"}`, base); err != nil {
			t.Fatal(err)
		}
	}
	held := func(id string) int {
		t.Helper()
		qs, err := is.ConfirmedSince(ctx(t), id, base.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return len(qs)
	}
	if n, err := sh.ClearSightingHold(ctx(t), "sh-a"); err != nil || n != 1 {
		t.Fatalf("ClearSightingHold(sh-a) = %d, %v; want 1 cleared", n, err)
	}
	if held("sh-a") != 0 || held("sh-b") != 1 {
		t.Fatalf("after clearing sh-a: held %d and %d, want 0 and 1", held("sh-a"), held("sh-b"))
	}
	if n, err := sh.ClearSightingHold(ctx(t), "sh-a"); err != nil || n != 0 {
		t.Fatalf("clearing sh-a again = %d, %v; want 0 cleared", n, err)
	}
	if fr, ok := s.(store.FeedReports); ok {
		sum, err := fr.SightingsSince(ctx(t), base.Add(-2*time.Hour))
		if err != nil || sum.DevicesConfirmed != 2 {
			t.Fatalf("sighting summary %+v, %v; want both devices still counted as confirmed", sum, err)
		}
	}
	if sa, ok := s.(store.SightingsActivity); ok {
		if n, err := sh.ClearSightingHold(ctx(t), "sh-b"); err != nil || n != 1 {
			t.Fatalf("ClearSightingHold(sh-b) = %d, %v", n, err)
		}
		if v, err := sa.SightingsActive(ctx(t), base.Add(-time.Hour)); err != nil || v {
			t.Fatalf("SightingsActive with every hold cleared = %v, %v", v, err)
		}
	}
	if _, err := sh.ClearSightingHold(ctx(t), "sh-nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClearSightingHold(unknown) = %v, want ErrNotFound", err)
	}
}
