package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// Policies checks policy versions and activations.
func Policies(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	ps, ok := s.(store.Policies)
	if !ok {
		t.Fatalf("%T keeps no policies: both stores must", s)
	}
	if _, _, err := ps.ActivePolicy(ctx(t)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ActivePolicy of an empty store: %v, want ErrNotFound", err)
	}
	if v, err := ps.PolicyVersion(ctx(t)); err != nil || v != 0 {
		t.Fatalf("PolicyVersion of an empty store = %d, %v", v, err)
	}
	v1 := store.StoredPolicy{ID: "bank", Version: 1, Body: []byte(`{"id":"bank","version":1}`)}
	v2 := store.StoredPolicy{ID: "bank", Version: 2, Body: []byte(`{"id":"bank","version":2}`)}
	a1, changed, err := ps.ActivatePolicy(ctx(t), v1, "alice", base)
	if err != nil || !changed || a1.Seq <= 0 || a1.ID != "bank" || a1.Version != 1 || a1.Actor != "alice" || !a1.ActivatedAt.Equal(base.Truncate(time.Microsecond)) {
		t.Fatalf("activate v1 = %+v, %v, %v", a1, changed, err)
	}
	// The same version again changes nothing.
	if a, changed, err := ps.ActivatePolicy(ctx(t), v1, "bob", base.Add(time.Minute)); err != nil || changed || a.Seq != a1.Seq || a.Actor != "alice" {
		t.Fatalf("activate v1 again = %+v, %v, %v", a, changed, err)
	}
	a2, changed, err := ps.ActivatePolicy(ctx(t), v2, "cli:ops", base.Add(time.Hour))
	if err != nil || !changed || a2.Seq <= a1.Seq {
		t.Fatalf("activate v2 = %+v, %v, %v", a2, changed, err)
	}
	// Another body under a stored id@version is refused; nothing changes.
	bad := store.StoredPolicy{ID: "bank", Version: 1, Body: []byte(`{"id":"bank","version":1,"x":1}`)}
	if _, _, err := ps.ActivatePolicy(ctx(t), bad, "mallory", base.Add(2*time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("other rules under bank@1: %v, want ErrConflict", err)
	}
	p, a, err := ps.ActivePolicy(ctx(t))
	if err != nil || p.ID != "bank" || p.Version != 2 || string(p.Body) != string(v2.Body) || a.Seq != a2.Seq || a.Actor != "cli:ops" {
		t.Fatalf("active = %+v %+v %v, want bank@2", p, a, err)
	}
	if v, err := ps.PolicyVersion(ctx(t)); err != nil || v != a2.Seq {
		t.Fatalf("PolicyVersion = %d, %v; want %d", v, err, a2.Seq)
	}
	// Rolling back to a stored version is a new activation.
	a3, changed, err := ps.ActivatePolicy(ctx(t), v1, "alice", base.Add(3*time.Hour))
	if err != nil || !changed || a3.Seq <= a2.Seq {
		t.Fatalf("roll back to v1 = %+v, %v, %v", a3, changed, err)
	}
	h, err := ps.PolicyHistory(ctx(t), 10)
	if err != nil || len(h) != 3 || h[0].Seq != a3.Seq || h[1].Version != 2 || h[2].Version != 1 || h[0].Version != 1 {
		t.Fatalf("history = %+v, %v", h, err)
	}
	if h, _ := ps.PolicyHistory(ctx(t), 1); len(h) != 1 {
		t.Errorf("history limit 1: %d entries", len(h))
	}

	// Nodes activating at once: each new version is stored once and
	// every call either activates or finds its version active.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, _, errs[i] = ps.ActivatePolicy(ctx(t), store.StoredPolicy{ID: "bank", Version: 3, Body: []byte(`{"id":"bank","version":3}`)}, "node", base.Add(4*time.Hour))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent activation %d: %v", i, err)
		}
	}
	if h, _ := ps.PolicyHistory(ctx(t), 10); len(h) != 4 || h[0].Version != 3 {
		t.Errorf("after concurrent activations: %+v, want one activation of bank@3", h)
	}
}
