package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// TestBatchedAggregatesMatchCheckins: many check-ins at once, grouped into
// shared transactions, some refused inside them (a nonce used twice, a
// device never enrolled) and rolled back to their savepoints: the counters
// and the daily cells equal what the committed check-ins and devices
// themselves say.
func TestBatchedAggregatesMatchCheckins(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	base := time.Date(2026, 12, 3, 23, 59, 58, 0, time.UTC)
	const devices, each = 16, 12
	for d := range devices {
		if err := s.CreateDevice(ctx, store.Device{ID: fmt.Sprintf("dev-%d", d), PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	tiers := []health.Tier{health.Affirming, health.Warning, health.Contraindicated}
	oses := []string{"linux", "windows", ""}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for d := range devices + 2 { // two devices never enrolled
		for i := range each {
			wg.Go(func() {
				c := store.Checkin{DeviceID: fmt.Sprintf("dev-%d", d), ReceivedAt: base.Add(time.Duration(i) * 300 * time.Millisecond),
					Verdict: tiers[(d+i)%3], PolicyID: "p@1", OS: oses[(d*i)%3], Statement: []byte("{}"),
					NonceKey: []byte(fmt.Sprintf("n-%d-%d", d, i)), NonceExpires: base.Add(time.Hour)}
				if i%5 == 4 {
					c.NonceKey = []byte(fmt.Sprintf("shared-%d", d%3)) // used once at most
				}
				_, err := s.RecordCheckin(ctx, c)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					accepted++
				} else {
					refused++
				}
			})
		}
	}
	wg.Wait()
	if refused == 0 || accepted == 0 {
		t.Fatalf("accepted %d, refused %d: the test needs both", accepted, refused)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Checkins != int64(accepted) {
		t.Errorf("checkins counter = %d, want %d accepted", st.Checkins, accepted)
	}
	var rows int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM checkins`).Scan(&rows); err != nil || rows != int64(accepted) {
		t.Errorf("check-in rows = %d, %v; want %d", rows, err, accepted)
	}
	// Verdict counters equal the devices' latest verdicts.
	q, err := s.r.QueryContext(ctx, `SELECT last_verdict, count(*) FROM devices WHERE last_verdict <> '' GROUP BY last_verdict`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[health.Tier]int64{}
	for q.Next() {
		var v string
		var n int64
		if err := q.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		want[health.Tier(v)] = n
	}
	q.Close()
	for _, v := range tiers {
		if st.ByVerdict[v] != want[v] {
			t.Errorf("verdict counter %s = %d, devices say %d", v, st.ByVerdict[v], want[v])
		}
	}
	// Daily cells equal the check-ins counted by day, verdict and OS
	// (the device's OS where the check-in names none).
	var mismatch int64
	err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM (
		SELECT day, verdict, os, n FROM checkin_daily
		EXCEPT
		SELECT date(c.received_at / 1000000, 'unixepoch'), c.verdict, CASE WHEN c.os = '' THEN d.os ELSE c.os END, count(*)
		FROM checkins c JOIN devices d ON d.id = c.device_id GROUP BY 1, 2, 3)`).Scan(&mismatch)
	if err != nil || mismatch != 0 {
		t.Errorf("%d daily cells differ from the check-ins (%v)", mismatch, err)
	}
	var total int64
	if err := s.r.QueryRowContext(ctx, `SELECT sum(n) FROM checkin_daily`).Scan(&total); err != nil || total != int64(accepted) {
		t.Errorf("daily cells sum to %d, %v; want %d", total, err, accepted)
	}
	var cells int64
	s.r.QueryRowContext(ctx, `SELECT count(*) FROM checkin_daily`).Scan(&cells)
	if cells < 6 {
		t.Errorf("only %d daily cells; the check-ins span two days, three verdicts and two OSes", cells)
	}
}
