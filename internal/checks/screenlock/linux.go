package screenlock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

var (
	loginctlList = []string{"loginctl", "list-sessions", "--no-legend"}
	gnomeKeys    = [][]string{
		{"org.gnome.desktop.session", "idle-delay"},
		{"org.gnome.desktop.screensaver", "lock-enabled"},
		{"org.gnome.desktop.screensaver", "lock-delay"},
		{"org.gnome.desktop.lockdown", "disable-lock-screen"},
	}
)

func showSession(id string) []string {
	return []string{"loginctl", "show-session", id, "-p", "Name", "-p", "Type", "-p", "Class", "-p", "Desktop", "-p", "Active", "-p", "Remote"}
}

var fixGNOME = i18n.T(
	"Open Settings > Privacy (Screen Lock on newer GNOME) and turn on Automatic Screen Lock; set Blank Screen Delay (Settings > Power) and Automatic Screen Lock Delay so that together they stay within the allowed time. From a terminal: `gsettings set org.gnome.desktop.screensaver lock-enabled true` and `gsettings set org.gnome.desktop.session idle-delay 300`.",
	"打开 设置 > 隐私（较新 GNOME 中为“屏幕锁定”），开启“自动锁屏”；设置“息屏延迟”（设置 > 电源）和“自动锁屏延迟”，使两者之和不超过允许的时间。也可在终端运行：`gsettings set org.gnome.desktop.screensaver lock-enabled true` 和 `gsettings set org.gnome.desktop.session idle-delay 300`。")

var fixKDE = i18n.T(
	"Open System Settings > Screen Locking (Workspace Behavior > Screen Locking on older Plasma), turn on \"Lock screen automatically\" and choose a time within the allowed delay.",
	"打开 系统设置 > 锁屏（旧版 Plasma：工作区行为 > 锁屏），开启“自动锁定屏幕”，并选择不超过允许时间的时长。")

// desktopUser is whose screen is judged and with which desktop.
type desktopUser struct {
	name    string
	home    string
	desktop string // loginctl's Desktop, e.g. "GNOME", "ubuntu:GNOME", "KDE"; "" when unknown
}

func runLinux(ctx context.Context, src source.Source, max time.Duration) checks.Result {
	var details []string
	du, found, det := findDesktop(ctx, src)
	details = append(details, det...)
	if !found {
		r := checks.NotApplicable(i18n.T(
			"There is no desktop session: no one is logged in with a graphical display, so there is no screen to lock.",
			"没有桌面会话：没有用户通过图形显示登录，因此没有需要锁定的屏幕。"),
			checks.Evidence("loginctl", health.OSReported))
		r.Details = append([]string{"no desktop session"}, details...)
		return r
	}
	if du.name == "" {
		return unknown("A desktop session is running, but herd could not tell whose it is, so its screen lock settings could not be read.",
			"有桌面会话在运行，但 herd 无法确定其所属用户，因此无法读取屏幕锁定设置。",
			checks.Evidence("/tmp/.X11-unix", health.OSReported), details)
	}
	kind := desktopKind(du.desktop)
	if kind == "other" {
		return unknown(fmt.Sprintf("The desktop in use (%s) keeps its screen lock settings where herd does not read them.", du.desktop),
			fmt.Sprintf("当前桌面环境（%s）的屏幕锁定设置位于 herd 不读取的位置。", du.desktop),
			checks.Evidence("loginctl", health.OSReported), details)
	}
	if kind == "gnome" || kind == "" {
		r, ok := gnome(ctx, src, du, max, &details)
		if ok {
			return r
		}
	}
	if kind == "kde" || kind == "" {
		r, ok := kde(src, du, kind == "kde", max, &details)
		if ok {
			return r
		}
	}
	return unknown("Could not read the desktop's screen lock settings.",
		"无法读取桌面的屏幕锁定设置。", checks.Evidence("gsettings", health.OSReported), details)
}

func desktopKind(d string) string {
	l := strings.ToLower(d)
	switch {
	case l == "":
		return ""
	case strings.Contains(l, "kde") || strings.Contains(l, "plasma"):
		return "kde"
	case strings.Contains(l, "gnome") || strings.Contains(l, "ubuntu") || strings.Contains(l, "unity") || strings.Contains(l, "pop"):
		return "gnome"
	}
	return "other"
}

