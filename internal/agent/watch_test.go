package agent

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/source"
)

type idCheck health.CheckID

func (c idCheck) ID() health.CheckID                { return health.CheckID(c) }
func (c idCheck) Probes(goos string) []source.Probe { return nil }
func (c idCheck) Run(context.Context, source.Source, checks.Env) checks.Result {
	return checks.Result{}
}

func TestWatcherPicks(t *testing.T) {
	list := []checks.Check{idCheck(health.Firewall), idCheck(health.PendingUpdates), idCheck(health.Malware), idCheck(health.ScreenLock)}
	ms := time.Millisecond
	budget := 250 * ms
	tests := []struct {
		name string
		runs [][]time.Duration // per full run: firewall, pending_updates, malware, screen_lock
		want []health.CheckID
	}{
		{"fast run", [][]time.Duration{{ms, 5 * time.Second, ms, ms}},
			[]health.CheckID{health.Firewall, health.Malware, health.ScreenLock}},
		// On a busy machine one run of every check was slow: malware and
		// firewall are watched all the same.
		{"one slow run", [][]time.Duration{{time.Second, 5 * time.Second, 2 * time.Second, time.Second}},
			[]health.CheckID{health.Firewall, health.Malware}},
		// One slow run among fast ones does not drop a cheap check.
		{"slow run among fast ones", [][]time.Duration{{ms, 4 * time.Second, ms, ms}, {ms, 4 * time.Second, ms, ms}, {time.Second, 6 * time.Second, time.Second, time.Second}},
			[]health.CheckID{health.Firewall, health.Malware, health.ScreenLock}},
		// Mostly slow: no longer cheap.
		{"mostly slow", [][]time.Duration{{ms, 4 * time.Second, ms, ms}, {ms, 4 * time.Second, ms, time.Second}, {ms, 6 * time.Second, ms, time.Second}},
			[]health.CheckID{health.Firewall, health.Malware}},
		// Only the last few runs count: a check that turned cheap again is
		// watched once most of the recent runs were fast.
		{"old slow runs forgotten", [][]time.Duration{
			{ms, time.Second, ms, ms}, {ms, time.Second, ms, ms}, {ms, time.Second, ms, ms}, {ms, time.Second, ms, ms},
			{ms, ms, ms, ms}, {ms, ms, ms, ms}, {ms, ms, ms, ms}},
			[]health.CheckID{health.Firewall, health.PendingUpdates, health.Malware, health.ScreenLock}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &Watcher{Budget: budget}
			for _, took := range tc.runs {
				w.Reset(list, nil, took)
			}
			if got := w.Watched(); !slices.Equal(got, tc.want) {
				t.Errorf("watched %v, want %v", got, tc.want)
			}
		})
	}
}
