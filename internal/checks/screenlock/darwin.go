package screenlock

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

var (
	macSysadminctl         = []string{"sysadminctl", "-screenLock", "status"}
	macAskForPassword      = []string{"defaults", "read", "com.apple.screensaver", "askForPassword"}
	macAskForPasswordDelay = []string{"defaults", "read", "com.apple.screensaver", "askForPasswordDelay"}
	macIdleTime            = []string{"defaults", "-currentHost", "read", "com.apple.screensaver", "idleTime"}
	macPmset               = []string{"pmset", "-g"}
	macConsoleUser         = []string{"stat", "-f", "%Su", "/dev/console"}
)

var fixMac = i18n.T(
	"Open System Settings > Lock Screen: set \"Require password after screen saver begins or display is turned off\" to Immediately (or a short delay), and set \"Start Screen Saver when inactive\" and \"Turn display off when inactive\" so the screen locks within the allowed time.",
	"打开 系统设置 > 锁定屏幕：将“屏幕保护程序启动或显示器关闭后需要输入密码”设为“立即”（或较短延迟），并设置“不活跃时启动屏幕保护程序”和“不活跃时关闭显示器”，使屏幕在允许的时间内锁定。")

func runDarwin(ctx context.Context, src source.Source, max time.Duration) checks.Result {
	var details []string
	run := func(argv []string) (source.Output, error) { return src.Run(ctx, argv...) }
	if src.User() == "root" {
		// A root agent reads the settings of the user at the console.
		out, err := src.Run(ctx, macConsoleUser...)
		user := strings.TrimSpace(out.Stdout)
		if err != nil || !out.OK() {
			return unknown("Could not tell who is logged in at the screen, so the screen lock settings could not be read.",
				"无法确定谁在屏幕前登录，因此无法读取屏幕锁定设置。",
				checks.Evidence("stat /dev/console", health.OSReported), []string{"stat /dev/console: " + runErr(out, err)})
		}
		if user == "" || user == "root" {
			return checks.NotApplicable(i18n.T(
				"No one is logged in at the screen (no desktop session), so there is no screen to lock.",
				"没有用户在屏幕前登录（没有桌面会话），因此没有需要锁定的屏幕。"),
				checks.Evidence("stat /dev/console", health.OSReported))
		}
		run = func(argv []string) (source.Output, error) {
			return src.Run(ctx, append([]string{"sudo", "-u", user}, argv...)...)
		}
	}

	// The password requirement and its delay.
	var lock MacLock
	lockKnown := false
	ev := checks.Evidence("sysadminctl -screenLock status", health.OSReported)
	out, err := run(macSysadminctl)
	if err == nil {
		// sysadminctl writes its answer to stderr.
		if l, perr := ParseSysadminctlScreenLock(out.Stderr + "\n" + out.Stdout); perr == nil {
			lock, lockKnown = l, true
		} else {
			details = append(details, perr.Error())
		}
	} else {
		details = append(details, "sysadminctl: "+runErr(out, err))
	}
	if !lockKnown {
		ev = checks.Evidence("defaults read com.apple.screensaver", health.OSReported)
		out, err := run(macAskForPassword)
		if err == nil && out.OK() {
			if n, perr := ParseDefaultsNumber(out.Stdout); perr == nil {
				lock.Enabled, lockKnown = n == 1, true
				if o, err := run(macAskForPasswordDelay); err == nil && o.OK() {
					if d, perr := ParseDefaultsNumber(o.Stdout); perr == nil {
						lock.Delay = time.Duration(d * float64(time.Second))
					}
				} else {
					details = append(details, "askForPasswordDelay: not set, taken as immediate")
				}
			}
		} else {
			details = append(details, "askForPassword: "+runErr(out, err))
		}
	}
	if !lockKnown {
		return unknown("Could not read whether macOS asks for a password when the screen saver starts or the display sleeps.",
			"无法读取 macOS 在屏幕保护程序启动或显示器睡眠时是否要求输入密码。", ev, details)
	}
	details = append(details, fmt.Sprintf("password required: %t, after %s", lock.Enabled, human(lock.Delay)))
	if !lock.Enabled {
		return never("no password is asked when the screen saver starts or the display sleeps",
			"屏幕保护程序启动或显示器睡眠时不要求输入密码", ev, details, fixMac)
	}

	// The idle time: screen saver or display sleep, whichever is first.
	var idles []time.Duration
	read := 0
	if out, err := run(macIdleTime); err == nil && out.OK() {
		if n, perr := ParseDefaultsNumber(out.Stdout); perr == nil {
			read++
			details = append(details, fmt.Sprintf("screen saver starts after %s", orNever(time.Duration(n)*time.Second)))
			if n > 0 {
				idles = append(idles, time.Duration(n)*time.Second)
			}
		}
	} else {
		details = append(details, "screen saver idleTime: "+runErr(out, err))
	}
	if out, err := run(macPmset); err == nil && out.OK() {
		if d, ok := ParsePmsetDisplaySleep(out.Stdout); ok {
			read++
			details = append(details, fmt.Sprintf("display sleeps after %s", orNever(d)))
			if d > 0 {
				idles = append(idles, d)
			}
		}
	} else {
		details = append(details, "pmset -g: "+runErr(out, err))
	}
	if len(idles) == 0 {
		if read == 2 {
			return never("neither the screen saver nor display sleep ever starts", "屏幕保护程序和显示器睡眠都设置为从不",
				ev, details, fixMac)
		}
		return unknown("Could not read after how long the screen saver starts or the display sleeps.",
			"无法读取屏幕保护程序启动或显示器睡眠前的等待时间。", ev, details)
	}
	idle := idles[0]
	for _, d := range idles[1:] {
		idle = min(idle, d)
	}
	return judge(idle+lock.Delay, max, ev, details, fixMac)
}

func orNever(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return human(d)
}
