package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
)

// countingStats counts the detections a service runs (each reads the
// infection aggregates) and the alerts it stores.
type countingStats struct {
	population.Store
	reads, saved atomic.Int64
}

func (c *countingStats) Aggregate(ctx context.Context, kind store.AggregateKind, dim store.Dimension, from, to time.Time) ([]store.AggregateCount, error) {
	if kind == store.AggInfection {
		c.reads.Add(1)
	}
	return c.Store.Aggregate(ctx, kind, dim, from, to)
}

func (c *countingStats) SaveAlert(ctx context.Context, a store.Alert) (bool, error) {
	ok, err := c.Store.SaveAlert(ctx, a)
	if ok {
		c.saved.Add(1)
	}
	return ok, err
}

// seedOutbreak records a quiet fortnight of QakBot infections and a
// burst today, through check-ins.
func seedOutbreak(t *testing.T, st store.Store, today time.Time) {
	t.Helper()
	ctx := t.Context()
	quiet := []int{1, 0, 2, 1, 0, 1, 1, 0, 2, 1, 0, 1, 1, 0}
	n := 0
	infect := func(at time.Time) {
		id := fmt.Sprintf("dev-%03d", n)
		n++
		if err := st.CreateDevice(ctx, store.Device{ID: id, PublicKey: bytes.Repeat([]byte{byte(n)}, 32), OS: "windows", EnrolledAt: at.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: id, ReceivedAt: at, Verdict: health.Contraindicated, Family: "QakBot",
			PolicyID: "default", OS: "windows", OSVersion: "10.0.22631", Agent: "1.0.0", Statement: []byte("x.y.z"), SourceIP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range quiet {
		day := today.AddDate(0, 0, i-len(quiet))
		for j := range k {
			infect(day.Add(time.Duration(j+1) * time.Hour))
		}
	}
	for j := range 15 {
		infect(today.Add(time.Duration(j) * time.Minute))
	}
}

// testDetectionLease runs two services over one store, each with its
// own node's lease, for the same slot: exactly one runs detection and
// stores the alerts.
func testDetectionLease(t *testing.T, dsn string) {
	ctx := t.Context()
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, ok := st.(population.Store)
	if !ok {
		t.Skip("store keeps no population aggregates")
	}
	today := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := today.Add(10 * time.Hour)
	seedOutbreak(t, st, today)

	var stats [2]*countingStats
	var svcs [2]*population.Service
	var leases atomic.Int64
	for i := range svcs {
		stats[i] = &countingStats{Store: ps}
		lease := node.DetectionLease(st, []byte{byte(i + 1), 0xee})
		svcs[i] = &population.Service{Store: stats[i], Now: func() time.Time { return now },
			Lease: func(ctx context.Context, slot time.Time) (bool, error) {
				defer leases.Add(1)
				return lease(ctx, slot)
			}}
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, s := range svcs {
		wg.Go(func() {
			<-start
			s.RunDaily(rctx, time.Hour)
		})
	}
	close(start)
	// Each RunDaily asks for the lease, detects (yesterday, then today)
	// if it holds it, then sleeps for the hour.
	deadline := time.Now().Add(20 * time.Second)
	for leases.Load() < 2 || stats[0].reads.Load()+stats[1].reads.Load() < 2 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("detection did not run: %d leases asked, reads %d and %d", leases.Load(), stats[0].reads.Load(), stats[1].reads.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a second detection would have started by now
	cancel()
	wg.Wait()

	r0, r1 := stats[0].reads.Load(), stats[1].reads.Load()
	if (r0 == 0) == (r1 == 0) || r0+r1 != 2 {
		t.Fatalf("detections run: %d and %d; want one service to run both days, the other none", r0, r1)
	}
	winner, loser := stats[0], stats[1]
	if r1 > 0 {
		winner, loser = stats[1], stats[0]
	}
	if loser.saved.Load() != 0 {
		t.Errorf("the service without the lease stored %d alerts", loser.saved.Load())
	}
	alerts, err := ps.Alerts(ctx, today.AddDate(0, 0, -1), today)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) == 0 || int64(len(alerts)) != winner.saved.Load() {
		t.Fatalf("%d alerts stored, the lease holder saved %d; want the same, at least one", len(alerts), winner.saved.Load())
	}
	seen := map[string]bool{}
	for _, a := range alerts {
		if a.Family != "QakBot" || !a.Day.Equal(today) {
			t.Errorf("alert %s: family %s day %s; want QakBot today", a.Key, a.Family, a.Day)
		}
		var d population.AlertDetail
		if err := json.Unmarshal(a.Body, &d); err != nil {
			t.Fatalf("alert %s: %v", a.Key, err)
		}
		// Today's 15 against a quiet fortnight: the series ends in 15,
		// above the level the detector alarmed on.
		if len(d.Series) == 0 || d.Series[len(d.Series)-1].Count != 15 || d.Observed != 15 || d.Observed <= d.Level || d.Statistic <= d.Threshold || len(d.Baseline) != 7 {
			t.Errorf("alert %s: %+v", a.Key, d)
		}
		seen[a.Detector+" "+a.Segment] = true
	}
	// Every detector, on the whole population and each segment value.
	for _, det := range population.DetectorNames {
		for _, seg := range []string{"", "os=windows", "os_version=10.0.22631", "agent=1.0.0"} {
			if !seen[det+" "+seg] {
				t.Errorf("no %s alert for segment %q: %v", det, seg, seen)
			}
		}
	}

	// The next slot is open again: a run an hour later by the other
	// service takes it.
	next := now.Add(time.Hour)
	ok0, err0 := svcs[0].Lease(ctx, next.Truncate(time.Hour))
	ok1, err1 := svcs[1].Lease(ctx, next.Truncate(time.Hour))
	if err0 != nil || err1 != nil || ok0 == ok1 {
		t.Errorf("next slot: %v %v, %v %v; want exactly one holder", ok0, err0, ok1, err1)
	}
}

func TestDetectionLease(t *testing.T) {
	testDetectionLease(t, "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
}

func TestPostgresDetectionLease(t *testing.T) {
	testDetectionLease(t, pgSchemaDSN(t))
}
