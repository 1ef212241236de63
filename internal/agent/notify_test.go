package agent

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func readNotify(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/notify/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseLoginctlSessions(t *testing.T) {
	for dir, want := range map[string][]string{
		"linux-252": {"2", "c1", "5"},
		"linux-247": {"3", "4"},
		"linux-tty": {"1"},
	} {
		if got := ParseLoginctlSessions(readNotify(t, dir+"/list-sessions.txt")); !slices.Equal(got, want) {
			t.Errorf("%s: sessions %q, want %q", dir, got, want)
		}
	}
	// The legend of a loginctl run without --no-legend is not a session.
	if got := ParseLoginctlSessions("SESSION  UID USER  SEAT  TTY\n      2 1000 alice seat0 tty2\n\n1 sessions listed.\n"); !slices.Equal(got, []string{"2"}) {
		t.Errorf("with legend: %q", got)
	}
}

func TestGraphicalSession(t *testing.T) {
	tests := []struct {
		file string
		want *Session
	}{
		{"linux-252/show-session-2.txt", &Session{User: "alice", UID: "1000"}},
		{"linux-252/show-session-c1.txt", nil}, // the greeter
		{"linux-252/show-session-5.txt", nil},  // remote, text
		{"linux-247/show-session-3.txt", nil},  // switched away from
		{"linux-247/show-session-4.txt", &Session{User: "carol", UID: "1002", Display: ":1"}},
		{"linux-tty/show-session-1.txt", nil},
	}
	for _, tc := range tests {
		got, ok := GraphicalSession(ParseProperties(readNotify(t, tc.file)))
		if ok != (tc.want != nil) || ok && got != *tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.file, got, ok, tc.want)
		}
	}
	if _, ok := GraphicalSession(map[string]string{"Name": "root", "User": "0", "Type": "x11", "Class": "user", "Active": "yes"}); ok {
		t.Error("root's session is no one to tell")
	}
}

func TestNotifyCommandLines(t *testing.T) {
	s := Session{User: "carol", UID: "1002", Display: ":1"}
	want := []string{"runuser", "-u", "carol", "--", "env",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1002/bus", "XDG_RUNTIME_DIR=/run/user/1002", "DISPLAY=:1"}
	if got := RunuserArgv(s); !slices.Equal(got, want) {
		t.Errorf("runuser %q, want %q", got, want)
	}
	want = []string{"setpriv", "--reuid=1002", "--regid=1002", "--init-groups", "env",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1002/bus", "XDG_RUNTIME_DIR=/run/user/1002", "DISPLAY=:1"}
	if got := SetprivArgv(s, "1002"); !slices.Equal(got, want) {
		t.Errorf("setpriv %q, want %q", got, want)
	}
	for _, tc := range []struct {
		file, name, uid string
		ok              bool
	}{
		{"darwin/stat-console-user.txt", "alice", "501", true},
		{"darwin/stat-console-loginwindow.txt", "", "", false},
	} {
		name, uid, ok := ParseConsoleUser(readNotify(t, tc.file))
		if name != tc.name || uid != tc.uid || ok != tc.ok {
			t.Errorf("%s: %q %q %v", tc.file, name, uid, ok)
		}
	}
	script := OsascriptNotification(`Your device "may" be infected`, "Line one\nC:\\path")
	if want := `display notification "Line one\nC:\\path" with title "Your device \"may\" be infected"`; script != want {
		t.Errorf("script %s, want %s", script, want)
	}
	if got := LaunchctlAsUserArgv("alice", "501", script); !slices.Equal(got, []string{"launchctl", "asuser", "501", "sudo", "-u", "alice", "osascript", "-e", script}) {
		t.Errorf("launchctl %q", got)
	}
	if wtsMessageStyle != 0x10030 {
		t.Errorf("message box style %#x, want MB_OK|MB_ICONWARNING|MB_SETFOREGROUND", wtsMessageStyle)
	}
	if !strings.Contains(toastScript, "$env:HERD_TITLE") || strings.Contains(toastScript, "infected") {
		t.Error("the toast script must take its texts from the environment")
	}
}
