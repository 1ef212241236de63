package secureboot

import (
	"context"
	"strconv"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// What the Windows check reads.
const (
	sbStateKey = `HKLM\SYSTEM\CurrentControlSet\Control\SecureBoot\State`
	// PEFirmwareType: 1 BIOS, 2 UEFI.
	controlKey = `HKLM\SYSTEM\CurrentControlSet\Control`
)

var confirmArgv = []string{"powershell", "-NoProfile", "-NonInteractive", "-Command", "Confirm-SecureBootUEFI"}

func windowsProbes() []source.Probe {
	return []source.Probe{
		source.RegistryKey(sbStateKey, "UEFISecureBootEnabled"),
		source.RegistryKey(controlKey, "PEFirmwareType"),
		source.Command(confirmArgv...),
	}
}

var windowsFix = i18n.T(
	"Turn on Secure Boot in the PC's firmware settings: Settings > System > Recovery > Advanced startup > Restart now, then Troubleshoot > Advanced options > UEFI Firmware Settings, and enable Secure Boot (with the standard keys). If the PC starts in legacy BIOS/CSM mode, the system disk must be converted to GPT first (mbr2gpt) and the firmware switched to UEFI.",
	"在电脑固件设置中开启安全启动：设置 > 系统 > 恢复 > 高级启动 > 立即重新启动，然后选择 疑难解答 > 高级选项 > UEFI 固件设置，启用安全启动（使用标准密钥）。如果电脑以传统 BIOS/CSM 模式启动，需要先将系统盘转换为 GPT（mbr2gpt），并将固件切换为 UEFI。")

// ConfirmResult is what Confirm-SecureBootUEFI says.
type ConfirmResult int

const (
	ConfirmUnfamiliar ConfirmResult = iota
	ConfirmTrue
	ConfirmFalse
	ConfirmNotUEFI  // "Cmdlet not supported on this platform": legacy BIOS
	ConfirmNoAccess // needs administrator rights
)

// ParseConfirmSecureBootUEFI reads Confirm-SecureBootUEFI's stdout and stderr.
func ParseConfirmSecureBootUEFI(stdout, stderr string) ConfirmResult {
	switch strings.ToLower(strings.TrimSpace(stdout)) {
	case "true":
		return ConfirmTrue
	case "false":
		return ConfirmFalse
	}
	e := strings.ToLower(stdout + "\n" + stderr)
	switch {
	case strings.Contains(e, "not supported on this platform"):
		return ConfirmNotUEFI
	case strings.Contains(e, "access was denied") || strings.Contains(e, "access is denied") || strings.Contains(e, "administrator privileges"):
		return ConfirmNoAccess
	}
	return ConfirmUnfamiliar
}

func runWindows(ctx context.Context, src source.Source) checks.Result {
	var details []string
	regEv := checks.Evidence(sbStateKey, health.OSReported)

	// Legacy BIOS, by the firmware type Windows recorded at boot.
	if vals, err := src.Registry(controlKey); err == nil {
		if v, ok := regDWORD(vals, "PEFirmwareType"); ok {
			details = append(details, "PEFirmwareType: "+strconv.FormatUint(v, 10)+map[uint64]string{1: " (BIOS)", 2: " (UEFI)"}[v])
			if v == 1 {
				r := checks.NotApplicable(reasonNoUEFI, checks.Evidence(controlKey+` PEFirmwareType`, health.OSReported))
				r.Details = details
				return r
			}
		}
	}

	regState := -1
	if vals, err := src.Registry(sbStateKey); err == nil {
		if v, ok := regDWORD(vals, "UEFISecureBootEnabled"); ok {
			regState = int(min(v, 1))
			details = append(details, "UEFISecureBootEnabled: "+strconv.FormatUint(v, 10))
		}
	} else {
		details = append(details, "SecureBoot\\State: "+fileErr(err))
	}
	if regState == 1 {
		r := checks.Pass(reasonOn, regEv)
		r.Details = details
		return r
	}

	ev := checks.Evidence("Confirm-SecureBootUEFI", health.OSReported)
	out, err := src.Run(ctx, confirmArgv...)
	res := ConfirmUnfamiliar
	if err != nil {
		details = append(details, "Confirm-SecureBootUEFI: "+runErr(err))
	} else {
		res = ParseConfirmSecureBootUEFI(out.Stdout, out.Stderr)
		details = append(details, "Confirm-SecureBootUEFI: "+firstLine(out.Stdout+"\n"+out.Stderr))
	}
	var r checks.Result
	switch {
	case res == ConfirmTrue:
		r = checks.Pass(reasonOn, ev)
	case res == ConfirmFalse:
		r = checks.Fail(reasonOff, ev, windowsFix)
	case res == ConfirmNotUEFI:
		r = checks.NotApplicable(reasonNoUEFI, ev)
	case regState == 0:
		r = checks.Fail(reasonOff, regEv, windowsFix)
	case res == ConfirmNoAccess:
		r = checks.Unknown(i18n.T(
			"Could not read the Secure Boot state: Confirm-SecureBootUEFI needs administrator rights and the registry did not say.",
			"无法读取安全启动状态：Confirm-SecureBootUEFI 需要管理员权限，且注册表中没有相关信息。"), ev)
	default:
		r = checks.Unknown(i18n.T(
			"Could not read the Secure Boot state from the registry or Confirm-SecureBootUEFI.",
			"无法从注册表或 Confirm-SecureBootUEFI 读取安全启动状态。"), ev)
	}
	r.Details = details
	return r
}

func regDWORD(vals map[string]source.RegValue, name string) (uint64, bool) {
	v, ok := vals[name]
	if !ok {
		return 0, false
	}
	switch n := v.Value.(type) {
	case uint64:
		return n, true
	case uint32:
		return uint64(n), true
	case int:
		return uint64(n), n >= 0
	case float64:
		return uint64(n), n >= 0
	}
	return 0, false
}
