package source

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestReadSnapshotOS(t *testing.T) {
	for _, c := range []struct {
		os, err string
	}{
		{"linux", ""}, {"windows", ""}, {"darwin", ""},
		{"plan9", `"plan9"; only linux, windows and darwin`},
		{"", `"os" is missing`},
	} {
		t.Run(c.os, func(t *testing.T) {
			_, err := ReadSnapshot(strings.NewReader(`{"version":1,"os":"` + c.os + `","collected_at":"2026-01-02T03:04:05Z"}`))
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("err %v, want %q", err, c.err)
			}
		})
	}
}

// A snapshot a user hands in is checked before it is replayed: a command
// without argv or a collected_at no snapshot has is a clear error, and a
// replay asked to run nothing says so instead of failing.
func TestReadSnapshotRejects(t *testing.T) {
	for _, tc := range []struct{ name, js, want string }{
		{"command without argv", `{"version":1,"os":"windows","collected_at":"2026-12-03T18:00:00Z","commands":[{"error":"0"}]}`, `commands[0] has no "argv"`},
		{"command with an empty name", `{"version":1,"os":"linux","collected_at":"2026-12-03T18:00:00Z","commands":[{"argv":[""]}]}`, `commands[0] has no "argv"`},
		{"year 0", `{"version":1,"os":"linux","collected_at":"0000-01-01T00:00:00Z"}`, "no time a snapshot was taken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSnapshot(strings.NewReader(tc.js))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := NewReplay(NewSnapshot("linux", time.Now(), "USER", "")).Run(context.Background()); err == nil {
		t.Error("running nothing: no error")
	}
}
