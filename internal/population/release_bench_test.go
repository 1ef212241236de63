package population_test

import (
	"context"
	"testing"

	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
)

// BenchmarkReleaseDay1M releases one complete day of the million-device
// store from scratch: reading the day's finest counts (every segment
// field) and protecting every table and dimension together.
func BenchmarkReleaseDay1M(b *testing.B) {
	backends(b, func(b *testing.B, svc *population.Service) {
		ctx := context.Background()
		day := benchToday.AddDate(0, 0, -1)
		for b.Loop() {
			rl := &population.Releaser{Stats: svc.Store, MinCount: 10, Now: svc.Now}
			rels, err := rl.Days(ctx, day, day)
			if err != nil {
				b.Fatal(err)
			}
			if len(rels[0].Tables) != 3 {
				b.Fatalf("release of %s has %d tables", rels[0].Day, len(rels[0].Tables))
			}
		}
	})
}

// BenchmarkExport30Days1M is herd export over 30 days of the
// million-device store (the days released anew each time).
func BenchmarkExport30Days1M(b *testing.B) {
	backends(b, func(b *testing.B, svc *population.Service) {
		ctx := context.Background()
		for b.Loop() {
			ex, err := population.BuildExport(ctx, svc.Store, population.ExportOptions{MinCount: 10, Dimension: store.DimCountry, Now: svc.Now})
			if err != nil {
				b.Fatal(err)
			}
			if len(ex.Tables[0].Cells) == 0 {
				b.Fatal("empty export")
			}
		}
	})
}
