package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/retention"
	"github.com/herd-health/herd/internal/store"
)

// SourceAddressDays 0 given explicitly clears every source address now;
// unset, it is the 30-day default; negative keeps them.
func TestExplicitZeroSourceAddressDays(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
			if err := st.CreateDevice(ctx, store.Device{ID: "d", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: now.AddDate(0, 0, -10)}); err != nil {
				t.Fatal(err)
			}
			for _, age := range []time.Duration{5 * 24 * time.Hour, time.Hour} {
				if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: "d", ReceivedAt: now.Add(-age), Verdict: health.Affirming,
					PolicyID: "p@1", OS: "linux", SourceIP: "198.51.100.9"}); err != nil {
					t.Fatal(err)
				}
			}
			steps := []struct {
				name string
				c    retention.Config
				want int64
			}{
				{"unset is the 30-day default", retention.Config{}, 0},
				{"negative keeps them", retention.Config{SourceAddressDays: -1, SourceAddressDaysSet: true}, 0},
				{"explicit 0 clears all now", retention.Config{SourceAddressDaysSet: true}, 2},
			}
			for _, s := range steps {
				r, err := retention.Run(ctx, st, s.c, now)
				if err != nil {
					t.Fatal(err)
				}
				if r.SourceAddressesCleared != s.want || r.CheckinsDeleted != 0 {
					t.Errorf("%s: %+v, want %d addresses cleared and no history deleted", s.name, r, s.want)
				}
			}
		})
	}
}
