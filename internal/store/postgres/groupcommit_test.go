package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// Check-ins from many devices at once share transactions, and each is
// stored and acknowledged: the batch path runs, not only the single one.
func TestPostgresCheckinsShareTransactions(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	const n = 64
	for d := range n {
		if err := s.CreateDevice(ctx, store.Device{ID: fmt.Sprintf("dev-%02d", d), PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for round := range 4 {
		for d := range n {
			wg.Go(func() {
				id, err := s.RecordCheckin(ctx, store.Checkin{DeviceID: fmt.Sprintf("dev-%02d", d), ReceivedAt: at.Add(time.Duration(round) * time.Second),
					Verdict: health.Affirming, PolicyID: "p@1", Statement: []byte("{}"),
					DeviceNonce: &store.DeviceNonce{IssuedAt: at.Add(time.Duration(round) * time.Second).UnixMicro(), Random: []byte{1}}})
				if err != nil {
					t.Errorf("dev-%02d: %v", d, err)
				}
				ids[d] = max(ids[d], id)
			})
		}
		wg.Wait()
	}
	if s.batch.shared.Load() == 0 {
		t.Error("no transaction held more than one check-in")
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Checkins != 4*n {
		t.Errorf("Stats = %+v, %v; want %d check-ins", st, err, 4*n)
	}
	seen := map[int64]bool{}
	for d, id := range ids {
		if id == 0 || seen[id] {
			t.Errorf("dev-%02d: check-in id %d (zero or given twice)", d, id)
		}
		seen[id] = true
	}
}
