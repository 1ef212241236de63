package node

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/webhook"
)

// feedServer serves a Feodo-layout CSV with an ETag, answering 304 to a
// matching If-None-Match.
type feedServer struct {
	mu       sync.Mutex
	ips      []string
	requests []string // "200" or "304"
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b bytes.Buffer
	b.WriteString("# Feodo Tracker\n\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n")
	for _, ip := range f.ips {
		fmt.Fprintf(&b, "\"2026-11-01 10:00:00\",%q,\"443\",\"online\",\"2026-11-30\",\"QakBot\"\n", ip)
	}
	etag := fmt.Sprintf(`"%d"`, len(f.ips))
	if r.Header.Get("If-None-Match") == etag {
		f.requests = append(f.requests, "304")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f.requests = append(f.requests, "200")
	w.Header().Set("ETag", etag)
	w.Write(b.Bytes())
}

func (f *feedServer) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func liveValues(t *testing.T, st store.Store) []string {
	t.Helper()
	var out []string
	if _, err := st.(store.Intel).LiveIndicators(context.Background(), nil, func(in store.Indicator) error {
		out = append(out, in.Value)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFeedRefreshAndExpiry(t *testing.T) {
	ctx := context.Background()
	fs := &feedServer{ips: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "h.db")
	open := func() *Node {
		n, err := Open(ctx, Config{
			DSN: dsn, KEK: bytes.Repeat([]byte{7}, 32), Now: now,
			Authority:           authority.Config{Issuer: "http://127.0.0.1:1"},
			Feeds:               []Feed{{Name: "feodo", URL: srv.URL, Interval: webhook.Duration(time.Hour)}},
			IndicatorExpiryDays: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open()
	defer n.Close()

	if err := n.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	if got := liveValues(t, n.Store); len(got) != 3 || fmt.Sprint(fs.log()) != "[200]" {
		t.Fatalf("first refresh: %v stored, requests %v", got, fs.log())
	}
	// Not due yet: no request.
	advance(30 * time.Minute)
	n.RefreshFeeds(ctx)
	if fmt.Sprint(fs.log()) != "[200]" {
		t.Fatalf("refreshed before its interval: %v", fs.log())
	}
	// A second node over the same store finds the lease taken.
	n2 := open()
	defer n2.Close()
	n2.RefreshFeeds(ctx)
	if fmt.Sprint(fs.log()) != "[200]" {
		t.Fatalf("second node imported while the first held the lease: %v", fs.log())
	}
	// Due: a conditional GET, not modified, indicators kept fresh; day
	// after day of "not modified" never expires them.
	for day := 0; day < 4; day++ {
		advance(24 * time.Hour)
		if err := n.RefreshFeeds(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := liveValues(t, n.Store); len(got) != 3 || fmt.Sprint(fs.log()) != "[200 304 304 304 304]" {
		t.Fatalf("after not-modified refreshes: %v stored, requests %v", got, fs.log())
	}
	// The feed drops 192.0.2.3; it expires once stale for 2 days.
	fs.mu.Lock()
	fs.ips = fs.ips[:2]
	fs.mu.Unlock()
	advance(2 * time.Hour)
	n.RefreshFeeds(ctx)
	if got := liveValues(t, n.Store); len(got) != 3 {
		t.Fatalf("expired too early: %v", got)
	}
	advance(49 * time.Hour)
	n.RefreshFeeds(ctx)
	if got := liveValues(t, n.Store); fmt.Sprint(got) != "[192.0.2.1 192.0.2.2]" {
		t.Fatalf("after expiry: %v, want the two still listed", got)
	}
}

// TestFeedLoop: the background loop refreshes on its own with a short tick.
func TestFeedLoop(t *testing.T) {
	fs := &feedServer{ips: []string{"192.0.2.9"}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	n, err := Open(context.Background(), Config{
		DSN: "sqlite:" + filepath.Join(t.TempDir(), "h.db"), KEK: bytes.Repeat([]byte{7}, 32),
		Authority: authority.Config{Issuer: "http://127.0.0.1:1"},
		Feeds:     []Feed{{Name: "f", URL: srv.URL, Interval: webhook.Duration(10 * time.Millisecond)}},
		FeedTick:  10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.feedLoop(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(fs.log()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if l := fs.log(); len(l) < 3 || l[0] != "200" || l[1] != "304" {
		t.Errorf("requests %v; want a full fetch then conditional ones", l)
	}
	if got := liveValues(t, n.Store); fmt.Sprint(got) != "[192.0.2.9]" {
		t.Errorf("stored %v", got)
	}
}

// TestFeedExpiryDefault: without indicator_expiry_days an indicator no
// feed has listed for more than 30 days expires; one listed within them
// stays.
func TestFeedExpiryDefault(t *testing.T) {
	ctx := context.Background()
	fs := &feedServer{ips: []string{"192.0.2.1", "192.0.2.2"}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	n, err := Open(ctx, Config{
		DSN: "sqlite:" + filepath.Join(t.TempDir(), "h.db"), KEK: bytes.Repeat([]byte{7}, 32), Now: now,
		Authority: authority.Config{Issuer: "http://127.0.0.1:1"},
		Feeds:     []Feed{{Name: "feodo", URL: srv.URL, Interval: webhook.Duration(24 * time.Hour)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	fs.ips = fs.ips[:1] // 192.0.2.2 is no longer listed
	fs.mu.Unlock()
	for day := 1; day <= 31; day++ {
		clock.Add(int64(24 * time.Hour))
		if err := n.RefreshFeeds(ctx); err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(liveValues(t, n.Store))
		switch {
		case day <= 30 && got != "[192.0.2.1 192.0.2.2]":
			t.Fatalf("day %d: %s, want both (not stale for more than 30 days yet)", day, got)
		case day > 30 && got != "[192.0.2.1]":
			t.Fatalf("day %d: %s, want 192.0.2.2 expired after 30 days", day, got)
		}
	}
}

// flakyFeed fails its first fails requests with 503, then serves a feed.
type flakyFeed struct {
	mu    sync.Mutex
	fails int
	times []time.Time // when each request came, by the test's clock
	now   func() time.Time
}

func (f *flakyFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = append(f.times, f.now())
	if f.fails > 0 {
		f.fails--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\"2026-11-01 10:00:00\",\"192.0.2.7\",\"443\",\"online\",\"2026-11-30\",\"QakBot\"\n"))
}

func (f *flakyFeed) requests() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times...)
}

// TestFeedRetry: a failed refresh is retried after a minute, then after
// two, four…, not after the feed's whole interval; once it succeeds the
// interval applies again. Its lease ends with the failure, so another
// node may retry too.
func TestFeedRetry(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	ff := &flakyFeed{fails: 3, now: now}
	srv := httptest.NewServer(ff)
	defer srv.Close()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "h.db")
	open := func() *Node {
		n, err := Open(ctx, Config{
			DSN: dsn, KEK: bytes.Repeat([]byte{7}, 32), Now: now,
			Authority: authority.Config{Issuer: "http://127.0.0.1:1"},
			Feeds:     []Feed{{Name: "feodo", URL: srv.URL, Interval: webhook.Duration(6 * time.Hour)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open()
	defer n.Close()
	// Tick every 30 s of the test's clock for 10 minutes.
	for i := 0; i <= 20; i++ {
		n.RefreshFeeds(ctx)
		clock.Add(int64(30 * time.Second))
	}
	var got []string
	for _, at := range ff.requests() {
		got = append(got, at.Sub(t0).String())
	}
	// Failed at 0, retried at 1m (failed), 3m (failed), 7m (served).
	if fmt.Sprint(got) != "[0s 1m0s 3m0s 7m0s]" {
		t.Fatalf("requests at %v; want [0s 1m0s 3m0s 7m0s]", got)
	}
	if v := liveValues(t, n.Store); fmt.Sprint(v) != "[192.0.2.7]" {
		t.Errorf("stored %v after the retry succeeded", v)
	}
	// After the success the next refresh is one interval later.
	clock.Store(t0.Add(7*time.Minute + 6*time.Hour - time.Second).UnixNano())
	n.RefreshFeeds(ctx)
	if len(ff.requests()) != 4 {
		t.Errorf("refreshed %d times before the interval passed, want 4", len(ff.requests()))
	}

	// A failure ends the lease: a second node can retry after the backoff.
	ff.mu.Lock()
	ff.fails = 1
	ff.mu.Unlock()
	clock.Store(t0.Add(7*time.Minute + 6*time.Hour).UnixNano())
	n.RefreshFeeds(ctx) // fails
	n2 := open()
	defer n2.Close()
	clock.Add(int64(time.Minute))
	n2.RefreshFeeds(ctx)
	if len(ff.requests()) != 6 {
		t.Errorf("%d requests; want the second node to retry a minute after the failure", len(ff.requests()))
	}
}

// mispFeed serves a MISP feed: manifest.json (with an ETag) and the
// event files it lists, some of which may be missing.
type mispFeed struct {
	mu       sync.Mutex
	files    map[string][]byte
	requests []string
}

func (f *mispFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.URL.Path)
	b, ok := f.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Path == "/misp/manifest.json" {
		if r.Header.Get("If-None-Match") == `"m1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"m1"`)
	}
	w.Write(b)
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "intel", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFeedRefreshMISP: a scheduled refresh of a MISP feed's manifest
// imports the events it lists, under the feed's name; an unchanged
// manifest keeps them fresh; a refresh that finds none of the events is
// recorded as failed, not as a success.
func TestFeedRefreshMISP(t *testing.T) {
	ctx := context.Background()
	const e1, e2 = "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f", "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e60"
	mf := &mispFeed{files: map[string][]byte{
		"/misp/manifest.json":   readSample(t, "misp-feed-manifest.json"),
		"/misp/" + e1 + ".json": readSample(t, "misp-event-"+e1+".json"),
		"/misp/" + e2 + ".json": readSample(t, "misp-event-objects.json"),
	}}
	srv := httptest.NewServer(mf)
	defer srv.Close()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	open := func(dsn, url string) *Node {
		n, err := Open(ctx, Config{
			DSN: dsn, KEK: bytes.Repeat([]byte{7}, 32), Now: now,
			Authority: authority.Config{Issuer: "http://127.0.0.1:1"},
			Feeds:     []Feed{{Name: "cert-x", URL: url, Interval: webhook.Duration(time.Hour)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open("sqlite:"+filepath.Join(t.TempDir(), "h.db"), srv.URL+"/misp/manifest.json")
	defer n.Close()
	if err := n.RefreshFeeds(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	count := 0
	n.Store.(store.Intel).LiveIndicators(ctx, nil, func(in store.Indicator) error {
		count++
		if !slices.Equal(in.Sources, []string{"cert-x"}) {
			t.Errorf("%s %s comes from %v, want cert-x", in.Type, in.Value, in.Sources)
		}
		return nil
	})
	// The two events' indicators (internal/intel TestSamples): 2 + 6.
	if count != 8 {
		t.Fatalf("stored %d indicators; want the two events' 8", count)
	}
	recs, _ := n.Store.(store.FeedReports).FeedRecords(ctx)
	if len(recs) != 1 || recs[0].Name != "cert-x" || recs[0].LastError != "" || recs[0].LastSuccess.IsZero() {
		t.Fatalf("feed records %+v; want cert-x succeeded", recs)
	}
	// Unchanged a day later: the manifest answers 304, nothing expires.
	clock.Add(int64(40 * 24 * time.Hour))
	if err := n.RefreshFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	if got := liveValues(t, n.Store); len(got) != 8 {
		t.Fatalf("after an unchanged manifest: %d live, want 8", len(got))
	}

	// A manifest whose events are all missing imports nothing: a failure.
	mf.mu.Lock()
	delete(mf.files, "/misp/"+e1+".json")
	delete(mf.files, "/misp/"+e2+".json")
	mf.files["/empty/manifest.json"] = mf.files["/misp/manifest.json"]
	mf.mu.Unlock()
	n2 := open("sqlite:"+filepath.Join(t.TempDir(), "h2.db"), srv.URL+"/empty/manifest.json")
	defer n2.Close()
	if err := n2.RefreshFeeds(ctx); err == nil {
		t.Fatal("a refresh that found none of the events succeeded")
	}
	recs, _ = n2.Store.(store.FeedReports).FeedRecords(ctx)
	if len(recs) != 1 || recs[0].LastError == "" || !recs[0].LastSuccess.IsZero() {
		t.Fatalf("feed records %+v; want cert-x failed", recs)
	}
}
