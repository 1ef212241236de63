package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/internal/loadgen"
	"github.com/herd-health/herd/internal/store/storeopen"
)

// buildHerd builds this command once per test.
func buildHerd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "herd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// pgSchemaDSN makes an empty schema in HERD_TEST_POSTGRES (a URL DSN),
// dropped when the test ends, and returns a DSN that uses it.
func pgSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("HERD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("HERD_TEST_POSTGRES is not set")
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skipf("HERD_TEST_POSTGRES is not a postgres:// URL")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "herd_test_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(ctx)
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestDurabilitySQLite(t *testing.T) {
	testDurability(t, "sqlite:"+filepath.Join(t.TempDir(), "herd.db"))
}

func TestPostgresDurability(t *testing.T) {
	testDurability(t, pgSchemaDSN(t))
}

// testDurability runs herd serve under load, kills it with SIGKILL in the
// middle, restarts it on the same database, and checks that every
// check-in it acknowledged is there and that it serves again.
func testDurability(t *testing.T, dsn string) {
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	bin := buildHerd(t)
	dataDir := t.TempDir()
	addr := freeLoopbackAddr(t)
	base := "http://" + addr
	args := []string{"--addr", addr, "--db", dsn, "--data-dir", dataDir}
	srv := startServeChild(t, bin, args...)
	waitServeHealthy(t, base)

	var mu sync.Mutex
	acked := map[string][]int64{}
	var n atomic.Int64
	killed := make(chan struct{})
	done := make(chan loadgen.Result, 1)
	go func() {
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			Target: base, Devices: 40, Workers: 16, Duration: 4 * time.Second,
			OnAck: func(dev string, id int64) {
				mu.Lock()
				acked[dev] = append(acked[dev], id)
				mu.Unlock()
				n.Add(1)
			},
		})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Kill once a good number of check-ins are acknowledged, while the
	// load is still running.
	deadline := time.Now().Add(30 * time.Second)
	for n.Load() < 300 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(killed)
	srv.Wait()
	res := <-done
	if res.Acknowledged < 300 {
		t.Fatalf("only %d check-ins were acknowledged before the kill (%s)", res.Acknowledged, res.FirstError)
	}
	if res.Errors == 0 {
		t.Fatalf("no check-in failed after the kill: the server was not killed under load")
	}

	// Restart on the same database.
	startServeChild(t, bin, args...)
	waitServeHealthy(t, base)
	ctx := context.Background()
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for dev, ids := range acked {
		hist, err := st.Checkins(ctx, dev, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		have := map[int64]bool{}
		for _, c := range hist {
			have[c.ID] = true
		}
		for _, id := range ids {
			total++
			if !have[id] {
				t.Errorf("acknowledged check-in %d of device %s is missing after the restart", id, dev)
			}
		}
	}
	if int64(total) != res.Acknowledged {
		t.Fatalf("recorded %d acknowledgements, the load generator counted %d", total, res.Acknowledged)
	}
	// The restarted server serves check-ins again.
	after, err := loadgen.Run(ctx, loadgen.Config{Target: base, Devices: 4, Workers: 4, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if after.Acknowledged == 0 || after.Errors != 0 {
		t.Fatalf("after the restart: %+v", after)
	}
	t.Logf("%d acknowledged check-ins before SIGKILL, all present after the restart; %d failed with the server gone", total, res.Errors)
}
