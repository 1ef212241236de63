package screenlock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

const (
	winCurrentVersion = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	winSystemPolicy   = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System`
	// winLogonUI names the last user to sign in interactively
	// (LastLoggedOnUserSID), kept by the sign-in screen.
	winLogonUI = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication\LogonUI`

	// Keys inside a user's hive (HKCU, or HKU\<SID> for another user).
	desktopPolicySub = `Software\Policies\Microsoft\Windows\Control Panel\Desktop`
	desktopSub       = `Control Panel\Desktop`
	// volatileEnvSub is written when the user signs in and removed when
	// they sign out: it exists only while they have a session.
	volatileEnvSub = `Volatile Environment`

	winDesktopPolicy = `HKCU\` + desktopPolicySub
	winDesktop       = `HKCU\` + desktopSub

	// sidTemplate stands for the console user's SID in probes.
	sidTemplate = `<console user SID>`
)

// The power settings of the active scheme: when the display turns off,
// when the computer sleeps, and whether waking it asks for the password
// (the setting Settings > Accounts > Sign-in options > "If you've been
// away, when should Windows require you to sign in again?" writes).
var (
	powerDisplayOff = []string{"powercfg", "/query", "SCHEME_CURRENT", "SUB_VIDEO", "VIDEOIDLE"}
	powerSleep      = []string{"powercfg", "/query", "SCHEME_CURRENT", "SUB_SLEEP", "STANDBYIDLE"}
	powerLockOnWake = []string{"powercfg", "/query", "SCHEME_CURRENT", "SUB_NONE", "CONSOLELOCK"}
)

// The values read from each key; the recorder keeps only these.
var (
	desktopValues = []string{"ScreenSaveActive", "ScreenSaverIsSecure", "ScreenSaveTimeOut", "SCRNSAVE.EXE"}
)

func windowsProbes() []source.Probe {
	return []source.Probe{
		source.RegistryKey(winCurrentVersion, "InstallationType"),
		source.RegistryKey(winSystemPolicy, "InactivityTimeoutSecs"),
		source.RegistryKey(winDesktopPolicy, desktopValues...),
		source.RegistryKey(winDesktop, desktopValues...),
		source.RegistryKey(winLogonUI, "LastLoggedOnUserSID"),
		source.RegistryKey(`HKU\` + sidTemplate + `\` + volatileEnvSub),
		source.RegistryKey(`HKU\`+sidTemplate+`\`+desktopPolicySub, desktopValues...),
		source.RegistryKey(`HKU\`+sidTemplate+`\`+desktopSub, desktopValues...),
		source.Command(powerDisplayOff...),
		source.Command(powerSleep...),
		source.Command(powerLockOnWake...),
		source.ProcessList(),
	}
}

var fixWindows = i18n.T(
	"Open Settings > Personalization > Lock screen > Screen saver, choose a screen saver and a wait time within the allowed delay, and tick \"On resume, display logon screen\". Or, in Settings > System > Power, let the computer sleep within the allowed time and, in Settings > Accounts > Sign-in options, require sign-in when it wakes. An administrator can instead set the policy \"Interactive logon: Machine inactivity limit\" (Local Security Policy > Security Options).",
	"打开 设置 > 个性化 > 锁屏界面 > 屏幕保护程序，选择一个屏幕保护程序和不超过允许时间的等待时长，并勾选“在恢复时显示登录屏幕”。也可以在 设置 > 系统 > 电源 中让电脑在允许的时间内进入睡眠，并在 设置 > 帐户 > 登录选项 中要求唤醒时登录。管理员也可以设置策略“交互式登录: 计算机不活动限制”（本地安全策略 > 安全选项）。")

// regText renders a registry value as text: screen saver values are
// REG_SZ, but a policy may store a number.
func regText(v source.RegValue) string {
	switch x := v.Value.(type) {
	case string:
		return strings.TrimSpace(x)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return ""
}

// lock is one way the screen locks after inactivity.
type lock struct {
	after  time.Duration
	source string
}

func shortest(locks []lock) (lock, bool) {
	if len(locks) == 0 {
		return lock{}, false
	}
	best := locks[0]
	for _, l := range locks[1:] {
		if l.after < best.after {
			best = l
		}
	}
	return best, true
}

func hasExplorer(procs []source.Process) bool {
	for _, p := range procs {
		if strings.EqualFold(p.Name, "explorer.exe") || strings.EqualFold(p.Name, "explorer") {
			return true
		}
	}
	return false
}

// deskUser is whose screen saver settings are read, and how herd knows.
type deskUser struct {
	hive  string // "HKCU" or `HKU\<SID>`
	label string // the hive as evidence names it, without the SID
	how   string
}

// consoleUser finds the hive of the person signed in at the screen. When
// the agent runs as that person, it is HKCU. A service (LocalSystem) has
// its own HKCU, so it takes the last user to sign in interactively, as
// the sign-in screen records it (LogonUI LastLoggedOnUserSID), and
// confirms that user still has a session: their hive holds Volatile
// Environment, which Windows writes at sign-in and removes at sign-out.
// The result is final when it is not nil: no one is signed in, or the
// user cannot be found.
func consoleUser(ctx context.Context, src source.Source, details *[]string) (deskUser, *checks.Result) {
	if !source.ServiceAccount(src.User()) {
		return deskUser{hive: "HKCU", label: "HKCU", how: "the agent runs as the signed-in user"}, nil
	}
	ev := checks.Evidence(winLogonUI, health.OSReported)
	cannot := func(why string) (deskUser, *checks.Result) {
		*details = append(*details, why)
		r := unknown("herd runs as a system service and could not tell who is signed in at the screen, so it could not read their screen lock settings.",
			"herd 作为系统服务运行，无法确定谁在屏幕前登录，因此无法读取其屏幕锁定设置。", ev, *details)
		return deskUser{}, &r
	}
	vals, err := src.Registry(winLogonUI)
	if err != nil {
		return cannot("last signed-in user (LogonUI): " + errWord(err))
	}
	sid := regText(vals["LastLoggedOnUserSID"])
	if !strings.HasPrefix(sid, "S-1-") || strings.ContainsAny(sid, `\ `) {
		return cannot(fmt.Sprintf("last signed-in user (LogonUI): no usable LastLoggedOnUserSID (%q)", sid))
	}
	hive := `HKU\` + sid
	_, err = src.Registry(hive + `\` + volatileEnvSub)
	switch {
	case err == nil:
		*details = append(*details, "the agent runs as "+src.User()+": reading the settings of the last user to sign in, who has a session now")
		return deskUser{hive: hive, label: `HKU\` + sidTemplate, how: "LogonUI LastLoggedOnUserSID, signed in (Volatile Environment present)"}, nil
	case errors.Is(err, fs.ErrNotExist):
		procs, perr := src.Processes(ctx)
		if perr == nil && !hasExplorer(procs) {
			r := checks.NotApplicable(i18n.T(
				"No one is signed in at this computer right now, so there is no desktop session to lock; the check looks again when someone signs in.",
				"当前没有用户登录此电脑，因此没有需要锁定的桌面会话；有人登录后会再次检查。"),
				checks.Evidence(winLogonUI, health.OSReported))
			r.Details = append(*details, "the last user to sign in has no session now, and no desktop (explorer.exe) runs")
			return deskUser{}, &r
		}
		return cannot("the last user to sign in has no session now, but a desktop may be running for someone else")
	}
	return cannot("the last user's session: " + errWord(err))
}

func errWord(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "not present"
	case errors.Is(err, fs.ErrPermission):
		return "access denied"
	}
	return err.Error()
}

// power reads when the display turns off, when the computer sleeps and
// whether waking asks for the password. ok is false when powercfg could
// not be read.
type power struct {
	displayOff, sleep, lockOnWake PowerSetting
}

func readPower(ctx context.Context, src source.Source, details *[]string) (power, bool) {
	var p power
	for _, q := range []struct {
		argv []string
		dst  *PowerSetting
		name string
	}{{powerDisplayOff, &p.displayOff, "display off"}, {powerSleep, &p.sleep, "sleep"}, {powerLockOnWake, &p.lockOnWake, "sign-in on wake"}} {
		out, err := src.Run(ctx, q.argv...)
		if err != nil || !out.OK() {
			*details = append(*details, "power settings ("+q.name+"): "+runErr(out, err))
			return p, false
		}
		s, err := ParsePowercfgQuery(out.Stdout)
		if err != nil {
			*details = append(*details, "power settings ("+q.name+"): "+err.Error())
			return p, false
		}
		*q.dst = s
	}
	secs := func(n uint64) string {
		if n == 0 {
			return "never"
		}
		return human(time.Duration(n) * time.Second)
	}
	yes := func(n uint64) string {
		if n != 0 {
			return "yes"
		}
		return "no"
	}
	*details = append(*details, fmt.Sprintf("power: display off after %s plugged in, %s on battery; sleep after %s plugged in, %s on battery; sign-in on wake: %s plugged in, %s on battery",
		secs(p.displayOff.AC), secs(p.displayOff.DC), secs(p.sleep.AC), secs(p.sleep.DC), yes(p.lockOnWake.AC), yes(p.lockOnWake.DC)))
	return p, true
}

// worst is the longer of the two times, or never (0) when either is.
func worst(s PowerSetting) uint64 {
	if s.AC == 0 || s.DC == 0 {
		return 0
	}
	return max(s.AC, s.DC)
}

func runWindows(ctx context.Context, src source.Source, max time.Duration) checks.Result {
	var details []string
	if cv, err := src.Registry(winCurrentVersion); err == nil {
		it := regText(cv["InstallationType"])
		if strings.EqualFold(it, "Server Core") {
			return checks.NotApplicable(i18n.T(
				"This is Windows Server Core: there is no desktop session, so there is no screen to lock.",
				"这是 Windows Server Core：没有桌面会话，因此没有需要锁定的屏幕。"),
				checks.Evidence(winCurrentVersion, health.OSReported))
		}
		if strings.EqualFold(it, "Server") {
			if procs, err := src.Processes(ctx); err == nil && !hasExplorer(procs) {
				return checks.NotApplicable(i18n.T(
					"This Windows Server has no desktop session (no one is signed in at the desktop), so there is no screen to lock.",
					"此 Windows Server 没有桌面会话（无人登录桌面），因此没有需要锁定的屏幕。"),
					checks.Evidence("processes", health.OSReported))
			}
		}
	}

	// Locks that surely happen: the machine inactivity limit, a
	// password-protected screen saver, sleep with sign-in on wake.
	var locks []lock
	machineErr := error(nil)
	if sys, err := src.Registry(winSystemPolicy); err == nil {
		if v, ok := sys["InactivityTimeoutSecs"]; ok {
			n, _ := strconv.ParseUint(regText(v), 10, 32)
			details = append(details, fmt.Sprintf("machine inactivity limit: %d s", n))
			if n > 0 {
				locks = append(locks, lock{time.Duration(n) * time.Second, winSystemPolicy})
			}
		} else {
			details = append(details, "machine inactivity limit: not set")
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		machineErr = err
		details = append(details, "machine inactivity limit: "+err.Error())
	}

	du, final := consoleUser(ctx, src, &details)
	if final != nil && final.Status == health.NotApplicable {
		return *final
	}
	userReadable := final == nil
	ssSource := winDesktop
	ev := checks.Evidence(winDesktop, health.OSReported)
	if userReadable {
		ssSource = du.label + `\` + desktopSub
		ev = checks.Evidence(ssSource, health.OSReported)
		ev.Facts = map[string]any{"desktop_user_from": du.how}
		policy, perr := src.Registry(du.hive + `\` + desktopPolicySub)
		user, uerr := src.Registry(du.hive + `\` + desktopSub)
		switch {
		case perr != nil && !errors.Is(perr, fs.ErrNotExist) || uerr != nil && !errors.Is(uerr, fs.ErrNotExist):
			userReadable = false
			details = append(details, "screen saver settings: "+errWord(errors.Join(perr, uerr)))
		case uerr != nil:
			// Every user's hive has Control Panel\Desktop: its absence
			// is missing evidence, not a screen that never locks.
			userReadable = false
			details = append(details, "screen saver settings: "+du.label+`\`+desktopSub+" is missing")
		default:
			val := func(name string) (string, bool) {
				if v, ok := policy[name]; ok {
					return regText(v), true
				}
				return regText(user[name]), false
			}
			active, p1 := val("ScreenSaveActive")
			secure, p2 := val("ScreenSaverIsSecure")
			timeout, p3 := val("ScreenSaveTimeOut")
			exe, p4 := val("SCRNSAVE.EXE")
			secs, _ := strconv.ParseUint(timeout, 10, 32)
			saver := exe
			if saver == "" {
				saver = "none chosen"
			}
			details = append(details, fmt.Sprintf("screen saver: %s, active %q, password on resume %q, timeout %q s", saver, active, secure, timeout))
			if p1 || p2 || p3 || p4 {
				ssSource = du.label + `\` + desktopPolicySub
			}
			// Without a screen saver program none starts, whatever the
			// other values say (as the Group Policy descriptions note).
			if active == "1" && secure == "1" && secs > 0 && exe != "" {
				locks = append(locks, lock{time.Duration(secs) * time.Second, ssSource})
			}
		}
	}
	if best, ok := shortest(locks); ok && best.after <= max {
		ev.Source = best.source
		return judge(best.after, max, ev, details, fixWindows)
	}

	// No setting above locks in time: the power settings may. Sleep with
	// sign-in on wake locks when the computer sleeps. Turning the display
	// off may lock too (on Modern Standby hardware it does, on older
	// hardware it does not), which the registry does not tell: a display
	// that turns off in time is a lock herd can neither count nor rule out.
	pw, powerRead := readPower(ctx, src, &details)
	var possible time.Duration // the display turning off, when it may lock
	if powerRead {
		signIn := pw.lockOnWake.AC != 0 && pw.lockOnWake.DC != 0
		if s := worst(pw.sleep); s > 0 && signIn {
			locks = append(locks, lock{time.Duration(s) * time.Second, "powercfg"})
		}
		if d := worst(pw.displayOff); d > 0 && (pw.lockOnWake.AC != 0 || pw.lockOnWake.DC != 0) {
			possible = time.Duration(d) * time.Second
		}
	}
	best, found := shortest(locks)
	if found && best.after <= max {
		ev.Source = best.source
		return judge(best.after, max, ev, details, fixWindows)
	}
	switch {
	case !userReadable || machineErr != nil:
		ev.Source = winDesktop
		if final != nil {
			ev = final.Evidence
		}
		return unknown("Could not read the desktop user's screen saver settings, and nothing else herd can read locks the screen within the allowed time.",
			"无法读取桌面用户的屏幕保护程序设置，且 herd 能读取的其他设置都不会在允许的时间内锁定屏幕。", ev, details)
	case !powerRead:
		return unknown("No screen saver or inactivity limit locks the screen within the allowed time, and herd could not read the power settings (when the computer sleeps or turns the display off), which may lock it.",
			"没有屏幕保护程序或不活动限制会在允许的时间内锁定屏幕，且 herd 无法读取可能锁定屏幕的电源设置（电脑何时睡眠或关闭显示器）。",
			checks.Evidence("powercfg", health.OSReported), details)
	case possible > 0 && possible <= max:
		return unknown(fmt.Sprintf("The display turns off after %s. Whether Windows then asks for the password depends on the hardware's standby mode, which herd cannot read, and no screen saver, inactivity limit or sleep setting locks the screen within the allowed %s.", human(possible), human(max)),
			fmt.Sprintf("显示器在 %s 后关闭。届时 Windows 是否要求输入密码取决于硬件的待机模式，herd 无法读取；且没有屏幕保护程序、不活动限制或睡眠设置会在允许的 %s 内锁定屏幕。", humanZh(possible), humanZh(max)),
			checks.Evidence("powercfg", health.OSReported), details)
	case found && (possible == 0 || best.after <= possible):
		ev.Source = best.source
		return judge(best.after, max, ev, details, fixWindows)
	case possible > 0:
		// The earliest the screen could lock is when the display turns
		// off, and that is already later than allowed.
		ev := checks.Evidence("powercfg", health.OSReported)
		ev.Facts = map[string]any{"display_off_seconds": int(possible / time.Second), "max_seconds": int(max / time.Second)}
		r := checks.Fail(i18n.T(
			fmt.Sprintf("The screen does not lock within the allowed %s: no screen saver or inactivity limit locks it, and the earliest it could lock is when the display turns off after %s.", human(max), human(possible)),
			fmt.Sprintf("屏幕不会在允许的 %s 内锁定：没有屏幕保护程序或不活动限制会锁定屏幕，最早也要等显示器在 %s 后关闭时才可能锁定。", humanZh(max), humanZh(possible))),
			ev, fixWindows)
		r.Details = details
		return r
	}
	return never("no password-protected screen saver is on, no machine inactivity limit is set, and the computer neither sleeps nor turns the display off with sign-in on wake",
		"未启用带密码保护的屏幕保护程序，未设置计算机不活动限制，电脑也不会在需要唤醒登录的情况下睡眠或关闭显示器",
		checks.Evidence("powercfg", health.OSReported), details, fixWindows)
}
