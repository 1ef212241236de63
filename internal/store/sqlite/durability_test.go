package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// TestKilledWriterLosesNoAcknowledgedCheckin records check-ins in a child
// process, kills it mid-stream with SIGKILL, and checks that every
// check-in the child saw acknowledged is in the database.
func TestKilledWriterLosesNoAcknowledgedCheckin(t *testing.T) {
	if path := os.Getenv("HERD_SQLITE_WRITER"); path != "" {
		writeUntilKilled(path)
		return
	}
	path := filepath.Join(t.TempDir(), "herd.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDevice(t.Context(), store.Device{ID: "d", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriterLosesNoAcknowledgedCheckin$")
	cmd.Env = append(os.Environ(), "HERD_SQLITE_WRITER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int64]bool{}
	sc := bufio.NewScanner(out)
	for len(acked) < 200 && sc.Scan() {
		id, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			continue // test framework output
		}
		acked[id] = true
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 200 {
		t.Fatalf("child acknowledged only %d check-ins before exiting", len(acked))
	}

	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	history, err := s.Checkins(t.Context(), "d", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for _, c := range history {
		have[c.ID] = true
	}
	for id := range acked {
		if !have[id] {
			t.Errorf("acknowledged check-in %d is missing after the kill", id)
		}
	}
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Checkins != int64(len(history)) {
		t.Errorf("Stats.Checkins = %d, history holds %d", st.Checkins, len(history))
	}
}

func writeUntilKilled(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		id, err := s.RecordCheckin(ctx, store.Checkin{DeviceID: "d", ReceivedAt: time.Now(), Verdict: health.Affirming, Statement: []byte("s")})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintln(w, id)
		w.Flush()
	}
}
