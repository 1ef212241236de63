package updates

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
	"github.com/herd-health/herd/internal/source"
)

const securityInRelease = "/var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_InRelease"

// daily is the snapshot of a Debian 12 machine with security updates
// waiting, taken on a day when its package lists were refreshed that
// very morning, as apt-daily does: the security index is always fresh.
func daily(t *testing.T, day int, withUpdates bool) *source.Snapshot {
	t.Helper()
	base := checktest.Load(t, "testdata/linux/pending-debian12-fresh-lists-unknown.json")[0].Snapshot
	s := *base
	at := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC).AddDate(0, 0, day)
	s.CollectedAt = at
	s.Files = map[string]source.FileEntry{}
	for k, v := range base.Files {
		s.Files[k] = v
	}
	rel := string(base.Files[securityInRelease].Data)
	i := strings.Index(rel, "Date: ")
	j := i + strings.IndexByte(rel[i:], '\n')
	s.Files[securityInRelease] = source.FileEntry{Data: []byte(rel[:i] + "Date: " + at.Add(-10*time.Hour).Format(time.RFC1123) + rel[j:])}
	s.Commands = append([]source.CommandEntry(nil), base.Commands...)
	if !withUpdates {
		s.Commands[0].Stdout = "Reading package lists...\nBuilding dependency tree...\nReading state information...\nCalculating upgrade...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"
	}
	return &s
}

func pending(t *testing.T, snap *source.Snapshot, state checks.State) checks.Result {
	t.Helper()
	r := checktest.Run(NewPending(), snap, checks.Env{State: state})
	checktest.AssertWellFormed(t, health.PendingUpdates, r)
	return r
}

// A machine that refreshes its lists every day but never installs: the
// lists' date says nothing of how long the updates have waited, but the
// device remembers when it first saw them, and after the policy's 14
// days the check fails.
func TestPendingAgesFromFirstSeen(t *testing.T) {
	state := checks.NewFileState(filepath.Join(t.TempDir(), "checks-state.json"))
	for _, tc := range []struct {
		day  int
		want health.Status
		says string
	}{
		{0, health.Unknown, "at least 0 days"},
		{7, health.Unknown, "at least 7 days"},
		{15, health.Fail, "for at least 15 days"},
	} {
		r := pending(t, daily(t, tc.day, true), state)
		if r.Status != tc.want || !strings.Contains(r.Reason.En, tc.says) {
			t.Errorf("day %d: %s (%s), want %s saying %q", tc.day, r.Status, r.Reason.En, tc.want, tc.says)
		}
	}
	// Without the device's memory the same snapshot is unknown, as a
	// snapshot anywhere else would be.
	if r := pending(t, daily(t, 15, true), nil); r.Status != health.Unknown {
		t.Errorf("day 15 without state: %s (%s), want unknown", r.Status, r.Reason.En)
	}
}

// Updates the device saw appear (a reading before listed none) have
// waited at most since that reading: within the policy they pass.
func TestPendingPassesWhenSeenAppearing(t *testing.T) {
	state := checks.NewFileState(filepath.Join(t.TempDir(), "checks-state.json"))
	if r := pending(t, daily(t, 0, false), state); r.Status != health.Pass {
		t.Fatalf("day 0, nothing waiting: %s (%s)", r.Status, r.Reason.En)
	}
	r := pending(t, daily(t, 2, true), state)
	if r.Status != health.Pass || !strings.Contains(r.Reason.En, "for at most 2 days") {
		t.Errorf("day 2: %s (%s), want pass, at most 2 days", r.Status, r.Reason.En)
	}
	if r.Evidence.Facts["none_pending_at"] == nil || r.Evidence.Facts["first_seen_pending"] == nil {
		t.Errorf("facts %v lack when they were first seen and when none was waiting", r.Evidence.Facts)
	}
	// The same updates, still waiting at day 20: at least 18 days.
	if r := pending(t, daily(t, 20, true), state); r.Status != health.Fail || !strings.Contains(r.Reason.En, "at least 18 days") {
		t.Errorf("day 20: %s (%s), want fail after at least 18 days", r.Status, r.Reason.En)
	}
	// Installed at day 21: nothing waits, the memory is cleared.
	if r := pending(t, daily(t, 21, false), state); r.Status != health.Pass {
		t.Errorf("day 21: %s", r.Status)
	}
	var st seenState
	if ok, err := state.Load(seenKey("apt"), &st); !ok || err != nil || len(st.Pending) != 0 {
		t.Errorf("remembered after installing: %+v, %v, %v", st, ok, err)
	}
}

