package screenlock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	checktest.SnapshotsAllOS(t, New(), checks.Env{}, health.NotApplicable)
}

// TestPolicyDelay runs the same snapshots under a stricter and a looser
// policy: the verdict must follow env.LockDelay.
func TestPolicyDelay(t *testing.T) {
	tests := []struct {
		goos, snap string
		max        time.Duration
		want       health.Status
	}{
		{"linux", "case-23b-gnome-ok", 5 * time.Minute, health.Fail},
		{"linux", "case-23b-gnome-ok", 330 * time.Second, health.Pass},
		{"linux", "gnome-idle-30-min", time.Hour, health.Pass},
		{"linux", "kde-too-long-for-policy", 20 * time.Minute, health.Pass},
		{"windows", "screensaver-secure-10-min", 5 * time.Minute, health.Fail},
		{"windows", "policy-overrides-user-too-long", 30 * time.Minute, health.Pass},
		// A default Windows 11 laptop sleeps after 30 minutes plugged in
		// and asks for the password on waking: that lock counts.
		{"windows", "win11-laptop-defaults-service", 30 * time.Minute, health.Pass},
		{"windows", "win11-laptop-defaults-user", 30 * time.Minute, health.Pass},
		{"windows", "win11-laptop-defaults-service", 9 * time.Minute, health.Fail},
		{"windows", "display-off-later-than-allowed", 30 * time.Minute, health.Unknown},
		{"windows", "sleep-with-sign-in-10-min", 5 * time.Minute, health.Fail},
		{"darwin", "delay-300-idle-20-min", 25 * time.Minute, health.Pass},
		{"darwin", "immediate-idle-5-min", 4 * time.Minute, health.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.goos+"/"+tt.snap, func(t *testing.T) {
			cs := checktest.Load(t, filepath.Join("testdata", tt.goos, tt.snap+".json"))
			got := checktest.Run(New(), cs[0].Snapshot, checks.Env{MaxLockDelay: tt.max})
			if got.Status != tt.want {
				t.Errorf("max %s: status %s (%s), want %s", tt.max, got.Status, got.Reason.En, tt.want)
			}
			checktest.AssertWellFormed(t, New().ID(), got)
		})
	}
}

func TestProbes(t *testing.T) {
	checktest.ProbesAllOS(t, New())
	if New().ID() != health.ScreenLock {
		t.Errorf("ID = %s", New().ID())
	}
}

func raw(t testing.TB, goos, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", goos, "raw", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseGVariant(t *testing.T) {
	// The values of the case-23b capture, each after its command line.
	tr := raw(t, "linux", "case-23b-gnome-screenlock-ok.transcript.txt")
	vals := map[string]string{}
	for _, block := range strings.Split(tr, "$ ")[1:] {
		cmd, out, _ := strings.Cut(block, "\n")
		f := strings.Fields(cmd)
		vals[f[len(f)-1]] = out
	}
	if b, err := GVariantBool(vals["lock-enabled"]); err != nil || !b {
		t.Errorf("lock-enabled: %v, %v", b, err)
	}
	if b, err := GVariantBool(vals["idle-activation-enabled"]); err != nil || b {
		t.Errorf("idle-activation-enabled: %v, %v", b, err)
	}
	if n, err := GVariantUint(vals["idle-delay"]); err != nil || n != 300 {
		t.Errorf("idle-delay: %v, %v", n, err)
	}
	if n, err := GVariantUint(vals["lock-delay"]); err != nil || n != 30 {
		t.Errorf("lock-delay: %v, %v", n, err)
	}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"uint32 300\n", "300", true},
		{"@u 0", "0", true},
		{"'ubuntu:GNOME'", "ubuntu:GNOME", true},
		{"int32 -5", "-5", true},
		{"", "", false},
		{"@u", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseGVariant(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseGVariant(%q) = %q, %v", tt.in, got, err)
			}
		})
	}
	for _, bad := range []string{"int32 -5", "uint32 x", "true", "uint32 99999999999"} {
		if _, err := GVariantUint(bad); err == nil {
			t.Errorf("GVariantUint(%q): no error", bad)
		}
	}
	if _, err := GVariantBool("uint32 1"); err == nil {
		t.Error("GVariantBool(uint32 1): no error")
	}
}

