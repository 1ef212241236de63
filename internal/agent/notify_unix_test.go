//go:build !windows

package agent

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/source"
)

// fakeBin puts real scripts named like the tools the notifier runs
// first on PATH. Each records its argv and environment in rec (one file
// each, NUL-separated); loginctl and stat print the captured output of
// fixtures; runuser runs the command after "--", as the real one does
// (without changing user), so what notify-send gets is what a user's
// session would.
func fakeBin(t *testing.T, fixtures string, tools ...string) (rec string) {
	t.Helper()
	bin, rec := t.TempDir(), t.TempDir()
	abs, err := filepath.Abs(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	record := `n=$(basename "$0"); f="$HERD_TEST_REC/$n.$$"; printf '%s\0' "$@" > "$f"; env -0 > "$f.env"` + "\n"
	scripts := map[string]string{
		"loginctl": record + `case "$1" in
list-sessions) cat "$HERD_TEST_FIXTURES/list-sessions.txt" ;;
show-session) cat "$HERD_TEST_FIXTURES/show-session-$2.txt" ;;
esac`,
		"runuser": record + `while [ "$1" != "--" ]; do shift; done; shift; exec "$@"`,
		"setpriv": record + `while [ "$1" != "env" ]; do shift; done; exec "$@"`,
		"stat":    record + `cat "$HERD_TEST_FIXTURES/$HERD_TEST_STAT"`,
	}
	for _, tool := range tools {
		body, ok := scripts[tool]
		if !ok {
			body = record // notify-send, launchctl, osascript: record only
		}
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	envPath, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env program")
	}
	// PATH holds the fakes and env (coreutils) only, so a real tool is
	// never reached.
	envDir := t.TempDir()
	if err := os.Symlink(envPath, filepath.Join(envDir, "env")); err != nil {
		t.Fatal(err)
	}
	for _, sys := range []string{"cat", "basename"} {
		p, err := exec.LookPath(sys)
		if err != nil {
			t.Skip(err)
		}
		os.Symlink(p, filepath.Join(envDir, sys))
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+envDir)
	t.Setenv("HERD_TEST_REC", rec)
	t.Setenv("HERD_TEST_FIXTURES", abs)
	return rec
}

// calls lists the recorded runs of tool: each one's argv and environment.
func calls(t *testing.T, rec, tool string) (argvs [][]string, envs []map[string]string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(rec, tool+".*"))
	sort.Strings(files)
	for _, f := range files {
		if strings.HasSuffix(f, ".env") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		argvs = append(argvs, strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
		e, _ := os.ReadFile(f + ".env")
		env := map[string]string{}
		for _, kv := range strings.Split(string(e), "\x00") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		envs = append(envs, env)
	}
	return argvs, envs
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// TestNotifyFromServiceLinux: the service, as root, finds the active
// graphical session and runs notify-send as its user with that user's
// session bus; a greeter, a remote or text session, or a user switched
// away from, is not told.
func TestNotifyFromServiceLinux(t *testing.T) {
	for _, tc := range []struct {
		dir, user, uid, display string
	}{
		{"linux-252", "alice", "1000", ""},
		{"linux-247", "carol", "1002", ":1"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			rec := fakeBin(t, "testdata/notify/"+tc.dir, "loginctl", "runuser", "notify-send")
			n := &Notifier{GOOS: "linux", Service: yes()}
			if err := n.Notify(context.Background(), "Your device may be infected", "Disconnect it.\n断开网络。"); err != nil {
				t.Fatal(err)
			}
			runs, _ := calls(t, rec, "runuser")
			if len(runs) != 1 || !slices.Equal(runs[0][:3], []string{"-u", tc.user, "--"}) {
				t.Fatalf("runuser runs %q, want one as %s", runs, tc.user)
			}
			sends, envs := calls(t, rec, "notify-send")
			if len(sends) != 1 || !slices.Equal(sends[0], []string{"--urgency=critical", "--app-name=herd", "Your device may be infected", "Disconnect it.\n断开网络。"}) {
				t.Fatalf("notify-send runs %q", sends)
			}
			if got := envs[0]["DBUS_SESSION_BUS_ADDRESS"]; got != "unix:path=/run/user/"+tc.uid+"/bus" {
				t.Errorf("notify-send's session bus %q, want the user's", got)
			}
			if got := envs[0]["DISPLAY"]; got != tc.display {
				t.Errorf("DISPLAY %q, want %q", got, tc.display)
			}
		})
	}
}

// Without runuser, setpriv runs notify-send with the user's ids.
func TestNotifyFromServiceSetpriv(t *testing.T) {
	rec := fakeBin(t, "testdata/notify/linux-252", "loginctl", "setpriv", "notify-send")
	n := &Notifier{GOOS: "linux", Service: yes(), LookupUID: func(uid string) (string, error) { return "1000", nil }}
	if err := n.Notify(context.Background(), "t", "b"); err != nil {
		t.Fatal(err)
	}
	runs, _ := calls(t, rec, "setpriv")
	if len(runs) != 1 || !slices.Equal(runs[0][:4], []string{"--reuid=1000", "--regid=1000", "--init-groups", "env"}) {
		t.Fatalf("setpriv runs %q", runs)
	}
	if sends, _ := calls(t, rec, "notify-send"); len(sends) != 1 {
		t.Errorf("notify-send runs %q", sends)
	}
}

// TestNotifyNoSession: with only a text login, or the Mac at its login
// window, nothing is run and the notifier says there is no one to tell.
func TestNotifyNoSession(t *testing.T) {
	rec := fakeBin(t, "testdata/notify/linux-tty", "loginctl", "runuser", "notify-send")
	n := &Notifier{GOOS: "linux", Service: yes()}
	if err := n.Notify(context.Background(), "t", "b"); !errors.Is(err, ErrNoSession) {
		t.Errorf("text console only: %v, want ErrNoSession", err)
	}
	if runs, _ := calls(t, rec, "runuser"); len(runs) != 0 {
		t.Errorf("runuser ran %q", runs)
	}
	if sends, _ := calls(t, rec, "notify-send"); len(sends) != 0 {
		t.Errorf("notify-send ran %q", sends)
	}
	// A user's own agent without a display or session bus tells no one.
	n = &Notifier{GOOS: "linux", Service: no(), Getenv: func(string) string { return "" }}
	if err := n.Notify(context.Background(), "t", "b"); !errors.Is(err, ErrNoSession) {
		t.Errorf("no display: %v", err)
	}
	if runs, _ := calls(t, rec, "loginctl"); len(runs) != 2 {
		t.Errorf("loginctl runs %q, want only the service's list and show", runs)
	}

	// No logind to ask (loginctl missing): no one to tell either.
	fakeBin(t, "testdata/notify/linux-252", "runuser", "notify-send")
	if err := (&Notifier{GOOS: "linux", Service: yes()}).Notify(context.Background(), "t", "b"); !errors.Is(err, ErrNoSession) {
		t.Errorf("without loginctl: %v, want ErrNoSession", err)
	}

	rec = fakeBin(t, "testdata/notify/darwin", "stat", "launchctl", "osascript")
	t.Setenv("HERD_TEST_STAT", "stat-console-loginwindow.txt")
	n = &Notifier{GOOS: "darwin", Service: yes()}
	if err := n.Notify(context.Background(), "t", "b"); !errors.Is(err, ErrNoSession) {
		t.Errorf("login window: %v", err)
	}
	if runs, _ := calls(t, rec, "launchctl"); len(runs) != 0 {
		t.Errorf("launchctl ran %q", runs)
	}
}

// TestNotifyFromServiceDarwin: the LaunchDaemon tells the console user
// through launchctl asuser, as that user.
func TestNotifyFromServiceDarwin(t *testing.T) {
	rec := fakeBin(t, "testdata/notify/darwin", "stat", "launchctl", "osascript")
	t.Setenv("HERD_TEST_STAT", "stat-console-user.txt")
	n := &Notifier{GOOS: "darwin", Service: yes()}
	if err := n.Notify(context.Background(), "Infected", "Disconnect it."); err != nil {
		t.Fatal(err)
	}
	stats, _ := calls(t, rec, "stat")
	if len(stats) != 1 || !slices.Equal(stats[0], []string{"-f", "%Su %u", "/dev/console"}) {
		t.Errorf("stat runs %q", stats)
	}
	runs, _ := calls(t, rec, "launchctl")
	want := LaunchctlAsUserArgv("alice", "501", OsascriptNotification("Infected", "Disconnect it."))[1:]
	if len(runs) != 1 || !slices.Equal(runs[0], want) {
		t.Errorf("launchctl runs %q, want %q", runs, want)
	}
	// A user's own agent runs osascript itself.
	n = &Notifier{GOOS: "darwin", Service: no()}
	if err := n.Notify(context.Background(), "Infected", "Disconnect it."); err != nil {
		t.Fatal(err)
	}
	if runs, _ := calls(t, rec, "osascript"); len(runs) != 1 || runs[0][0] != "-e" {
		t.Errorf("osascript runs %q", runs)
	}
}

// TestNoticeReachesDesktop: a contraindicated check-in's verified notice
// is shown on the desktop of the session's user, from the service, once;
// later check-ins carrying the same notice do not show it again until a
// day has passed.
func TestNoticeReachesDesktop(t *testing.T) {
	rec := fakeBin(t, "testdata/notify/linux-252", "loginctl", "runuser", "notify-send")
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	auth := startAuthority(t, clk, time.Hour)
	a := enrolledAgent(t, clk, auth, source.NewReplay(testSnapshot(clk.Now())), []checks.Check{newFileCheck(health.Firewall, "/fw", 0), infected{}})
	a.Notifier = &Notifier{GOOS: "linux", Service: yes()}
	checkIn := func() {
		t.Helper()
		a.Source = source.NewReplay(testSnapshot(clk.Now()))
		last, err := a.CheckIn(context.Background())
		if err != nil || last.Response.Verdict != health.Contraindicated {
			t.Fatalf("check-in: %v, %v", last, err)
		}
	}
	checkIn()
	sends, envs := calls(t, rec, "notify-send")
	if len(sends) != 1 || !strings.Contains(sends[0][2], "infected") || !strings.Contains(sends[0][2], "感染") {
		t.Fatalf("notify-send runs %q, want the notice's title in both languages", sends)
	}
	if envs[0]["DBUS_SESSION_BUS_ADDRESS"] != "unix:path=/run/user/1000/bus" {
		t.Errorf("session bus %q", envs[0]["DBUS_SESSION_BUS_ADDRESS"])
	}
	clk.Add(time.Hour)
	checkIn()
	if sends, _ := calls(t, rec, "notify-send"); len(sends) != 1 {
		t.Errorf("after an hour the same notice was shown again: %d runs", len(sends))
	}
	clk.Add(NotifyAgainAfter)
	checkIn()
	if sends, _ := calls(t, rec, "notify-send"); len(sends) != 2 {
		t.Errorf("after a day the notice was not shown again: %d runs", len(sends))
	}
}
