package source

import (
	"strings"
	"testing"
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
