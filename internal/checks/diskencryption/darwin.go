package diskencryption

import (
	"context"
	"fmt"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

var fixFileVault = i18n.T(
	"Turn on FileVault: System Settings > Privacy & Security > FileVault > Turn On (on older macOS: System Preferences > Security & Privacy > FileVault). Keep the recovery key somewhere safe.",
	"启用 FileVault：系统设置 > 隐私与安全性 > 文件保险箱（FileVault）> 打开（旧版 macOS：系统偏好设置 > 安全性与隐私 > 文件保险箱）。请妥善保管恢复密钥。")

func runDarwin(ctx context.Context, src source.Source) checks.Result {
	ev := checks.Evidence("fdesetup status", health.OSReported)
	out, err := src.Run(ctx, "fdesetup", "status")
	if err != nil || !out.OK() {
		r := checks.Unknown(i18n.T(
			"Could not ask macOS whether FileVault is on (fdesetup status did not answer).",
			"无法向 macOS 查询文件保险箱（FileVault）是否开启（fdesetup status 无响应）。"), ev)
		r.Details = []string{"fdesetup status: " + runError(out, err)}
		return r
	}
	fv, perr := ParseFdesetupStatus(out.Stdout)
	if perr != nil {
		r := checks.Unknown(i18n.T(
			"macOS answered about FileVault in a form herd does not recognise.",
			"macOS 关于文件保险箱（FileVault）的回答格式无法识别。"), ev)
		r.Details = []string{perr.Error()}
		return r
	}
	ev.Facts = map[string]any{"filevault": map[bool]string{true: "on", false: "off"}[fv.On]}
	if fv.Percent >= 0 {
		ev.Facts["percent_completed"] = fv.Percent
	}
	var details []string
	for _, u := range fv.Unfamiliar {
		details = append(details, "unfamiliar line: "+u)
	}
	fail := func(en, zh string, fix i18n.Text) checks.Result {
		r := checks.Fail(i18n.T(en, zh), ev, fix)
		r.Details = details
		return r
	}
	pct := func() (string, string) {
		if fv.Pending {
			return " (waiting to start: pending, usually until the Mac is on power)", "（等待开始：通常需要连接电源）"
		}
		if fv.Percent >= 0 {
			return fmt.Sprintf(" (%.1f%% done)", fv.Percent), fmt.Sprintf("（已完成 %.1f%%）", fv.Percent)
		}
		return "", ""
	}
	switch {
	case fv.Decrypting:
		return fail("FileVault is being turned off: the startup disk is being decrypted.",
			"文件保险箱（FileVault）正在关闭：启动磁盘正在解密。", fixFileVault)
	case fv.On && fv.Encrypting:
		en, zh := pct()
		return fail("FileVault is on but is still encrypting the startup disk"+en+"; until it finishes, part of the disk is not protected.",
			"文件保险箱（FileVault）已开启，但仍在加密启动磁盘"+zh+"；完成之前，部分磁盘数据未受保护。",
			i18n.T("Keep the Mac awake and connected to power until FileVault finishes encrypting (progress: System Settings > Privacy & Security > FileVault).",
				"请保持 Mac 唤醒并连接电源，直到文件保险箱（FileVault）完成加密（进度见：系统设置 > 隐私与安全性 > 文件保险箱）。"))
	case fv.On:
		if fv.MasterKey {
			details = append(details, "FileVault master keychain installed (institutional recovery key)")
		}
		r := checks.Pass(i18n.T("FileVault is on: the startup disk is encrypted.",
			"文件保险箱（FileVault）已开启：启动磁盘已加密。"), ev)
		r.Details = details
		return r
	case fv.Deferred:
		if fv.DeferredFor != "" {
			details = append(details, "deferred enablement for a user")
		}
		return fail("FileVault is off: it is set to be turned on at the next logout or restart, which has not happened yet.",
			"文件保险箱（FileVault）未开启：已设置为在下次注销或重启时开启，但尚未执行。",
			i18n.T("Log out or restart the Mac and enter your password when asked, so that FileVault is turned on.",
				"请注销或重启 Mac，并在提示时输入密码，以便开启文件保险箱（FileVault）。"))
	default:
		details = append(details, "hardware encryption of Apple silicon/T2 internal storage is not FileVault: without FileVault the disk unlocks without a password")
		return fail("FileVault is off: the startup disk is not protected by your password.",
			"文件保险箱（FileVault）未开启：启动磁盘未受您的密码保护。", fixFileVault)
	}
}
