package postgres

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// TestPostgresPopulationTotalsMigration: a database whose per-segment
// cells were kept before the whole-population ones existed gets them
// filled in by migration 0016, equal to the segments summed.
func TestPostgresPopulationTotalsMigration(t *testing.T) {
	ctx := context.Background()
	dsn := freshSchema(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for i := range 12 {
		id := fmt.Sprintf("d%d", i)
		if err := s.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: day}); err != nil {
			t.Fatal(err)
		}
		v := []health.Tier{health.Affirming, health.Warning, health.Contraindicated}[i%3]
		c := store.Checkin{DeviceID: id, ReceivedAt: day.Add(time.Duration(i) * time.Hour), Verdict: v, PolicyID: "p@1",
			OS: []string{"linux", "windows"}[i%2], OSVersion: fmt.Sprint(i % 4), Statement: []byte("x")}
		if v == health.Contraindicated {
			c.Family = "QakBot"
			c.Findings = []health.Finding{{ID: health.Malware, Status: health.Fail}}
		}
		if _, err := s.RecordCheckin(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	want := map[store.AggregateKind][]store.AggregateCount{}
	for _, k := range []store.AggregateKind{store.AggVerdict, store.AggFailing, store.AggInfection} {
		if want[k], err = s.Aggregate(ctx, k, store.DimNone, day, day); err != nil || len(want[k]) == 0 {
			t.Fatalf("%s: %v %v", k, want[k], err)
		}
	}
	// Back to before the migration: no whole-population cells.
	for _, q := range []string{`DROP TABLE pop_daily_total`, `DELETE FROM schema_migrations WHERE version = 16`} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for k, w := range want {
		got, err := s.Aggregate(ctx, k, store.DimNone, day, day)
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Errorf("%s after the migration: %+v, %v; want %+v", k, got, err, w)
		}
	}
}