func TestRemember(t *testing.T) {
	day := func(n int) time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
	newer := func(installed map[string]string) stillPendingFunc {
		return func(key, v string) bool { return CompareDebVersions(v, installed[key]) > 0 }
	}
	t.Run("a newer fix while the older one waits keeps the first sighting", func(t *testing.T) {
		st := checks.NewFileState(filepath.Join(t.TempDir(), "s.json"))
		inst := map[string]string{"openssl": "3.0.13-1"}
		remember(st, "apt", day(0), []pendingItem{{"openssl", "3.0.14-1"}}, newer(inst))
		oldest, after, note := remember(st, "apt", day(10), []pendingItem{{"openssl", "3.0.15-1"}}, newer(inst))
		if !oldest.Equal(day(0)) || !after.IsZero() || note != "" {
			t.Errorf("oldest %v after %v note %q; want day 0, no upper bound", oldest, after, note)
		}
	})
	t.Run("a fix that came after the last one was installed is new", func(t *testing.T) {
		st := checks.NewFileState(filepath.Join(t.TempDir(), "s.json"))
		remember(st, "apt", day(0), []pendingItem{{"openssl", "3.0.14-1"}}, newer(map[string]string{"openssl": "3.0.13-1"}))
		oldest, after, _ := remember(st, "apt", day(3), []pendingItem{{"openssl", "3.0.15-1"}}, newer(map[string]string{"openssl": "3.0.14-1"}))
		if !oldest.Equal(day(3)) || !after.Equal(day(0)) {
			t.Errorf("oldest %v after %v; want day 3, after day 0", oldest, after)
		}
	})
	t.Run("advisories are each their own update", func(t *testing.T) {
		st := checks.NewFileState(filepath.Join(t.TempDir(), "s.json"))
		remember(st, "dnf", day(0), []pendingItem{{Key: "FEDORA-2026-1"}}, nil)
		oldest, after, _ := remember(st, "dnf", day(5), []pendingItem{{Key: "FEDORA-2026-1"}, {Key: "FEDORA-2026-2"}}, nil)
		if !oldest.Equal(day(0)) || !after.IsZero() {
			t.Errorf("oldest %v after %v; want day 0, and no upper bound for the first", oldest, after)
		}
	})
	t.Run("a clock gone back starts afresh", func(t *testing.T) {
		st := checks.NewFileState(filepath.Join(t.TempDir(), "s.json"))
		remember(st, "apt", day(10), []pendingItem{{"openssl", "1"}}, nil)
		oldest, _, note := remember(st, "apt", day(2), []pendingItem{{"openssl", "1"}}, nil)
		if !oldest.Equal(day(2)) || !strings.Contains(note, "afresh") {
			t.Errorf("oldest %v note %q", oldest, note)
		}
	})
	t.Run("a state that cannot be written is told, and the reading still counts", func(t *testing.T) {
		st := checks.NewFileState(t.TempDir()) // a directory, not a file
		oldest, _, note := remember(st, "apt", day(1), []pendingItem{{"openssl", "1"}}, nil)
		if !oldest.Equal(day(1)) || note == "" {
			t.Errorf("oldest %v note %q", oldest, note)
		}
	})
	t.Run("no state directory: nothing remembered, nothing told", func(t *testing.T) {
		st := checks.NewFileState(filepath.Join(t.TempDir(), "missing", "s.json"))
		oldest, _, note := remember(st, "apt", day(1), []pendingItem{{"openssl", "1"}}, nil)
		if !oldest.Equal(day(1)) || note != "" {
			t.Errorf("oldest %v note %q", oldest, note)
		}
	})
}

// Readings a minute apart that find the same updates do not rewrite the
// file each time; a change, or a quarter of an hour, does.
func TestRememberWritesSeldom(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.json")
	st := checks.NewFileState(p)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	items := []pendingItem{{"openssl", "1"}}
	remember(st, "apt", at, items, nil)
	remember(st, "apt", at.Add(time.Minute), items, nil)
	var s seenState
	st.Load(seenKey("apt"), &s)
	if !s.LastReading.Equal(at) {
		t.Errorf("an unchanged reading a minute later rewrote the file (last reading %v)", s.LastReading)
	}
	remember(st, "apt", at.Add(2*time.Minute), append(items, pendingItem{"curl", "2"}), nil)
	st.Load(seenKey("apt"), &s)
	if len(s.Pending) != 2 || !s.LastReading.Equal(at.Add(2*time.Minute)) {
		t.Errorf("a new update was not written: %+v", s)
	}
	remember(st, "apt", at.Add(20*time.Minute), append(items, pendingItem{"curl", "2"}), nil)
	st.Load(seenKey("apt"), &s)
	if !s.LastReading.Equal(at.Add(20 * time.Minute)) {
		t.Errorf("last reading %v after a quarter of an hour, want %v", s.LastReading, at.Add(20*time.Minute))
	}
}
