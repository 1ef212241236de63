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
	winDesktopPolicy  = `HKCU\Software\Policies\Microsoft\Windows\Control Panel\Desktop`
	winDesktop        = `HKCU\Control Panel\Desktop`
)

var fixWindows = i18n.T(
	"Open Settings > Personalization > Lock screen > Screen saver, choose a wait time within the allowed delay and tick \"On resume, display logon screen\". An administrator can instead set the policy \"Interactive logon: Machine inactivity limit\" (Local Security Policy > Security Options).",
	"打开 设置 > 个性化 > 锁屏界面 > 屏幕保护程序，选择不超过允许时间的等待时长，并勾选“在恢复时显示登录屏幕”。管理员也可以设置策略“交互式登录: 计算机不活动限制”（本地安全策略 > 安全选项）。")

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
			if procs, err := src.Processes(ctx); err == nil {
				desktop := false
				for _, p := range procs {
					if strings.EqualFold(p.Name, "explorer.exe") || strings.EqualFold(p.Name, "explorer") {
						desktop = true
					}
				}
				if !desktop {
					return checks.NotApplicable(i18n.T(
						"This Windows Server has no desktop session (no one is signed in at the desktop), so there is no screen to lock.",
						"此 Windows Server 没有桌面会话（无人登录桌面），因此没有需要锁定的屏幕。"),
						checks.Evidence("processes", health.OSReported))
				}
			}
		}
	}

	type lock struct {
		after  time.Duration
		source string
	}
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

	userReadable := true
	if u := src.User(); strings.EqualFold(u, "SYSTEM") || strings.HasSuffix(u, "$") {
		// HKCU would be the service account's, not the desktop user's.
		userReadable = false
		details = append(details, "the agent runs as "+u+": the desktop user's screen saver settings are not visible")
	}
	var ssSource string
	if userReadable {
		policy, perr := src.Registry(winDesktopPolicy)
		user, uerr := src.Registry(winDesktop)
		if perr != nil && !errors.Is(perr, fs.ErrNotExist) || uerr != nil && !errors.Is(uerr, fs.ErrNotExist) {
			userReadable = false
			details = append(details, "screen saver settings: "+errors.Join(perr, uerr).Error())
		} else {
			val := func(name string) (string, string) {
				if v, ok := policy[name]; ok {
					return regText(v), winDesktopPolicy
				}
				if v, ok := user[name]; ok {
					return regText(v), winDesktop
				}
				return "", ""
			}
			active, src1 := val("ScreenSaveActive")
			secure, src2 := val("ScreenSaverIsSecure")
			timeout, src3 := val("ScreenSaveTimeOut")
			secs, _ := strconv.ParseUint(timeout, 10, 32)
			details = append(details, fmt.Sprintf("screen saver: active %q, password on resume %q, timeout %q s", active, secure, timeout))
			for _, s := range []string{src1, src2, src3} {
				if s == winDesktopPolicy {
					ssSource = winDesktopPolicy
				}
			}
			if ssSource == "" {
				ssSource = winDesktop
			}
			if active == "1" && secure == "1" && secs > 0 {
				locks = append(locks, lock{time.Duration(secs) * time.Second, ssSource})
			}
		}
	}

	if len(locks) == 0 {
		if !userReadable || machineErr != nil {
			return unknown("Could not read the desktop user's screen saver settings, and no machine inactivity limit is set.",
				"无法读取桌面用户的屏幕保护程序设置，且未设置计算机不活动限制。",
				checks.Evidence(winDesktop, health.OSReported), details)
		}
		return never("no password-protected screen saver is on and no machine inactivity limit is set",
			"未启用带密码保护的屏幕保护程序，也未设置计算机不活动限制",
			checks.Evidence(ssSource, health.OSReported), details, fixWindows)
	}
	best := locks[0]
	for _, l := range locks[1:] {
		if l.after < best.after {
			best = l
		}
	}
	return judge(best.after, max, checks.Evidence(best.source, health.OSReported), details, fixWindows)
}
