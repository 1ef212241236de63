package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Desktop notifications. The installed agent runs as a system service
// (root under systemd, a LaunchDaemon, SYSTEM in Windows' session 0),
// which has no desktop of its own: the notification is delivered into
// the session of the person at the device.
//
//   - Linux: the active, local graphical sessions logind knows
//     (loginctl list-sessions, then show-session: Active=yes, Remote=no,
//     Class=user, Type x11, wayland or mir), each gets notify-send run as
//     its user (runuser, or setpriv where runuser is missing) with that
//     user's session bus, DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/UID/bus.
//   - macOS: the console user (stat -f "%Su %u" /dev/console; root means
//     the login window, where nobody is to be told) gets osascript's
//     notification through launchctl asuser UID sudo -u USER.
//   - Windows: a message box in the active console session
//     (WTSSendMessage), which needs no program in the user's session.
//
// An agent run by the user in their own session (not root, with a
// display or session bus) notifies directly. With no graphical session
// nothing runs. Each command line is built by a plain function, tested
// on captured outputs.

// ErrNoSession: nobody is at a graphical session to be told.
var ErrNoSession = errors.New("no graphical session to notify")

// Notifier shows a message on the desktop of the person using the device.
// The zero value is ready to use.
type Notifier struct {
	// GOOS is the operating system; "" means runtime.GOOS.
	GOOS string
	// Service is whether the agent runs as root (or SYSTEM) outside any
	// user's session; nil means it is found out from the process.
	Service *bool
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// LookupUID finds a user's primary group for setpriv; nil means
	// os/user.
	LookupUID func(uid string) (gid string, err error)
	// Timeout bounds each command; zero means 5 seconds.
	Timeout time.Duration
	Log     *slog.Logger
}

func (n *Notifier) goos() string {
	if n.GOOS != "" {
		return n.GOOS
	}
	return runtime.GOOS
}

func (n *Notifier) getenv(k string) string {
	if n.Getenv != nil {
		return n.Getenv(k)
	}
	return os.Getenv(k)
}

func (n *Notifier) service() bool {
	if n.Service != nil {
		return *n.Service
	}
	return runningAsService()
}

func (n *Notifier) log() *slog.Logger {
	if n.Log != nil {
		return n.Log
	}
	return slog.New(slog.DiscardHandler)
}

// run runs argv (looked up in PATH) with env added to the agent's own,
// and returns what it printed.
func (n *Notifier) run(ctx context.Context, argv, env []string) (string, error) {
	timeout := n.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", argv[0], err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

func have(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// Notify shows title and body to whoever is at the device's desktop. It
// returns ErrNoSession when there is nobody to tell.
func (n *Notifier) Notify(ctx context.Context, title, body string) error {
	switch n.goos() {
	case "linux":
		return n.notifyLinux(ctx, title, body)
	case "darwin":
		return n.notifyDarwin(ctx, title, body)
	case "windows":
		return n.notifyWindows(ctx, title, body)
	}
	return ErrNoSession
}

func (n *Notifier) notifyLinux(ctx context.Context, title, body string) error {
	if !n.service() {
		if n.getenv("DISPLAY") == "" && n.getenv("WAYLAND_DISPLAY") == "" && n.getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
			return ErrNoSession
		}
		_, err := n.run(ctx, notifySendArgv(title, body), nil)
		return err
	}
	out, err := n.run(ctx, []string{"loginctl", "list-sessions", "--no-legend"}, nil)
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("%w: no loginctl to ask for sessions", ErrNoSession)
	}
	if err != nil {
		return fmt.Errorf("listing sessions: %w", err)
	}
	told := 0
	var errs []error
	for _, id := range ParseLoginctlSessions(out) {
		props, err := n.run(ctx, showSessionArgv(id), nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s, ok := GraphicalSession(ParseProperties(props))
		if !ok {
			continue
		}
		argv, ok := n.asUserArgv(s)
		if !ok {
			errs = append(errs, fmt.Errorf("session %s: neither runuser nor setpriv can run notify-send as %s", id, s.User))
			continue
		}
		if _, err := n.run(ctx, append(argv, notifySendArgv(title, body)...), nil); err != nil {
			errs = append(errs, err)
			continue
		}
		told++
	}
	if told > 0 {
		return nil
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return ErrNoSession
}

// asUserArgv is the start of the command line that runs a program as
// the session's user with its session bus: runuser where it exists, else
// setpriv with the user's ids.
func (n *Notifier) asUserArgv(s Session) ([]string, bool) {
	if have("runuser") {
		return RunuserArgv(s), true
	}
	if !have("setpriv") {
		return nil, false
	}
	lookup := n.LookupUID
	if lookup == nil {
		lookup = func(uid string) (string, error) {
			u, err := user.LookupId(uid)
			if err != nil {
				return "", err
			}
			return u.Gid, nil
		}
	}
	gid, err := lookup(s.UID)
	if err != nil {
		return nil, false
	}
	return SetprivArgv(s, gid), true
}

func notifySendArgv(title, body string) []string {
	return []string{"notify-send", "--urgency=critical", "--app-name=herd", title, body}
}

func showSessionArgv(id string) []string {
	return []string{"loginctl", "show-session", id,
		"-p", "Name", "-p", "User", "-p", "Type", "-p", "Class", "-p", "Active", "-p", "Remote", "-p", "State", "-p", "Display"}
}

// Session is a graphical login session on Linux.
type Session struct {
	User    string // user name
	UID     string
	Display string // X11 display, "" for Wayland
}

// ParseLoginctlSessions reads `loginctl list-sessions --no-legend`: the
// session id is the first column of each line whose second is a uid
// (older systemd prints SESSION UID USER SEAT TTY, newer ones add STATE,
// IDLE and SINCE).
func ParseLoginctlSessions(out string) []string {
	var ids []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 32); err != nil {
			continue
		}
		ids = append(ids, f[0])
	}
	return ids
}

