package updates

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

const (
	wuauservKey       = `HKLM\SYSTEM\CurrentControlSet\Services\wuauserv`
	auPolicyKey       = `HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU`
	wuPolicyKey       = `HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate`
	rebootRequiredKey = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired`
	cbsRebootKey      = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending`
	installResultsKey = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\Results\Install`
	sessionManagerKey = `HKLM\SYSTEM\CurrentControlSet\Control\Session Manager`
)

// wuQueryScript asks the Windows Update Agent, from its cache only
// (Online = false: no network), which software updates are not installed,
// and the date of the last successful install in its history.
const wuQueryScript = `$ErrorActionPreference='Stop';` +
	`$q=(New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher();$q.Online=$false;` +
	`$r=$q.Search("IsInstalled=0 and IsHidden=0 and Type='Software'");` +
	`$u=@($r.Updates|ForEach-Object{[pscustomobject]@{Title=$_.Title;KB=(@($_.KBArticleIDs) -join ',');` +
	`Categories=@($_.Categories|ForEach-Object{$_.Name});MsrcSeverity=[string]$_.MsrcSeverity;` +
	`Published=$_.LastDeploymentChangeTime.ToUniversalTime().ToString('o')}});` +
	`$h=$null;$n=$q.GetTotalHistoryCount();` +
	`if($n -gt 0){$e=$q.QueryHistory(0,[Math]::Min($n,50))|Where-Object{$_.Operation -eq 1 -and $_.ResultCode -eq 2}|Select-Object -First 1;` +
	`if($e){$h=$e.Date.ToUniversalTime().ToString('o')}};` +
	`ConvertTo-Json -Compress -Depth 4 -InputObject ([pscustomobject]@{Updates=$u;LastInstall=$h})`

var argvWUQuery = []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-Command", wuQueryScript}

func windowsAutoProbes() []source.Probe {
	return []source.Probe{source.RegistryKey(wuauservKey, "Start"), source.RegistryKey(auPolicyKey, "NoAutoUpdate", "AUOptions"),
		source.RegistryKey(wuPolicyKey, "WUServer")}
}

func windowsPendingProbes() []source.Probe {
	return []source.Probe{
		source.RegistryKey(rebootRequiredKey), source.RegistryKey(cbsRebootKey),
		source.RegistryKey(installResultsKey, "LastSuccessTime"), source.RegistryKey(sessionManagerKey, "PendingFileRenameOperations"),
		source.Command(argvWUQuery...),
	}
}

// regUint reads a REG_DWORD; ok is false when absent or of another type.
func regUint(vals map[string]source.RegValue, name string) (uint64, bool) {
	v, ok := vals[name]
	if !ok {
		return 0, false
	}
	n, ok := v.Value.(uint64)
	return n, ok
}

var winAutoFix = i18n.T(
	"Turn automatic updates back on: open Settings > Windows Update and make sure updates are not paused; if the device is managed, ask your IT administrator to allow automatic updates (Group Policy: Computer Configuration > Administrative Templates > Windows Components > Windows Update > Configure Automatic Updates: Enabled, option 4 \"Auto download and schedule the install\"). Make sure the Windows Update service is not disabled (services.msc).",
	"请重新开启自动更新：打开“设置 > Windows 更新”，确认更新未被暂停；如果设备由单位管理，请联系 IT 管理员允许自动更新（组策略：计算机配置 > 管理模板 > Windows 组件 > Windows 更新 > 配置自动更新：已启用，选项 4“自动下载并计划安装”）。并确认 Windows Update 服务未被禁用（services.msc）。")

// windowsAuto judges auto_update on Windows.
func windowsAuto(_ context.Context, src source.Source, _ checks.Env) checks.Result {
	ev := checks.Evidence("registry: "+wuauservKey, health.OSReported)
	ev.Facts = map[string]any{}
	var details []string

	svc, err := src.Registry(wuauservKey)
	if err != nil {
		return checks.Unknown(i18n.T(
			"herd could not read the Windows Update service's settings from the registry.",
			"herd 无法从注册表读取 Windows Update 服务的设置。"), ev)
	}
	if start, ok := regUint(svc, "Start"); ok {
		ev.Facts["wuauserv_start"] = start
		details = append(details, fmt.Sprintf("wuauserv Start: %d", start))
		if start == 4 {
			r := checks.Fail(i18n.T(
				"Automatic updates are off: the Windows Update service (wuauserv) is disabled.",
				"自动更新未开启：Windows Update 服务（wuauserv）已被禁用。"), ev, winAutoFix)
			r.Details = details
			return r
		}
	}

	ev.Source = "registry: " + auPolicyKey
	pol, err := src.Registry(auPolicyKey)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r := checks.Pass(i18n.T(
			"Windows installs updates automatically (no policy changes Windows Update's default).",
			"Windows 会自动安装更新（没有策略更改 Windows 更新的默认设置）。"), ev)
		r.Details = append(details, "AU policy: not set (Windows default: automatic)")
		return r
	case err != nil:
		return checks.Unknown(i18n.T(
			"herd could not read the Windows Update policy from the registry.",
			"herd 无法从注册表读取 Windows 更新策略。"), ev)
	}
	if wu, err := src.Registry(wuPolicyKey); err == nil {
		if s, ok := wu["WUServer"]; ok {
			if url, _ := s.Value.(string); url != "" {
				ev.Facts["wsus"] = true
				details = append(details, "updates come from a WSUS server")
			}
		}
	}
	if n, ok := regUint(pol, "NoAutoUpdate"); ok {
		ev.Facts["no_auto_update"] = n
		details = append(details, fmt.Sprintf("NoAutoUpdate: %d", n))
		if n == 1 {
			r := checks.Fail(i18n.T(
				"Automatic updates are off: a policy sets NoAutoUpdate, so Windows does not install updates by itself.",
				"自动更新未开启：策略设置了 NoAutoUpdate，Windows 不会自行安装更新。"), ev, winAutoFix)
			r.Details = details
			return r
		}
	}
	opt, ok := regUint(pol, "AUOptions")
	if ok {
		ev.Facts["au_options"] = opt
		details = append(details, fmt.Sprintf("AUOptions: %d", opt))
	}
	var r checks.Result
	switch {
	case !ok:
		r = checks.Pass(i18n.T(
			"Windows installs updates automatically (the update policy does not restrict it).",
			"Windows 会自动安装更新（更新策略未加限制）。"), ev)
	case opt == 2:
		r = checks.Fail(i18n.T(
			"Automatic updates are off: the policy only notifies about updates (AUOptions = 2) and does not download or install them.",
			"自动更新未开启：策略只通知有更新（AUOptions = 2），不会下载或安装。"), ev, winAutoFix)
	case opt == 3 || opt == 4 || opt == 7:
		r = checks.Pass(i18n.T(
			fmt.Sprintf("Windows downloads and installs updates automatically (AUOptions = %d).", opt),
			fmt.Sprintf("Windows 会自动下载并安装更新（AUOptions = %d）。", opt)), ev)
	case opt == 5:
		r = checks.Unknown(i18n.T(
			"The update policy lets the local administrator choose the automatic update setting (AUOptions = 5), and herd cannot read that choice.",
			"更新策略允许本地管理员自行选择自动更新设置（AUOptions = 5），herd 无法读取该选择。"), ev)
	default:
		r = checks.Unknown(i18n.T(
			fmt.Sprintf("herd does not know the Windows Update policy value AUOptions = %d.", opt),
			fmt.Sprintf("herd 不了解 Windows 更新策略取值 AUOptions = %d。", opt)), ev)
	}
	r.Details = details
	return r
}

// windowsPending judges pending_updates on Windows.
func windowsPending(ctx context.Context, src source.Source, env checks.Env) checks.Result {
	b := backlog{source: "Windows Update Agent (Microsoft.Update.Session, cached search)", rebootSrc: "registry: " + rebootRequiredKey, facts: map[string]any{}}

	// Restart pending: Windows Update's or servicing's own flag.
	b.rebootKnown = true
	for _, key := range []string{rebootRequiredKey, cbsRebootKey} {
		_, err := src.Registry(key)
		switch {
		case err == nil:
			if !b.reboot {
				b.rebootSrc = "registry: " + key
			}
			b.reboot = true
			b.details = append(b.details, "restart pending: "+key)
		case !errors.Is(err, fs.ErrNotExist):
			b.rebootKnown = false
			b.unknownReason = i18n.T("herd could not read whether Windows is waiting for a restart to finish updates.",
				"herd 无法读取 Windows 是否在等待重启以完成更新。")
		}
	}
	if sm, err := src.Registry(sessionManagerKey); err == nil {
		if _, ok := sm["PendingFileRenameOperations"]; ok {
			b.details = append(b.details, "PendingFileRenameOperations is set: files an installer replaces at the next start, not an update restart")
		}
	}

	var lastInstall time.Time
	if res, err := src.Registry(installResultsKey); err == nil {
		if v, ok := res["LastSuccessTime"]; ok {
			if s, ok := v.Value.(string); ok {
				lastInstall, _ = parseWinTime(s)
			}
		}
	}

	out, err := src.Run(ctx, argvWUQuery...)
	var wu WUResult
	if err == nil && out.OK() {
		wu, err = ParseWUQuery(out.Stdout)
	} else if err == nil {
		err = fmt.Errorf("exit %d", out.Exit)
	}
	if err != nil {
		if b.unknownReason.IsZero() {
			b.unknownReason = i18n.T("herd could not ask the Windows Update Agent which updates are waiting.",
				"herd 无法向 Windows 更新代理查询等待中的更新。")
		}
	} else {
		b.updatesKnown = true
		var names []string
		allDated := true
		for _, u := range wu.Updates {
			if !u.Security() {
				continue
			}
			b.updates++
			name := u.Title
			if u.KB != "" {
				name = "KB" + strings.TrimPrefix(u.KB, "KB")
			}
			names = append(names, name)
			if u.Published.IsZero() {
				allDated = false
			} else if b.since.IsZero() || u.Published.Before(b.since) {
				b.since = u.Published
			}
		}
		b.sinceIsBound = b.updates > 0 && !allDated
		if len(names) > 0 {
			b.details = append(b.details, "security updates: "+listShort(names, 10))
		}
		if lastInstall.IsZero() {
			lastInstall = wu.LastInstall
		}
	}
	if b.reboot && !lastInstall.IsZero() {
		b.rebootSince = lastInstall
	}
	return b.judge(src.Now(), env.PendingAge(), i18n.T(
		"Install the waiting updates now: open Settings > Windows Update, select Check for updates and Install, then restart when asked.",
		"请立即安装等待中的更新：打开“设置 > Windows 更新”，选择“检查更新”并安装，按提示重启。"))
}
