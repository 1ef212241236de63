package loadgen_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/loadgen"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// authorityOnLoopback is a real authority over SQLite on a loopback port.
func authorityOnLoopback(t *testing.T) (*httptest.Server, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := keyring.Open(ctx, st, 4*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a, err := authority.New(ctx, authority.Config{Issuer: srv.URL}, authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Status: st, Operations: st})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", a)
	return srv, st
}

func TestRunClosedLoop(t *testing.T) {
	srv, st := authorityOnLoopback(t)
	var mu sync.Mutex
	ids := map[int64]string{}
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Target: srv.URL, Devices: 8, Workers: 4, Duration: 300 * time.Millisecond,
		OnAck: func(dev string, id int64) { mu.Lock(); ids[id] = dev; mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Enrolled != 8 || res.Acknowledged == 0 || res.Errors != 0 || res.Sent != res.Acknowledged {
		t.Fatalf("result = %+v", res)
	}
	if int64(len(ids)) != res.Acknowledged {
		t.Fatalf("%d distinct acknowledged ids, %d acknowledged", len(ids), res.Acknowledged)
	}
	if res.P50ms <= 0 || res.P99ms < res.P50ms || res.PerSecond <= 0 {
		t.Fatalf("figures = %+v", res)
	}
	s, err := st.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A check-in in flight when the run ends may be committed without
	// being acknowledged (its client gave up), never the other way round.
	if s.Devices != 8 || s.Checkins < res.Acknowledged || s.Checkins > res.Acknowledged+4 {
		t.Fatalf("store has %d devices and %d check-ins; the run enrolled 8 and acknowledged %d with 4 workers", s.Devices, s.Checkins, res.Acknowledged)
	}
	// Every acknowledged check-in is in its device's history, with a
	// statement of ten results.
	stored := map[int64]store.Checkin{}
	devices := map[string]bool{}
	for _, dev := range ids {
		devices[dev] = true
	}
	for dev := range devices {
		hist, err := st.Checkins(context.Background(), dev, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range hist {
			stored[c.ID] = c
		}
	}
	for id, dev := range ids {
		c, ok := stored[id]
		if !ok || c.DeviceID != dev {
			t.Errorf("acknowledged check-in %d of %s is not stored", id, dev)
			continue
		}
		parts := strings.Split(string(c.Statement), ".")
		var stmt health.Statement
		if len(parts) == 3 {
			if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				json.Unmarshal(b, &stmt)
			}
		}
		if len(stmt.Checks) != 10 || stmt.DeviceID != dev || c.OS != "linux" {
			t.Errorf("check-in %d: %d results for %q, os %q", id, len(stmt.Checks), stmt.DeviceID, c.OS)
		}
	}
}

func TestRunOpenLoop(t *testing.T) {
	srv, _ := authorityOnLoopback(t)
	res, err := loadgen.Run(context.Background(), loadgen.Config{Target: srv.URL, Devices: 10, Rate: 40, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 40/s for half a second schedules 20 check-ins, none due at or after
	// the end however late its timer fires (the last few may be cut short
	// by the end of the run).
	if res.Sent < 15 || res.Sent > 20 || res.Errors != 0 {
		t.Fatalf("result = %+v", res)
	}
}

func TestResultJSON(t *testing.T) {
	b, err := json.Marshal(loadgen.Result{Sent: 3, Acknowledged: 2, Errors: 1, PerSecond: 2, P50ms: 1.5, P99ms: 3, Elapsed: time.Second, FirstError: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	want := []string{"sent", "acknowledged", "errors", "per_second", "p50_ms", "p99_ms"}
	if len(m) != len(want) {
		t.Fatalf("keys = %v, want exactly %v", m, want)
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %q in %s", k, b)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  loadgen.Config
		ok   bool
	}{
		{"loopback", loadgen.Config{Target: "http://127.0.0.1:8080", Devices: 1, Duration: time.Second, Workers: 1}, true},
		{"localhost", loadgen.Config{Target: "http://localhost:8080", Devices: 1, Duration: time.Second, Workers: 1}, true},
		{"ipv6 loopback", loadgen.Config{Target: "http://[::1]:8080", Devices: 1, Duration: time.Second, Workers: 1}, true},
		{"remote refused", loadgen.Config{Target: "https://authority.example", Devices: 1, Duration: time.Second, Workers: 1}, false},
		{"remote allowed", loadgen.Config{Target: "https://authority.example", Devices: 1, Duration: time.Second, Workers: 1, AllowRemote: true}, true},
		{"not a url", loadgen.Config{Target: "127.0.0.1:8080", Devices: 1, Duration: time.Second, Workers: 1}, false},
		{"too long", loadgen.Config{Target: "http://127.0.0.1:1", Devices: 1, Duration: 2 * time.Hour, Workers: 1}, false},
		{"no devices", loadgen.Config{Target: "http://127.0.0.1:1", Devices: 0, Duration: time.Second, Workers: 1}, false},
		{"negative rate", loadgen.Config{Target: "http://127.0.0.1:1", Devices: 1, Duration: time.Second, Workers: 1, Rate: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestParseProcStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		ok         bool
	}{
		{"plain", "1234 (herd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 10", 3 * time.Second, true},
		{"name with spaces and parens", "99 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1", 100 * time.Millisecond, true},
		{"truncated", "1 (x) S 1 2 3", 0, false},
		{"no name", "garbage", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadgen.ParseProcStatCPU(tc.stat)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("= %v, %v; want %v ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseProcStatCPU(f *testing.F) {
	f.Add("1234 (herd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 10")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := loadgen.ParseProcStatCPU(s); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
	})
}