func TestParseKScreenLockerRC(t *testing.T) {
	tests := []struct {
		file string
		want KDELock
	}{
		{"kscreenlockerrc-timeout-10.txt", KDELock{Autolock: true, Timeout: 10 * time.Minute, LockGrace: 30 * time.Second, LockOnResume: true}},
		{"kscreenlockerrc-autolock-off.txt", KDELock{Autolock: false, Timeout: 5 * time.Minute, LockGrace: 5 * time.Second, LockOnResume: false}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseKScreenLockerRC(strings.NewReader(raw(t, "linux", tt.file)))
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if got, err := ParseKScreenLockerRC(strings.NewReader("")); err != nil || got != KDEDefaults {
		t.Errorf("empty file: %+v, %v", got, err)
	}
	for _, bad := range []string{"[Daemon]\nTimeout=five\n", "[Daemon]\nAutolock=maybe\n", "[Daemon\n"} {
		if _, err := ParseKScreenLockerRC(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// A [$i] marker locks a key for the user; the value still counts.
	got, err := ParseKScreenLockerRC(strings.NewReader("[Daemon][$i]\nTimeout[$i]=3\n"))
	if err != nil || got.Timeout != 3*time.Minute {
		t.Errorf("immutable key: %+v, %v", got, err)
	}
}

func TestLoginctl(t *testing.T) {
	ids := ParseLoginctlSessions(raw(t, "linux", "loginctl-list-sessions.txt"))
	if strings.Join(ids, ",") != "2,c1" {
		t.Errorf("ids = %q", ids)
	}
	if ids := ParseLoginctlSessions("SESSION  UID USER SEAT TTY\n\n2 sessions listed.\nNo sessions.\n"); len(ids) != 0 {
		t.Errorf("legend lines read as sessions: %q", ids)
	}
	s := ParseShowSession("2", raw(t, "linux", "loginctl-show-session-gnome.txt"))
	if s.User != "USER" || s.Type != "wayland" || s.Class != "user" || s.Desktop != "ubuntu:GNOME" || !s.Active || s.Remote || !s.Graphical() {
		t.Errorf("gnome session = %+v", s)
	}
	g := ParseShowSession("c1", raw(t, "linux", "loginctl-show-session-greeter.txt"))
	if g.Class != "greeter" || g.Active {
		t.Errorf("greeter = %+v", g)
	}
	if (Session{Type: "tty"}).Graphical() {
		t.Error("a tty session is not graphical")
	}
	pw := ParsePasswd("root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nUSER:x:1000:1000::/home/USER:/bin/sh\n")
	if len(pw) != 2 || pw[1].UID != "1000" || pw[1].Home != "/home/USER" {
		t.Errorf("passwd = %+v", pw)
	}
}

func TestParseMac(t *testing.T) {
	tests := []struct {
		file string
		want MacLock
	}{
		{"sysadminctl-screenlock-immediate.txt", MacLock{Enabled: true}},
		{"sysadminctl-screenlock-300.txt", MacLock{Enabled: true, Delay: 300 * time.Second}},
		{"sysadminctl-screenlock-off.txt", MacLock{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseSysadminctlScreenLock(raw(t, "darwin", tt.file))
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v", got, err)
			}
		})
	}
	if _, err := ParseSysadminctlScreenLock("sysadminctl: unrecognized option\n"); err == nil {
		t.Error("no state: no error")
	}
	if d, ok := ParsePmsetDisplaySleep(raw(t, "darwin", "pmset-g-displaysleep-10.txt")); !ok || d != 10*time.Minute {
		t.Errorf("displaysleep = %v, %v", d, ok)
	}
	if d, ok := ParsePmsetDisplaySleep(raw(t, "darwin", "pmset-g-displaysleep-never.txt")); !ok || d != 0 {
		t.Errorf("displaysleep never = %v, %v", d, ok)
	}
	if _, ok := ParsePmsetDisplaySleep("Currently in use:\n sleep 1\n"); ok {
		t.Error("no displaysleep line: ok")
	}
	if n, err := ParseDefaultsNumber("5.0\n"); err != nil || n != 5 {
		t.Errorf("defaults 5.0 = %v, %v", n, err)
	}
	for _, bad := range []string{"", "-1", "yes"} {
		if _, err := ParseDefaultsNumber(bad); err == nil {
			t.Errorf("ParseDefaultsNumber(%q): no error", bad)
		}
	}
}

func TestParsePowercfgQuery(t *testing.T) {
	for _, tc := range []struct {
		file string
		want PowerSetting
	}{
		{"powercfg-videoidle-600-300.txt", PowerSetting{AC: 600, DC: 300}},
		{"powercfg-videoidle-never.txt", PowerSetting{}},
		{"powercfg-standbyidle-1800-900.txt", PowerSetting{AC: 1800, DC: 900}},
		{"powercfg-consolelock-1-1.txt", PowerSetting{AC: 1, DC: 1}},
		{"powercfg-consolelock-0-0.txt", PowerSetting{}},
		// Translated labels: the last two hexadecimal values.
		{"powercfg-videoidle-german.txt", PowerSetting{AC: 600, DC: 300}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ParsePowercfgQuery(raw(t, "windows", tc.file))
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{
		"",
		"Invalid Parameters -- try \"/?\" for help\r\n",
		"    Current AC Power Setting Index: 0x00000258\n", // no DC line
		"      Maximum Possible Setting: 0xffffffff\n",
	} {
		if got, err := ParsePowercfgQuery(bad); err == nil {
			t.Errorf("%q: %+v, no error", bad, got)
		}
	}
}
