package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
	"github.com/herd-health/herd/internal/webhook"
	"github.com/herd-health/herd/verify"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestDispatcher(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{t: time.Now().UTC()}
	var (
		mu     sync.Mutex
		status = http.StatusServiceUnavailable
		got    [][]byte
	)
	secret := []byte("webhook-secret")
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verify.WebhookSignature(secret, r.Header.Get(webhook.SignatureHeader), body, clk.Now(), time.Minute); err != nil {
			t.Errorf("bad signature: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, body)
		w.WriteHeader(status)
	}))
	defer rcv.Close()
	for _, rp := range []store.RelyingParty{
		{Audience: "https://bank.example", WebhookURL: rcv.URL, Secret: secret, CreatedAt: clk.Now()},
	} {
		if err := st.AddRelyingParty(ctx, rp); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.EnqueueEvents(ctx, []store.OutboxEvent{
		{EventID: "e1", Audience: "https://bank.example", Body: []byte(`{"id":"e1"}`), CreatedAt: clk.Now()},
		{EventID: "e2", Audience: "https://gone.example", Body: []byte(`{"id":"e2"}`), CreatedAt: clk.Now()},
	}); err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	d := webhook.NewDispatcher(webhook.Config{MaxAttempts: 3, InitialBackoff: webhook.Duration(time.Minute)}, st, nil, nil, clk.Now)
	d.Observe = func(o string) { outcomes = append(outcomes, o) }

	// First attempt fails (503); the unregistered audience is given up.
	if n, err := d.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if n, _ := d.RunOnce(ctx); n != 0 {
		t.Fatalf("an event was due again before its backoff")
	}
	clk.Add(time.Minute) // backoff after one failure is 30s to 1m
	mu.Lock()
	status = http.StatusNoContent
	mu.Unlock()
	if n, err := d.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("retry RunOnce = %d, %v", n, err)
	}
	clk.Add(24 * time.Hour)
	if n, _ := d.RunOnce(ctx); n != 0 {
		t.Errorf("a delivered event was sent again")
	}
	if len(got) != 2 || string(got[1]) != `{"id":"e1"}` {
		t.Errorf("receiver got %q, want e1 twice", got)
	}
	dead, _ := st.DeadEvents(ctx, 10)
	if len(dead) != 1 || dead[0].EventID != "e2" {
		t.Errorf("dead events = %+v, want e2", dead)
	}
	want := []string{"failed", "dead", "delivered"}
	if len(outcomes) != 3 || outcomes[0] != want[0] || outcomes[1] != want[1] || outcomes[2] != want[2] {
		t.Errorf("outcomes = %v, want %v", outcomes, want)
	}
}

func TestDispatcherGivesUp(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{t: time.Now().UTC()}
	calls := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer rcv.Close()
	st.AddRelyingParty(ctx, store.RelyingParty{Audience: "a", WebhookURL: rcv.URL, Secret: []byte("k"), CreatedAt: clk.Now()})
	st.EnqueueEvents(ctx, []store.OutboxEvent{{EventID: "e", Audience: "a", Body: []byte("{}"), CreatedAt: clk.Now()}})
	d := webhook.NewDispatcher(webhook.Config{MaxAttempts: 4}, st, nil, nil, clk.Now)
	for range 10 {
		d.RunOnce(ctx)
		clk.Add(2 * time.Hour)
	}
	if calls != 4 {
		t.Errorf("%d attempts, want 4", calls)
	}
	dead, _ := st.DeadEvents(ctx, 10)
	if len(dead) != 1 || dead[0].Attempts != 4 || dead[0].LastError != "webhook answered 500 Internal Server Error" {
		t.Errorf("dead = %+v", dead)
	}
}

func TestBackoff(t *testing.T) {
	d := webhook.NewDispatcher(webhook.Config{InitialBackoff: webhook.Duration(10 * time.Second), MaxBackoff: webhook.Duration(time.Minute)}, nil, nil, nil, nil)
	tests := []struct {
		attempts int
		lo, hi   time.Duration
	}{
		{1, 5 * time.Second, 10 * time.Second},
		{2, 10 * time.Second, 20 * time.Second},
		{3, 20 * time.Second, 40 * time.Second},
		{4, 30 * time.Second, time.Minute},
		{30, 30 * time.Second, time.Minute},
	}
	for _, tc := range tests {
		for range 50 {
			if b := d.Backoff(tc.attempts); b < tc.lo || b > tc.hi {
				t.Errorf("Backoff(%d) = %v, want in [%v, %v]", tc.attempts, b, tc.lo, tc.hi)
			}
		}
	}
}
