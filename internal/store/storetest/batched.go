package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// testBatchedCheckins: many devices check in at once, as on a busy
// authority whose store writes check-ins that arrive together in one
// transaction, with refusals among them (a device never enrolled, a
// replayed device nonce, an earlier one): every accepted check-in is
// kept and counted once, every refused one leaves nothing, and the
// counters, daily cells and population cells equal what the devices and
// their histories say.
func testBatchedCheckins(t *testing.T, s store.Store) {
	const devices, each = 24, 8
	for d := range devices {
		mustCreate(t, s, newDevice(fmt.Sprintf("dev-b%02d", d)))
	}
	tiers := []health.Tier{health.Affirming, health.Warning, health.Contraindicated}
	day := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted = map[string]int{}
		refused  int
	)
	for d := range devices + 2 { // two devices never enrolled
		dev := fmt.Sprintf("dev-b%02d", d)
		wg.Go(func() {
			for i := range each {
				c := newCheckin(dev, day.Add(time.Duration(i)*time.Second), tiers[(d+i)%3])
				c.Findings = nil
				c.OS = []string{"linux", "windows", "darwin"}[d%3]
				// Nonces later and later, but every third check-in
				// replays the one before it.
				at := day.Add(time.Duration(i) * time.Second).UnixMicro()
				if i%3 == 2 {
					at -= int64(time.Second / time.Microsecond)
				}
				c.DeviceNonce = &store.DeviceNonce{IssuedAt: at, Random: []byte{byte(d)}}
				_, err := s.RecordCheckin(context.Background(), c)
				mu.Lock()
				switch {
				case err == nil:
					accepted[dev]++
				case errors.Is(err, store.ErrNonceUnknown) && i%3 == 2, errors.Is(err, store.ErrNotFound) && d >= devices:
					refused++
				default:
					t.Errorf("%s check-in %d: %v", dev, i, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	for d := range devices {
		dev := fmt.Sprintf("dev-b%02d", d)
		// Check-ins 0, 1, 3, 4, 6, 7 pass; 2 and 5 replay.
		if accepted[dev] != 6 {
			t.Errorf("%s: %d check-ins accepted, want 6", dev, accepted[dev])
		}
		total += accepted[dev]
		h, err := s.Checkins(ctx(t), dev, 100)
		if err != nil || len(h) != accepted[dev] {
			t.Errorf("%s: history of %d check-ins (%v), want %d", dev, len(h), err, accepted[dev])
		}
	}
	if want := 2*each + devices*2; refused != want {
		t.Errorf("%d check-ins refused, want %d", refused, want)
	}
	st, err := s.Stats(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Checkins != int64(total) {
		t.Errorf("checkins counter = %d, want %d accepted", st.Checkins, total)
	}
	// The latest verdict of each device is its last accepted check-in's
	// (check-in 7): tiers[(d+7)%3].
	want := map[health.Tier]int64{}
	for d := range devices {
		want[tiers[(d+7)%3]]++
		got, err := s.Device(ctx(t), fmt.Sprintf("dev-b%02d", d))
		if err != nil || got.LastVerdict != tiers[(d+7)%3] {
			t.Errorf("dev-b%02d: %+v, %v; want latest verdict %s", d, got, err, tiers[(d+7)%3])
		}
	}
	for _, v := range tiers {
		if st.ByVerdict[v] != want[v] {
			t.Errorf("verdict counter %s = %d, want %d", v, st.ByVerdict[v], want[v])
		}
	}
	// Daily cells: every accepted check-in once, by verdict and OS.
	pop, ok := s.(store.Population)
	if !ok {
		t.Fatalf("%T keeps no daily check-in counts", s)
	}
	days, err := pop.DailyCheckins(ctx(t), day, day)
	if err != nil {
		t.Fatal(err)
	}
	wantDaily := map[[2]string]int64{}
	for d := range devices {
		for _, i := range []int{0, 1, 3, 4, 6, 7} {
			wantDaily[[2]string{string(tiers[(d+i)%3]), []string{"linux", "windows", "darwin"}[d%3]}]++
		}
	}
	gotDaily := map[[2]string]int64{}
	for _, c := range days {
		gotDaily[[2]string{string(c.Verdict), c.OS}] += c.Count
	}
	if len(gotDaily) != len(wantDaily) {
		t.Errorf("daily cells %v, want %v", gotDaily, wantDaily)
	}
	for k, n := range wantDaily {
		if gotDaily[k] != n {
			t.Errorf("daily cell %v = %d, want %d", k, gotDaily[k], n)
		}
	}
	// Population: each device counted once that day, in its latest state.
	ps, ok := s.(store.PopulationStats)
	if !ok {
		return
	}
	cells, err := ps.Aggregate(ctx(t), store.AggVerdict, store.DimNone, day, day)
	if err != nil {
		t.Fatal(err)
	}
	gotPop := map[health.Tier]int64{}
	for _, c := range cells {
		gotPop[health.Tier(c.Key)] += c.Count
	}
	for _, v := range tiers {
		if gotPop[v] != want[v] {
			t.Errorf("population cell %s = %d, want %d (devices by latest verdict)", v, gotPop[v], want[v])
		}
	}
}
