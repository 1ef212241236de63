package storetest

import (
	"testing"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// testFeeds: a lease is taken by one caller until it ends; a feed's
// indicators are touched, others' are not.
func testFeeds(t *testing.T, s store.Store) {
	f, ok := s.(store.Feeds)
	if !ok {
		t.Fatalf("%T keeps no feeds: both stores must", s)
	}
	is := s.(store.Intel)
	took, err := f.TakeLease(ctx(t), "feodo", base, base.Add(time.Minute))
	if err != nil || !took {
		t.Fatalf("first TakeLease = %v, %v; want taken", took, err)
	}
	if took, err := f.TakeLease(ctx(t), "feodo", base.Add(30*time.Second), base.Add(2*time.Minute)); err != nil || took {
		t.Fatalf("TakeLease while held = %v, %v; want refused", took, err)
	}
	if took, err := f.TakeLease(ctx(t), "urlhaus", base, base.Add(time.Minute)); err != nil || !took {
		t.Fatalf("another lease = %v, %v; want taken", took, err)
	}
	if took, err := f.TakeLease(ctx(t), "feodo", base.Add(time.Minute), base.Add(2*time.Minute)); err != nil || !took {
		t.Fatalf("TakeLease after it ended = %v, %v; want taken", took, err)
	}
	// A holder whose work failed ends its lease early, so a retry (by
	// any node) can take it then; ending it later than it ends does not
	// lengthen it.
	if err := f.EndLease(ctx(t), "feodo", base.Add(70*time.Second)); err != nil {
		t.Fatalf("EndLease: %v", err)
	}
	if err := f.EndLease(ctx(t), "feodo", base.Add(time.Hour)); err != nil {
		t.Fatalf("EndLease later: %v", err)
	}
	if took, err := f.TakeLease(ctx(t), "feodo", base.Add(65*time.Second), base.Add(3*time.Minute)); err != nil || took {
		t.Fatalf("TakeLease before the early end = %v, %v; want refused", took, err)
	}
	if took, err := f.TakeLease(ctx(t), "feodo", base.Add(70*time.Second), base.Add(3*time.Minute)); err != nil || !took {
		t.Fatalf("TakeLease at the early end = %v, %v; want taken", took, err)
	}
	if err := f.EndLease(ctx(t), "never-taken", base); err != nil {
		t.Fatalf("EndLease of a lease never taken: %v", err)
	}

	_, err = is.ImportIndicators(ctx(t), base, func(add func(store.Indicator) error) error {
		for _, in := range []store.Indicator{
			{Type: "ipv4", Value: "192.0.2.1", Sources: []string{"feed_a"}},
			{Type: "ipv4", Value: "192.0.2.2", Sources: []string{"feed_a"}},
			{Type: "ipv4", Value: "192.0.2.3", Sources: []string{"feedXa"}},
		} {
			if err := add(in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.TouchIndicators(ctx(t), "feed_a", base.Add(time.Second), base.Add(48*time.Hour)); err != nil || n != 0 {
		t.Fatalf("TouchIndicators since after the import = %d, %v; want 0", n, err)
	}
	n, err := f.TouchIndicators(ctx(t), "feed_a", base, base.Add(48*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("TouchIndicators = %d, %v; want 2 (not feedXa's)", n, err)
	}
	removed, _, err := is.ExpireIndicators(ctx(t), base.Add(49*time.Hour), base.Add(24*time.Hour), base)
	if err != nil || removed != 1 {
		t.Fatalf("ExpireIndicators = %d, %v; want feedXa's one", removed, err)
	}
}