// findDesktop looks for a graphical session: loginctl first, then
// Wayland sockets in /run/user/UID, then X sockets.
func findDesktop(ctx context.Context, src source.Source) (desktopUser, bool, []string) {
	var details []string
	passwd := map[string]PasswdEntry{} // by uid
	byName := map[string]PasswdEntry{}
	if b, err := src.ReadFile("/etc/passwd"); err == nil {
		for _, e := range ParsePasswd(string(b)) {
			passwd[e.UID] = e
			byName[e.Name] = e
		}
	}
	mk := func(name, desktop string) desktopUser {
		du := desktopUser{name: name, desktop: desktop, home: byName[name].Home}
		if name == src.User() || du.home == "" {
			du.home = src.Home()
		}
		return du
	}
	out, err := src.Run(ctx, loginctlList...)
	switch {
	case err == nil && out.OK():
		var best *Session
		for _, id := range ParseLoginctlSessions(out.Stdout) {
			o, err := src.Run(ctx, showSession(id)...)
			if err != nil || !o.OK() {
				continue
			}
			s := ParseShowSession(id, o.Stdout)
			if !s.Graphical() || (s.Class != "" && s.Class != "user") || s.User == "" {
				continue
			}
			if best == nil || (s.Active && !best.Active) {
				best = &s
			}
		}
		if best != nil {
			details = append(details, fmt.Sprintf("session %s: %s, desktop %q", best.ID, best.Type, best.Desktop))
			return mk(best.User, best.Desktop), true, details
		}
		details = append(details, "loginctl: no graphical session")
	default:
		details = append(details, "loginctl: "+runErr(out, err))
	}
	if uids, err := src.ReadDir("/run/user"); err == nil {
		for _, uid := range uids {
			names, err := src.ReadDir("/run/user/" + uid)
			if err != nil {
				continue
			}
			for _, n := range names {
				if strings.HasPrefix(n, "wayland-") && !strings.HasSuffix(n, ".lock") {
					details = append(details, "Wayland display in /run/user/"+uid)
					e, ok := passwd[uid]
					if !ok {
						return desktopUser{}, true, details
					}
					return mk(e.Name, ""), true, details
				}
			}
		}
	}
	if names, err := src.ReadDir("/tmp/.X11-unix"); err == nil {
		for _, n := range names {
			if strings.HasPrefix(n, "X") {
				details = append(details, "X display socket /tmp/.X11-unix/"+n)
				if u := src.User(); u != "" && u != "root" {
					return mk(u, ""), true, details
				}
				return desktopUser{}, true, details
			}
		}
	}
	return desktopUser{}, false, details
}

func runErr(out source.Output, err error) string {
	switch {
	case errors.Is(err, source.ErrNotFound):
		return "not installed"
	case err != nil:
		return err.Error()
	}
	msg := strings.TrimSpace(out.Stderr)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("exit %d %s", out.Exit, msg)
}

// asUser makes argv run as the desktop user: as is when the agent is
// that user, through runuser when the agent is root.
func asUser(src source.Source, user string, argv ...string) ([]string, bool) {
	switch src.User() {
	case user:
		return argv, true
	case "root":
		return append([]string{"runuser", "-u", user, "--"}, argv...), true
	}
	return nil, false
}

