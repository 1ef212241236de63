package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// testStatusLists checks index reservation, recording certificates and
// revoking a device's live certificates.
func testStatusLists(t *testing.T, s store.Store) {
	sl, ok := s.(store.StatusLists)
	if !ok {
		t.Fatalf("%T does not implement store.StatusLists", s)
	}
	t.Run("Reserve", func(t *testing.T) { testStatusReserve(t, sl) })
	t.Run("ReserveConcurrent", func(t *testing.T) { testStatusReserveConcurrent(t, sl) })
	t.Run("Revoke", func(t *testing.T) { testStatusRevoke(t, s, sl) })
}

type slot struct{ list, idx int64 }

func reserve(t *testing.T, sl store.StatusLists, n int, size int64) slot {
	t.Helper()
	list, first, err := sl.ReserveStatusIndices(ctx(t), n, size)
	if err != nil {
		t.Fatalf("ReserveStatusIndices(%d, %d): %v", n, size, err)
	}
	return slot{list, first}
}

func testStatusReserve(t *testing.T, sl store.StatusLists) {
	steps := []struct {
		n    int
		want slot
	}{
		{3, slot{1, 0}},
		{2, slot{1, 3}},
		{1, slot{2, 0}}, // list 1 is full: a new list
		{4, slot{2, 1}},
		{2, slot{3, 0}}, // one left in list 2, two wanted: a new list
	}
	for _, st := range steps {
		if got := reserve(t, sl, st.n, 5); got != st.want {
			t.Errorf("reserve %d = %+v, want %+v", st.n, got, st.want)
		}
	}
	if _, _, err := sl.ReserveStatusIndices(ctx(t), 6, 5); err == nil {
		t.Error("reserving more indices than a list holds succeeded")
	}
	l, err := sl.StatusList(ctx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if l.Size != 5 || l.Allocated != 5 || len(l.Bits) != 0 {
		t.Errorf("list 2 = size %d allocated %d bits %x, want 5, 5, none", l.Size, l.Allocated, l.Bits)
	}
	if _, err := sl.StatusList(ctx(t), 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StatusList(99) error = %v, want ErrNotFound", err)
	}
}

func testStatusReserveConcurrent(t *testing.T, sl store.StatusLists) {
	const workers, each = 8, 10
	var (
		mu   sync.Mutex
		seen = map[slot]bool{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				list, first, err := sl.ReserveStatusIndices(ctx(t), 2, 7)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for k := int64(0); k < 2; k++ {
					s := slot{list, first + k}
					if seen[s] {
						errs <- fmt.Errorf("index %+v handed out twice", s)
					}
					if s.idx >= 7 {
						errs <- fmt.Errorf("index %+v beyond the list size 7", s)
					}
					seen[s] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seen) != workers*each*2 {
		t.Errorf("%d distinct indices, want %d", len(seen), workers*each*2)
	}
}

func testStatusRevoke(t *testing.T, s store.Store, sl store.StatusLists) {
	mustCreate(t, s, newDevice("dev-a"))
	mustCreate(t, s, newDevice("dev-b"))
	now := base
	list := reserve(t, sl, 4, 100).list
	// Revocations elsewhere must not disturb this list's bits.
	cert := func(jti, dev string, idx int64, exp time.Time) store.IssuedCertificate {
		return store.IssuedCertificate{JTI: jti, DeviceID: dev, Audience: "https://bank.example", ListID: list, Index: idx,
			IssuedAt: now.Add(-time.Hour), ExpiresAt: exp}
	}
	certs := []store.IssuedCertificate{
		cert("a-old", "dev-a", 0, now.Add(-time.Minute)), // expired
		cert("a-live", "dev-a", 1, now.Add(time.Hour)),
		cert("b-live", "dev-b", 2, now.Add(time.Hour)),
		cert("a-live2", "dev-a", 11, now.Add(2*time.Hour)),
	}
	if err := sl.RecordCertificates(ctx(t), certs); err != nil {
		t.Fatalf("RecordCertificates: %v", err)
	}
	err := sl.RecordCertificates(ctx(t), []store.IssuedCertificate{cert("x", "no-such-device", 3, now.Add(time.Hour))})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("certificate of an unknown device: error %v, want ErrNotFound", err)
	}
	err = sl.RecordCertificates(ctx(t), []store.IssuedCertificate{cert("a-live", "dev-a", 3, now.Add(time.Hour))})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate jti: error %v, want ErrConflict", err)
	}

	got, err := sl.RevokeDevice(ctx(t), "dev-a", "contraindicated", now)
	if err != nil {
		t.Fatalf("RevokeDevice: %v", err)
	}
	jtis := map[string]store.IssuedCertificate{}
	for _, c := range got {
		jtis[c.JTI] = c
	}
	if len(got) != 2 || jtis["a-live"].Index != 1 || jtis["a-live2"].Index != 11 {
		t.Fatalf("RevokeDevice returned %+v, want a-live (idx 1) and a-live2 (idx 11)", got)
	}
	if c := jtis["a-live2"]; c.DeviceID != "dev-a" || c.Audience != "https://bank.example" || c.ListID != list {
		t.Errorf("revoked certificate = %+v", c)
	}
	sameTime(t, "revoked ExpiresAt", jtis["a-live"].ExpiresAt, now.Add(time.Hour))
	l, err := sl.StatusList(ctx(t), list)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int64]bool{0: false, 1: true, 2: false, 3: false, 10: false, 11: true, 12: false, 500: false} {
		if l.Revoked(i) != want {
			t.Errorf("bit %d = %v, want %v (bits %x)", i, l.Revoked(i), want, l.Bits)
		}
	}
	if want := []byte{0x02, 0x08}; string(l.Bits) != string(want) {
		t.Errorf("bits = %x, want %x (index i at bit i%%8 of byte i/8)", l.Bits, want)
	}
	sameTime(t, "UpdatedAt", l.UpdatedAt, now)

	again, err := sl.RevokeDevice(ctx(t), "dev-a", "again", now)
	if err != nil || len(again) != 0 {
		t.Errorf("second RevokeDevice = %v, %v; want nothing left to revoke", again, err)
	}
	if _, err := sl.RevokeDevice(ctx(t), "dev-b", "test", now); err != nil {
		t.Fatal(err)
	}
	l, _ = sl.StatusList(ctx(t), list)
	if !l.Revoked(1) || !l.Revoked(2) || !l.Revoked(11) || l.Revoked(0) {
		t.Errorf("after revoking dev-b, bits = %x", l.Bits)
	}
	n, err := sl.DeleteExpiredCertificates(ctx(t), now)
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredCertificates = %d, %v; want 1", n, err)
	}
}
