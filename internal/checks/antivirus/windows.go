package antivirus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// WSCClass is the Security Center class of antivirus products.
const WSCClass = "root/SecurityCenter2:AntiVirusProduct"

// MpStatusArgv is the command that reads Defender's status. JSON keeps
// dates and numbers independent of the display language.
var MpStatusArgv = []string{"powershell", "-NoProfile", "-NonInteractive", "-Command",
	"Get-MpComputerStatus | Select-Object AMRunningMode,AMServiceEnabled,AntivirusEnabled,RealTimeProtectionEnabled,AntivirusSignatureAge,AntivirusSignatureLastUpdated,AntivirusSignatureVersion,AMProductVersion | ConvertTo-Json"}

const winVersionKey = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`

func windowsProbes() []source.Probe {
	return []source.Probe{
		source.WMIClass(WSCClass),
		source.Command(MpStatusArgv...),
		source.RegistryKey(winVersionKey, "InstallationType"),
		source.ProcessList(),
		// Whether a Security Center row's product is still installed.
		source.File("<program a Security Center row names>"),
	}
}

var defenderOnFix = i18n.T(
	"Open Windows Security > Virus & threat protection > Manage settings and turn on Real-time protection, or turn on the real-time protection of the antivirus product you use.",
	"打开“Windows 安全中心 > 病毒和威胁防护 > 管理设置”，开启“实时保护”；或开启您所用防病毒产品的实时保护。")

var defenderSigFix = i18n.T(
	"Open Windows Security > Virus & threat protection > Protection updates and choose Check for updates, or run `Update-MpSignature` in an administrator PowerShell. If updates keep failing, check that Windows Update can reach the internet.",
	"打开“Windows 安全中心 > 病毒和威胁防护 > 保护更新”，点击“检查更新”，或在管理员 PowerShell 中运行 `Update-MpSignature`。如果更新一直失败，请检查 Windows 更新能否连接互联网。")

func productSigFix(name string) i18n.Text {
	return i18n.T(
		fmt.Sprintf("Open %s and update its signatures (definitions); make sure it can reach its update server.", name),
		fmt.Sprintf("打开 %s 并更新其病毒特征库（定义）；确认它能连接到其更新服务器。", name))
}

// wscProduct is a Security Center row with whether its product still exists.
type wscProduct struct {
	WSCProduct
	present presence
}

type presence int

const (
	presentUnknown presence = iota
	presentYes
	presentNo
)

func windowsView(ctx context.Context, src source.Source) view {
	var details []string
	procs, _ := src.Processes(ctx)

	// Security Center.
	rows, wmiErr := src.WMI(ctx, WSCClass)
	scMissing := wmiErr != nil && noSecurityCenter(wmiErr)
	server := isServer(src)
	var prods []wscProduct
	if wmiErr == nil {
		for _, p := range ParseWSCProducts(rows) {
			wp := wscProduct{WSCProduct: p, present: productPresent(src, procs, p)}
			prods = append(prods, wp)
			d := fmt.Sprintf("Security Center: %s: real-time %s, signatures %s", p.Name, p.State.Scanner, p.State.Signatures)
			if !p.StateReadable {
				d = fmt.Sprintf("Security Center: %s: state unreadable", p.Name)
			}
			if wp.present == presentNo {
				d += " (not installed: " + p.ProductExe + " does not exist; ignored)"
			}
			details = append(details, d)
		}
		if len(rows) == 0 {
			details = append(details, "Security Center: no antivirus product registered")
		}
	} else if scMissing || server {
		details = append(details, "Security Center: not applicable (not present on Windows Server)")
	} else {
		details = append(details, "Security Center: "+wmiErr.Error())
	}

	// Defender.
	var mp *MpStatus
	out, err := src.Run(ctx, MpStatusArgv...)
	if err == nil {
		if m, perr := ParseMpStatus(out.Stdout); perr == nil {
			mp = &m
		}
	}
	if mp != nil {
		details = append(details, fmt.Sprintf("Defender: mode %s, real-time protection %s", orUnknown(mp.RunningMode), boolWord(mp.RealTime)))
	} else {
		details = append(details, "Defender: status unknown (Get-MpComputerStatus gave no status)")
	}

	scEv := checks.Evidence(WSCClass, health.ProductReported)
	mpEv := checks.Evidence("Get-MpComputerStatus", health.ProductReported)
	var v view
	done := func(r checks.Result) view {
		v.av = withDetails(r, details)
		if v.engine != nil {
			v.engine.Details = details
		} else if v.noEngine.Status == "" {
			v.noEngine = withDetails(checks.Unknown(i18n.T(
				"herd found no active antivirus engine whose signatures it can read; see the antivirus check.",
				"herd 未找到可读取病毒特征库的活动防病毒引擎；请参阅防病毒检查。"), v.av.Evidence), details)
		}
		return v
	}

	// 1. An active third-party product.
	var unconfirmed []string
	for _, p := range prods {
		if p.IsDefender() || p.present == presentNo || !p.StateReadable || p.State.Scanner != ScannerOn {
			continue
		}
		if p.present == presentUnknown {
			unconfirmed = append(unconfirmed, p.Name)
			continue
		}
		ev := facts(scEv, "product", p.Name)
		v.engine = &engine{Name: p.Name, Source: WSCClass, Trust: health.ProductReported, AgeDays: -1, State: p.State.Signatures, Fix: productSigFix(p.Name)}
		msg := ""
		if mp != nil && mp.Passive() {
			msg = " Microsoft Defender stands down for it (passive mode)."
		}
		return done(checks.Pass(i18n.T(
			fmt.Sprintf("%s is the active antivirus and its real-time protection is on.%s", p.Name, msg),
			fmt.Sprintf("%s 是当前生效的防病毒软件，实时保护已开启。", p.Name)), ev))
	}

	// 2. Defender, by its own status.
	defRow := findDefender(prods)
	if mp != nil && !mp.Passive() {
		ev := facts(mpEv, "product", "Microsoft Defender Antivirus")
		if mp.ProductVersion != "" {
			ev.Facts["product_version"] = mp.ProductVersion
		}
		v.engine = &engine{Name: "Microsoft Defender Antivirus", Source: "Get-MpComputerStatus", Trust: health.ProductReported,
			AgeDays: mp.SignatureAge, Updated: mp.SignatureUpdated, Version: mp.SignatureVersion, Fix: defenderSigFix}
		switch {
		case isFalse(mp.ServiceEnabled) || isFalse(mp.AntivirusEnabled):
			v.engine = nil
			v.noEngine = noActiveEngine(ev, details)
			return done(checks.Fail(i18n.T(
				"Microsoft Defender Antivirus is turned off and no other antivirus is active.",
				"Microsoft Defender 防病毒已关闭，且没有其他防病毒软件处于活动状态。"), ev, defenderOnFix))
		case isFalse(mp.RealTime):
			return done(checks.Fail(i18n.T(
				"Microsoft Defender Antivirus is the active antivirus, but its real-time protection is off, so files are not checked as they are opened.",
				"Microsoft Defender 防病毒是当前生效的防病毒软件，但其实时保护已关闭，文件在打开时不会被检查。"), ev, defenderOnFix))
		case isTrue(mp.RealTime):
			return done(checks.Pass(i18n.T(
				"Microsoft Defender Antivirus is the active antivirus and its real-time protection is on.",
				"Microsoft Defender 防病毒是当前生效的防病毒软件，实时保护已开启。"), ev))
		}
	}

	// 3. Defender as Security Center sees it, when its own status is unknown.
	if mp == nil && defRow != nil && defRow.StateReadable && defRow.State.Scanner == ScannerOn {
		v.engine = &engine{Name: defRow.Name, Source: WSCClass, Trust: health.ProductReported, AgeDays: -1, State: defRow.State.Signatures, Fix: defenderSigFix}
		return done(checks.Pass(i18n.T(
			fmt.Sprintf("Security Center reports %s as the active antivirus with real-time protection on.", defRow.Name),
			fmt.Sprintf("安全中心报告 %s 是当前生效的防病毒软件，实时保护已开启。", defRow.Name)), facts(scEv, "product", defRow.Name)))
	}

	if len(unconfirmed) > 0 {
		return done(checks.Unknown(i18n.T(
			fmt.Sprintf("Security Center reports %s as on, but herd could not confirm the product is still installed (Security Center keeps rows of uninstalled products).", strings.Join(unconfirmed, ", ")),
			fmt.Sprintf("安全中心报告 %s 已开启，但 herd 无法确认该产品仍已安装（安全中心会保留已卸载产品的记录）。", strings.Join(unconfirmed, "、"))), scEv))
	}

	// 4. Products that are installed but not protecting.
	var off []string
	unreadable := false
	for _, p := range prods {
		if p.present == presentNo {
			continue
		}
		if !p.StateReadable || p.State.Scanner == ScannerUnknown {
			unreadable = true
			continue
		}
		if p.IsDefender() && mp != nil && mp.Passive() {
			continue
		}
		off = append(off, fmt.Sprintf("%s (%s)", p.Name, p.State.Scanner))
	}

	// 5. Defender stands down for a product herd cannot see.
	if mp != nil && mp.Passive() {
		if names := recognise(procs, windowsProducts); len(names) > 0 {
			return done(checks.Pass(i18n.T(
				fmt.Sprintf("%s is running and Microsoft Defender stands down for it (passive mode).", strings.Join(names, ", ")),
				fmt.Sprintf("%s 正在运行，Microsoft Defender 为其让位（被动模式）。", strings.Join(names, "、"))),
				facts(checks.Evidence("processes", health.OSReported), "product", names[0])))
		}
		if len(off) > 0 {
			v.noEngine = noActiveEngine(scEv, details)
			return done(checks.Fail(i18n.T(
				fmt.Sprintf("Microsoft Defender stands down (passive mode) for another product, but that product's real-time protection is not on: %s.", strings.Join(off, ", ")),
				fmt.Sprintf("Microsoft Defender 为其他产品让位（被动模式），但该产品的实时保护未开启：%s。", strings.Join(off, "、"))),
				scEv, defenderOnFix))
		}
		return done(checks.Unknown(i18n.T(
			"Microsoft Defender is in passive mode, standing down for another antivirus product that herd could not see, so herd cannot tell whether that product protects this device.",
			"Microsoft Defender 处于被动模式，为 herd 无法识别的其他防病毒产品让位，因此 herd 无法判断该产品是否在保护本设备。"), mpEv))
	}
	if len(off) > 0 {
		v.noEngine = noActiveEngine(scEv, details)
		return done(checks.Fail(i18n.T(
			fmt.Sprintf("No antivirus is protecting this device in real time: %s.", strings.Join(off, ", ")),
			fmt.Sprintf("没有防病毒软件在实时保护本设备：%s。", strings.Join(off, "、"))), scEv, defenderOnFix))
	}
	if unreadable {
		return done(checks.Unknown(i18n.T(
			"Security Center lists an antivirus product whose state herd cannot read.",
			"安全中心列出了一个 herd 无法读取其状态的防病毒产品。"), scEv))
	}
	// 6. Security Center read, and it lists nothing that protects.
	if wmiErr == nil {
		v.noEngine = noActiveEngine(scEv, details)
		return done(checks.Fail(i18n.T(
			"Windows Security Center lists no installed antivirus product, so nothing protects this device from malware.",
			"Windows 安全中心未列出任何已安装的防病毒产品，本设备没有恶意软件防护。"), scEv,
			i18n.T("Turn on Microsoft Defender Antivirus (Windows Security > Virus & threat protection > Manage settings > Real-time protection) or install an antivirus product.",
				"开启 Microsoft Defender 防病毒（Windows 安全中心 > 病毒和威胁防护 > 管理设置 > 实时保护），或安装防病毒产品。")))
	}
	// 7. Nothing readable.
	return done(checks.Unknown(i18n.T(
		"herd could not read the antivirus state: Defender's status is unavailable and Security Center could not be read.",
		"herd 无法读取防病毒状态：Defender 状态不可用，且无法读取安全中心。"), mpEv))
}

// noSecurityCenter reports whether err says the SecurityCenter2
// namespace or class does not exist (Windows Server).
func noSecurityCenter(err error) bool {
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "invalid namespace") || strings.Contains(s, "invalid class") || strings.Contains(s, "0x8004100e") || strings.Contains(s, "0x80041010")
}

func isServer(src source.Source) bool {
	vals, err := src.Registry(winVersionKey)
	if err != nil {
		return false
	}
	if t, ok := vals["InstallationType"].Value.(string); ok && strings.EqualFold(t, "Server") {
		return true
	}
	return false
}

// productPresent decides whether a Security Center row's product still
// exists: a running process with that executable or a readable file.
func productPresent(src source.Source, procs []source.Process, p WSCProduct) presence {
	if strings.HasPrefix(strings.ToLower(p.ProductExe), "windowsdefender:") {
		return presentYes
	}
	path, ok := expandWinPath(p.ProductExe)
	if !ok {
		return presentUnknown
	}
	for _, pr := range procs {
		if pr.Exe != "" && strings.EqualFold(pr.Exe, path) {
			return presentYes
		}
	}
	_, err := src.HashFile(path)
	switch {
	case err == nil:
		return presentYes
	case errors.Is(err, fs.ErrNotExist):
		return presentNo
	}
	return presentUnknown
}

// expandWinPath expands the environment variables Security Center paths
// use, with their default values; ok is false for any other variable.
func expandWinPath(p string) (string, bool) {
	p = strings.Trim(strings.TrimSpace(p), `"`)
	if p == "" {
		return "", false
	}
	vars := map[string]string{
		"%programfiles%":      `C:\Program Files`,
		"%programfiles(x86)%": `C:\Program Files (x86)`,
		"%programw6432%":      `C:\Program Files`,
		"%programdata%":       `C:\ProgramData`,
		"%systemroot%":        `C:\Windows`,
		"%windir%":            `C:\Windows`,
	}
	for {
		i := strings.Index(p, "%")
		if i < 0 {
			break
		}
		j := strings.Index(p[i+1:], "%")
		if j < 0 {
			return "", false
		}
		name := strings.ToLower(p[i : i+j+2])
		val, ok := vars[name]
		if !ok {
			return "", false
		}
		p = p[:i] + val + p[i+j+2:]
	}
	if len(p) < 3 || p[1] != ':' {
		return "", false
	}
	return p, true
}

func findDefender(prods []wscProduct) *wscProduct {
	for i := range prods {
		if prods[i].IsDefender() && prods[i].present != presentNo {
			return &prods[i]
		}
	}
	return nil
}

func facts(ev health.Evidence, k string, v any) health.Evidence {
	ev.Facts = map[string]any{k: v}
	return ev
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

func boolWord(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "on"
	}
	return "off"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