// ParseProperties reads systemd's Key=Value lines.
func ParseProperties(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}

// GraphicalSession picks, from show-session's properties, an active
// local graphical session of a person (not a greeter, a remote or a text
// session).
func GraphicalSession(p map[string]string) (Session, bool) {
	switch p["Type"] {
	case "x11", "wayland", "mir":
	default:
		return Session{}, false
	}
	if p["Active"] != "yes" || p["Remote"] == "yes" || p["Class"] != "user" || p["Name"] == "" {
		return Session{}, false
	}
	if st := p["State"]; st != "" && st != "active" {
		return Session{}, false
	}
	if _, err := strconv.ParseUint(p["User"], 10, 32); err != nil || p["User"] == "0" {
		return Session{}, false
	}
	return Session{User: p["Name"], UID: p["User"], Display: p["Display"]}, true
}

// sessionEnv is the environment notify-send needs in the user's session.
func sessionEnv(s Session) []string {
	env := []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/" + s.UID + "/bus", "XDG_RUNTIME_DIR=/run/user/" + s.UID}
	if s.Display != "" {
		env = append(env, "DISPLAY="+s.Display)
	}
	return env
}

// RunuserArgv runs what follows as the session's user, with its session
// bus (runuser from util-linux, root only).
func RunuserArgv(s Session) []string {
	return append([]string{"runuser", "-u", s.User, "--", "env"}, sessionEnv(s)...)
}

// SetprivArgv does the same with setpriv, given the user's primary group.
func SetprivArgv(s Session, gid string) []string {
	return append([]string{"setpriv", "--reuid=" + s.UID, "--regid=" + gid, "--init-groups", "env"}, sessionEnv(s)...)
}

func (n *Notifier) notifyDarwin(ctx context.Context, title, body string) error {
	script := OsascriptNotification(title, body)
	if !n.service() {
		_, err := n.run(ctx, []string{"osascript", "-e", script}, nil)
		return err
	}
	out, err := n.run(ctx, []string{"stat", "-f", "%Su %u", "/dev/console"}, nil)
	if err != nil {
		return fmt.Errorf("finding the console user: %w", err)
	}
	name, uid, ok := ParseConsoleUser(out)
	if !ok {
		return ErrNoSession
	}
	_, err = n.run(ctx, LaunchctlAsUserArgv(name, uid, script), nil)
	return err
}

// ParseConsoleUser reads `stat -f "%Su %u" /dev/console`: the user at
// the Mac's screen and their uid. root (the login window) or nothing is
// nobody to tell.
func ParseConsoleUser(out string) (name, uid string, ok bool) {
	f := strings.Fields(out)
	if len(f) != 2 || f[0] == "root" || f[0] == "loginwindow" {
		return "", "", false
	}
	if n, err := strconv.ParseUint(f[1], 10, 32); err != nil || n == 0 {
		return "", "", false
	}
	return f[0], f[1], true
}

// LaunchctlAsUserArgv runs osascript in the console user's login
// session, as that user.
func LaunchctlAsUserArgv(name, uid, script string) []string {
	return []string{"launchctl", "asuser", uid, "sudo", "-u", name, "osascript", "-e", script}
}

// OsascriptNotification is the AppleScript that shows a notification.
func OsascriptNotification(title, body string) string {
	return "display notification " + appleString(body) + " with title " + appleString(title)
}

// appleString quotes s as an AppleScript string literal: backslashes and
// double quotes escaped, line breaks as \n.
func appleString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return `"` + r.Replace(s) + `"`
}

// toastScript shows a Windows toast from the user's own session; the
// texts come through the environment, never pasted into the script.
const toastScript = `[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime] > $null;` +
	`$x = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02);` +
	`$t = $x.GetElementsByTagName('text'); $t.Item(0).InnerText = $env:HERD_TITLE; $t.Item(1).InnerText = $env:HERD_BODY;` +
	`[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('herd').Show([Windows.UI.Notifications.ToastNotification]::new($x))`

func (n *Notifier) notifyWindows(ctx context.Context, title, body string) error {
	if !n.service() {
		_, err := n.run(ctx, []string{"powershell", "-NoProfile", "-NonInteractive", "-Command", toastScript},
			[]string{"HERD_TITLE=" + title, "HERD_BODY=" + body})
		return err
	}
	return consoleMessage(title, body)
}

// WTS message box style: an OK button, a warning icon, in front.
const (
	mbOK            = 0x0
	mbIconWarning   = 0x30
	mbSetForeground = 0x10000
	wtsMessageStyle = mbOK | mbIconWarning | mbSetForeground
	// wtsNoSession is what WTSGetActiveConsoleSessionId answers when no
	// session is attached to the console.
	wtsNoSession = 0xFFFFFFFF
)