// gnome judges GNOME's settings; ok is false when GNOME's schemas are
// not there, so another desktop may be tried.
func gnome(ctx context.Context, src source.Source, du desktopUser, max time.Duration, details *[]string) (checks.Result, bool) {
	ev := checks.Evidence("gsettings", health.OSReported)
	get := func(schema, key string) (string, error) {
		argv, ok := asUser(src, du.name, "gsettings", "get", schema, key)
		if !ok {
			return "", fmt.Errorf("the agent runs as %s and cannot read %s's settings", src.User(), du.name)
		}
		out, err := src.Run(ctx, argv...)
		if err != nil {
			return "", err
		}
		if !out.OK() {
			return "", fmt.Errorf("%s", strings.TrimSpace(out.Stderr+" "+out.Stdout))
		}
		return out.Stdout, nil
	}
	idleText, err := get("org.gnome.desktop.session", "idle-delay")
	if err != nil {
		*details = append(*details, "gsettings idle-delay: "+err.Error())
		if errors.Is(err, source.ErrNotFound) || strings.Contains(err.Error(), "No such schema") {
			return checks.Result{}, false
		}
		return unknown("Could not read GNOME's screen lock settings for the desktop user.",
			"无法读取桌面用户的 GNOME 屏幕锁定设置。", ev, *details), true
	}
	idle, err := GVariantUint(idleText)
	if err != nil {
		*details = append(*details, err.Error())
		return unknown("GNOME's idle delay has a value herd does not recognise.",
			"GNOME 的空闲延迟取值无法识别。", ev, *details), true
	}
	lockText, err1 := get("org.gnome.desktop.screensaver", "lock-enabled")
	delayText, err2 := get("org.gnome.desktop.screensaver", "lock-delay")
	if err := errors.Join(err1, err2); err != nil {
		*details = append(*details, "gsettings: "+err.Error())
		return unknown("Could not read GNOME's screen lock settings for the desktop user.",
			"无法读取桌面用户的 GNOME 屏幕锁定设置。", ev, *details), true
	}
	lockOn, err1 := GVariantBool(lockText)
	delay, err2 := GVariantUint(delayText)
	if err := errors.Join(err1, err2); err != nil {
		*details = append(*details, err.Error())
		return unknown("GNOME's screen lock settings have values herd does not recognise.",
			"GNOME 的屏幕锁定设置取值无法识别。", ev, *details), true
	}
	*details = append(*details, fmt.Sprintf("GNOME: idle-delay %d s, lock-enabled %t, lock-delay %d s", idle, lockOn, delay))
	if t, err := get("org.gnome.desktop.lockdown", "disable-lock-screen"); err == nil {
		if off, err := GVariantBool(t); err == nil && off {
			return never("locking is disabled by org.gnome.desktop.lockdown disable-lock-screen", "org.gnome.desktop.lockdown 的 disable-lock-screen 禁用了锁屏",
				ev, *details, fixGNOME), true
		}
	}
	if !lockOn {
		return never("automatic screen lock is off", "自动锁屏已关闭", ev, *details, fixGNOME), true
	}
	if idle == 0 {
		return never("the screen is set never to blank (idle delay: never)", "屏幕设置为从不息屏（空闲延迟：从不）", ev, *details, fixGNOME), true
	}
	total := time.Duration(idle+delay) * time.Second
	return judge(total, max, ev, *details, fixGNOME), true
}

// kde judges Plasma's kscreenlockerrc; ok is false when there is no such
// file and the session is not known to be Plasma.
func kde(src source.Source, du desktopUser, isKDE bool, max time.Duration, details *[]string) (checks.Result, bool) {
	p := source.Expand(src, "~/.config/kscreenlockerrc")
	if du.name != src.User() && du.home != "" {
		p = path.Join(du.home, ".config/kscreenlockerrc")
	}
	ev := checks.Evidence(strings.Replace(p, du.home, "~", 1), health.OSReported)
	b, err := src.ReadFile(p)
	var k KDELock
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !isKDE {
			*details = append(*details, "kscreenlockerrc: not present")
			return checks.Result{}, false
		}
		k = KDEDefaults
		*details = append(*details, "kscreenlockerrc: not present, Plasma defaults apply")
	case err != nil:
		*details = append(*details, "kscreenlockerrc: "+err.Error())
		return unknown("Could not read Plasma's screen lock settings (kscreenlockerrc).",
			"无法读取 Plasma 的屏幕锁定设置（kscreenlockerrc）。", ev, *details), true
	default:
		k, err = ParseKScreenLockerRC(strings.NewReader(string(b)))
		if err != nil {
			*details = append(*details, err.Error())
			return unknown("Plasma's screen lock settings have values herd does not recognise.",
				"Plasma 的屏幕锁定设置取值无法识别。", ev, *details), true
		}
	}
	*details = append(*details, fmt.Sprintf("Plasma: Autolock %t, Timeout %s, LockGrace %s, LockOnResume %t",
		k.Autolock, human(k.Timeout), human(k.LockGrace), k.LockOnResume))
	if !k.Autolock {
		return never("automatic screen locking is off", "自动锁屏已关闭", ev, *details, fixKDE), true
	}
	if k.Timeout == 0 {
		return never("the lock timeout is never", "锁屏时间设置为从不", ev, *details, fixKDE), true
	}
	return judge(k.Timeout+k.LockGrace, max, ev, *details, fixKDE), true
}
