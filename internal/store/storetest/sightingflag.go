package storetest

import (
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// SightingsActivity checks store.SightingsActivity: false with no
// question, true while one is open, true while a confirmed answer is
// recent, false once every answer is a denial or older than since.
func SightingsActivity(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	sa, ok := s.(store.SightingsActivity)
	is, ok2 := s.(intelStore)
	if !ok || !ok2 {
		t.Fatalf("%T keeps no sightings: both stores must", s)
	}
	active := func(since time.Time) bool {
		t.Helper()
		v, err := sa.SightingsActive(ctx(t), since)
		if err != nil {
			t.Fatalf("SightingsActive: %v", err)
		}
		return v
	}
	if active(base.Add(-time.Hour)) {
		t.Fatal("active with no question at all")
	}
	for _, id := range []string{"sa-a", "sa-b"} {
		mustCreate(t, s, newDevice(id))
		c := newCheckin(id, base.Add(-time.Hour), health.Affirming)
		c.SourceIP = "192.0.2.44"
		mustRecord(t, s, c)
	}
	_, asked, err := is.AddSighting(ctx(t), store.Sighting{IP: "192.0.2.44", SeenAt: base.Add(-time.Hour), Family: "QakBot", C2: "198.51.100.9:443", Source: "test"}, time.Hour, base)
	if err != nil || len(asked) != 2 {
		t.Fatalf("AddSighting = %v, %v; want two devices asked", asked, err)
	}
	if !active(base.Add(-time.Hour)) {
		t.Fatal("not active with two open questions")
	}
	qa, _ := is.OpenQuestions(ctx(t), "sa-a")
	qb, _ := is.OpenQuestions(ctx(t), "sa-b")
	if len(qa) != 1 || len(qb) != 1 {
		t.Fatalf("open questions %d and %d, want 1 each", len(qa), len(qb))
	}
	if err := is.AnswerQuestion(ctx(t), "sa-a", qa[0].ID, false, "", base); err != nil {
		t.Fatal(err)
	}
	if !active(base.Add(-time.Hour)) {
		t.Fatal("not active with one question still open")
	}
	if err := is.AnswerQuestion(ctx(t), "sa-b", qb[0].ID, true, `{"endpoint":"198.51.100.9:443"}`, base); err != nil {
		t.Fatal(err)
	}
	if !active(base.Add(-time.Hour)) {
		t.Fatal("not active with a question confirmed after since")
	}
	if !active(base) {
		t.Fatal("not active with a question confirmed exactly at since")
	}
	if active(base.Add(time.Microsecond)) {
		t.Fatal("active with every question answered and the only confirmation before since")
	}
}
