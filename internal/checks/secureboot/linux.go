package secureboot

import (
	"context"
	"errors"
	"io/fs"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// What the Linux check reads. The GUIDs are the UEFI global variable
// namespace (EFI_GLOBAL_VARIABLE) and shim's MOK namespace.
const (
	sysFirmware   = "/sys/firmware"
	sysEFI        = "/sys/firmware/efi"
	efivarSecure  = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
	efivarSetup   = "/sys/firmware/efi/efivars/SetupMode-8be4df61-93ca-11d2-aa0d-00e098032b8c"
	efivarMokSB   = "/sys/firmware/efi/efivars/MokSBStateRT-605dab50-e046-4300-abb6-3dd810dd8b23"
	efivarsSource = "efivarfs SecureBoot variable"
)

var mokutilArgv = []string{"mokutil", "--sb-state"}

func linuxProbes() []source.Probe {
	return []source.Probe{
		source.Dir(sysFirmware),
		source.Dir(sysEFI),
		source.File(efivarSecure),
		source.File(efivarSetup),
		source.File(efivarMokSB),
		source.Command(mokutilArgv...),
	}
}

var (
	linuxFix = i18n.T(
		"Turn on Secure Boot in the computer's firmware settings (UEFI setup, usually reached by pressing F2, F10, F12 or Del while the computer starts): enable Secure Boot, keeping the standard (factory) keys. Most Linux distributions boot with Secure Boot through their signed shim; check with mokutil --sb-state afterwards.",
		"在电脑固件设置中开启安全启动（UEFI 设置，通常在开机时按 F2、F10、F12 或 Del 进入）：启用 Secure Boot，并保留标准（出厂）密钥。大多数 Linux 发行版通过已签名的 shim 支持安全启动；完成后可用 mokutil --sb-state 确认。")
	linuxSetupFix = i18n.T(
		"In the computer's firmware settings (UEFI setup), restore the factory Secure Boot keys (often \"Restore Factory Keys\" or \"Install default Secure Boot keys\"), then enable Secure Boot.",
		"在电脑固件设置（UEFI 设置）中恢复出厂安全启动密钥（通常为“Restore Factory Keys”或“Install default Secure Boot keys”），然后启用安全启动。")
	shimFix = i18n.T(
		"Secure Boot is on in the firmware, but shim was told not to verify what it starts. Turn verification back on with: sudo mokutil --enable-validation, then reboot and confirm in the blue MOK manager screen.",
		"固件中已开启安全启动，但 shim 被设置为不验证其启动的内容。运行 sudo mokutil --enable-validation 重新开启验证，然后重启并在蓝色的 MOK 管理界面中确认。")
)

func runLinux(ctx context.Context, src source.Source) checks.Result {
	// The firmware's variables, as the kernel shows them: reported by the
	// operating system, not attested by hardware.
	hw := checks.Evidence(efivarsSource, health.OSReported)
	var details []string

	if _, err := src.ReadDir(sysEFI); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r := checks.Unknown(i18n.T(
				"Could not read the firmware's UEFI information ("+sysEFI+": "+fileErr(err)+").",
				"无法读取固件的 UEFI 信息（"+sysEFI+"："+fileErr(err)+"）。"), checks.Evidence(sysEFI, health.OSReported))
			return r
		}
		// No /sys/firmware/efi: legacy BIOS, unless /sys/firmware itself
		// is hidden (a sandbox showing none of the firmware).
		names, ferr := src.ReadDir(sysFirmware)
		if ferr != nil || len(names) == 0 {
			r := checks.Unknown(i18n.T(
				"Could not tell how this machine boots: the firmware information in /sys/firmware is hidden (as in some containers).",
				"无法确定本机的启动方式：/sys/firmware 中的固件信息被隐藏（某些容器中会这样）。"),
				checks.Evidence(sysFirmware, health.OSReported))
			r.Details = []string{sysEFI + ": missing", sysFirmware + ": empty or unreadable"}
			return r
		}
		r := checks.NotApplicable(reasonNoUEFI, checks.Evidence(sysEFI, health.OSReported))
		r.Details = []string{sysEFI + ": missing (no UEFI)"}
		return r
	}

	// Firmware variables first.
	sb, err := src.ReadFile(efivarSecure)
	if err == nil {
		enabled, perr := ParseEFIBool(sb)
		if perr == nil {
			details = append(details, "SecureBoot variable: "+onOff(enabled))
			setup := false
			if b, serr := src.ReadFile(efivarSetup); serr == nil {
				if v, perr := ParseEFIBool(b); perr == nil {
					setup = v
					details = append(details, "SetupMode variable: "+map[bool]string{true: "setup mode", false: "user mode"}[v])
				}
			}
			hw.Facts = map[string]any{"secure_boot": enabled, "setup_mode": setup}
			var r checks.Result
			switch {
			case setup:
				r = checks.Fail(reasonSetup, hw, linuxSetupFix)
			case !enabled:
				r = checks.Fail(reasonOff, hw, linuxFix)
			default:
				if b, merr := src.ReadFile(efivarMokSB); merr == nil {
					if v, perr := ParseEFIVar(b); perr == nil && v == 1 {
						details = append(details, "shim validation: disabled (MokSBStateRT)")
						r = checks.Fail(i18n.T(
							"Secure Boot is on in the firmware, but the shim boot loader does not verify what it starts, so a tampered kernel would still boot.",
							"固件中已开启安全启动，但 shim 引导程序不验证其启动的内容，被篡改的内核仍会被启动。"), hw, shimFix)
						r.Details = details
						return r
					}
				}
				r = checks.Pass(reasonOn, hw)
			}
			r.Details = details
			return r
		}
		details = append(details, "SecureBoot variable: unreadable ("+perr.Error()+")")
	} else {
		details = append(details, "SecureBoot variable: "+fileErr(err))
	}

	// Then mokutil.
	ev := checks.Evidence("mokutil --sb-state", health.OSReported)
	out, rerr := src.Run(ctx, mokutilArgv...)
	if rerr != nil {
		details = append(details, "mokutil: "+runErr(rerr))
		r := checks.Unknown(i18n.T(
			"Could not read the Secure Boot state: the firmware variable could not be read and mokutil is not available.",
			"无法读取安全启动状态：无法读取固件变量，且 mokutil 不可用。"), checks.Evidence(efivarsSource, health.OSReported))
		r.Details = details
		return r
	}
	m := ParseMokutil(out.Stdout + "\n" + out.Stderr)
	details = append(details, "mokutil: "+firstLine(out.Stdout+"\n"+out.Stderr))
	var r checks.Result
	switch {
	case m.NoEFI:
		r = checks.NotApplicable(reasonNoUEFI, ev)
	case m.SetupMode:
		r = checks.Fail(reasonSetup, ev, linuxSetupFix)
	case m.Enabled && m.ShimValidationOff:
		r = checks.Fail(i18n.T(
			"Secure Boot is on in the firmware, but the shim boot loader does not verify what it starts, so a tampered kernel would still boot.",
			"固件中已开启安全启动，但 shim 引导程序不验证其启动的内容，被篡改的内核仍会被启动。"), ev, shimFix)
	case m.Enabled:
		r = checks.Pass(reasonOn, ev)
	case m.Disabled:
		r = checks.Fail(reasonOff, ev, linuxFix)
	case m.Unsupported:
		r = checks.Fail(i18n.T(
			"This machine's UEFI firmware does not support Secure Boot, so nothing is verified at boot.",
			"本机的 UEFI 固件不支持安全启动，启动时不做任何验证。"), ev, i18n.T(
			"Look for a firmware (UEFI/BIOS) update from the computer's maker that adds Secure Boot, then enable it in the firmware settings.",
			"向电脑厂商查找增加安全启动支持的固件（UEFI/BIOS）更新，然后在固件设置中启用它。"))
	case permissionDenied(out):
		r = checks.Unknown(i18n.T(
			"Could not read the Secure Boot state: mokutil was not allowed to read the firmware variables.",
			"无法读取安全启动状态：mokutil 无权读取固件变量。"), ev)
	default:
		r = checks.Unknown(i18n.T(
			"Could not read the Secure Boot state: mokutil gave an answer herd does not recognise.",
			"无法读取安全启动状态：mokutil 的输出无法识别。"), ev)
	}
	r.Details = details
	return r
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}
