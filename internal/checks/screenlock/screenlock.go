// Package screenlock is the screen_lock check: the screen locks after
// inactivity with a password, within the policy's maximum delay
// (checks.Env.LockDelay). The time judged is the whole wait from the
// last input to the password prompt: the idle time before the screen
// blanks or the screen saver starts, plus any grace delay before the lock.
//
// Where it reads, per platform:
//
//   - Linux: the graphical sessions loginctl lists (falling back to
//     Wayland sockets under /run/user and X sockets in /tmp/.X11-unix).
//     No graphical session is not_applicable ("no desktop session").
//     GNOME is read with `gsettings get` run as the desktop user (through
//     `runuser -u USER --` when the agent is root): gsettings gives the
//     effective values, defaults and administrator lockdown included,
//     which `dconf dump` of the user database does not; it reads the
//     dconf database without a D-Bus session. KDE Plasma is read from the
//     user's ~/.config/kscreenlockerrc over kscreenlocker's defaults.
//     Another desktop, or settings that cannot be read, is unknown.
//   - Windows: the screen surely locks when the machine inactivity limit
//     (InactivityTimeoutSecs) is set, when a password-protected screen
//     saver is chosen and active (the Group Policy values under
//     Software\Policies win over the user's own Control Panel\Desktop; with
//     no screen saver program, SCRNSAVE.EXE, none starts), or when the
//     computer sleeps and asks for the password on waking (`powercfg
//     /query SCHEME_CURRENT …` STANDBYIDLE and CONSOLELOCK, the longer of
//     the plugged-in and battery values). The shortest of these is judged.
//     Turning the display off (VIDEOIDLE) locks on Modern Standby hardware
//     but not on older hardware, which herd cannot tell: when the display
//     turns off within the allowed time and nothing else surely locks in
//     time, the answer is unknown, never fail. Run as the desktop user, the
//     user's settings are read from HKCU. Run as a service (LocalSystem,
//     whose HKCU is its own), they are read from HKU\<SID> of the person
//     at the screen: the last user to sign in, as the sign-in screen
//     records it (HKLM\…\Authentication\LogonUI LastLoggedOnUserSID),
//     confirmed to be signed in now by HKU\<SID>\Volatile Environment, which
//     Windows writes at sign-in and removes at sign-out; how the user was
//     found is in the evidence (desktop_user_from). No one signed in and no
//     desktop running is not_applicable; a user that cannot be found, or a
//     Control Panel\Desktop key that is missing (every real user has one),
//     is missing evidence: unknown. Windows Server without a desktop
//     (Server Core, or no explorer.exe) is not_applicable.
//   - macOS: `sysadminctl -screenLock status` gives the password delay
//     (older systems: the askForPassword/askForPasswordDelay defaults);
//     the idle time is the shorter of the screen saver's idleTime and the
//     display sleep time from `pmset -g`.
package screenlock

import (
	"context"
	"fmt"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// Placeholders of the reads that depend on what the check found.
const (
	userTemplate    = "<desktop user>"
	sessionTemplate = "<session>"
	uidTemplate     = "<uid>"
	homeTemplate    = "<desktop user's home>"
	consoleTemplate = "<console user>"
)

// probes lists what the check reads on goos.
func probes(goos string) []source.Probe {
	switch goos {
	case "linux":
		ps := []source.Probe{
			source.Command(loginctlList...),
			source.Command(showSession(sessionTemplate)...),
			source.Dir("/run/user"),
			source.Dir("/run/user/" + uidTemplate),
			source.Dir("/tmp/.X11-unix"),
			source.File("/etc/passwd"),
			source.File("~/.config/kscreenlockerrc"),
			source.File(homeTemplate + "/.config/kscreenlockerrc"),
		}
		for _, k := range gnomeKeys {
			get := append([]string{"gsettings", "get"}, k...)
			ps = append(ps, source.Command(get...),
				source.Command(append([]string{"runuser", "-u", userTemplate, "--"}, get...)...))
		}
		return ps
	case "windows":
		return windowsProbes()
	case "darwin":
		ps := []source.Probe{source.Command(macConsoleUser...)}
		for _, argv := range [][]string{macSysadminctl, macAskForPassword, macAskForPasswordDelay, macIdleTime, macPmset} {
			ps = append(ps, source.Command(argv...),
				source.Command(append([]string{"sudo", "-u", consoleTemplate}, argv...)...))
		}
		return ps
	}
	return nil
}

// New returns the check.
func New() checks.Check {
	return checks.ByOS{
		CheckID: health.ScreenLock,
		Linux: checks.OSFunc(func() []source.Probe { return probes("linux") },
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result {
				return runLinux(ctx, src, env.LockDelay())
			}),
		Windows: checks.OSFunc(func() []source.Probe { return probes("windows") },
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result {
				return runWindows(ctx, src, env.LockDelay())
			}),
		Darwin: checks.OSFunc(func() []source.Probe { return probes("darwin") },
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result {
				return runDarwin(ctx, src, env.LockDelay())
			}),
	}
}

// human writes a duration the way settings screens do.
func human(d time.Duration) string {
	switch {
	case d == 0:
		return "immediately"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d > time.Minute:
		return fmt.Sprintf("%d min %d s", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%d s", int(d/time.Second))
}

func humanZh(d time.Duration) string {
	switch {
	case d == 0:
		return "立即"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d 分钟", int(d/time.Minute))
	case d > time.Minute:
		return fmt.Sprintf("%d 分 %d 秒", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%d 秒", int(d/time.Second))
}

// judge turns the total wait before the password prompt into a result.
// fix tells the platform's setting; fixes are shown on fail only.
func judge(total, max time.Duration, ev health.Evidence, details []string, fix i18n.Text) checks.Result {
	if ev.Facts == nil {
		ev.Facts = map[string]any{}
	}
	ev.Facts["lock_after_seconds"] = int(total / time.Second)
	ev.Facts["max_seconds"] = int(max / time.Second)
	var r checks.Result
	if total <= max {
		r = checks.Pass(i18n.T(
			fmt.Sprintf("The screen locks with a password after %s of inactivity (allowed: at most %s).", human(total), human(max)),
			fmt.Sprintf("无操作 %s 后屏幕会锁定并需要密码（允许的上限为 %s）。", humanZh(total), humanZh(max))), ev)
	} else {
		r = checks.Fail(i18n.T(
			fmt.Sprintf("The screen locks only after %s of inactivity, longer than the %s allowed.", human(total), human(max)),
			fmt.Sprintf("屏幕在无操作 %s 后才会锁定，超过了允许的 %s。", humanZh(total), humanZh(max))), ev, fix)
	}
	r.Details = details
	return r
}

// never is the result for a screen that never locks by itself.
func never(why, whyZh string, ev health.Evidence, details []string, fix i18n.Text) checks.Result {
	r := checks.Fail(i18n.T("The screen does not lock by itself: "+why+".", "屏幕不会自动锁定："+whyZh+"。"), ev, fix)
	r.Details = details
	return r
}

func unknown(en, zh string, ev health.Evidence, details []string) checks.Result {
	r := checks.Unknown(i18n.T(en, zh), ev)
	r.Details = details
	return r
}
