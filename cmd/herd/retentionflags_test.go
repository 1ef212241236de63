package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/retention"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// herd retention run --source-address-days 0 clears every address now;
// --history-days 0 keeps history (as its help says).
func TestRetentionRunExplicitZero(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "herd.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := st.CreateDevice(ctx, store.Device{ID: "d", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: now.Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, age := range []time.Duration{24 * time.Hour, time.Hour} {
		if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: "d", ReceivedAt: now.Add(-age), Verdict: health.Affirming,
			PolicyID: "p@1", OS: "linux", SourceIP: "198.51.100.9"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	run := func(args ...string) retention.Result {
		t.Helper()
		code, out, errs := runCmd(t, runRetention, append([]string{"run", "--db", "sqlite:" + db}, args...)...)
		var r retention.Result
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("retention run %v = %d %s %s", args, code, out, errs)
		}
		return r
	}
	if r := run(); r.SourceAddressesCleared != 0 {
		t.Errorf("default run cleared %d addresses of check-ins under 30 days old", r.SourceAddressesCleared)
	}
	if r := run("--source-address-days", "0", "--history-days", "0"); r.SourceAddressesCleared != 2 || r.CheckinsDeleted != 0 {
		t.Errorf("--source-address-days 0 --history-days 0 = %+v, want 2 addresses cleared, history kept", r)
	}
	code, out, _ := runCmd(t, runRetention, "-h")
	if code != 0 || !strings.Contains(out, "0 clears every one now") || !strings.Contains(out, "keeps history forever") {
		t.Errorf("retention -h = %d %q", code, out)
	}
}
