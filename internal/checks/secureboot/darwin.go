package secureboot

import (
	"context"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// The macOS rule. Macs have no UEFI Secure Boot setting of their own;
// the equivalent is Apple's secure boot, which exists only on Apple
// silicon and on Intel Macs with a T2 chip.
//
//   - Which kind of Mac: `sysctl -n hw.optional.arm64` is 1 on Apple
//     silicon (also for a translated Intel binary, unlike `uname -m`);
//     on an Intel Mac the key is missing or 0.
//   - Apple silicon: `bputil -d` (needs root) shows the LocalPolicy's
//     security mode. Full and Reduced Security pass (only Apple-signed
//     operating systems boot); Permissive Security fails (it allows
//     unsigned kernel code and turning off system integrity). Without
//     root or with an unfamiliar output: unknown.
//   - Intel: `system_profiler SPiBridgeDataType` names the T2 chip. With
//     no T2 there is no secure boot to turn on: not applicable. With a
//     T2, a "Secure Boot:" line of Full or Medium Security passes, No
//     Security fails, and no such line is unknown (the policy is only
//     shown by Startup Security Utility in recoveryOS).
//   - When nothing can be read: unknown.

var (
	arm64Argv    = []string{"sysctl", "-n", "hw.optional.arm64"}
	bputilArgv   = []string{"bputil", "-d"}
	spBridgeArgv = []string{"system_profiler", "SPiBridgeDataType"}
)

func darwinProbes() []source.Probe {
	return []source.Probe{
		source.Command(arm64Argv...),
		source.Command(bputilArgv...),
		source.Command(spBridgeArgv...),
	}
}

var (
	appleSiliconFix = i18n.T(
		"Raise the startup security policy: shut down, hold the power button until \"Loading startup options\" appears, choose Options, then Utilities > Startup Security Utility, select the startup disk and choose Full Security (or Reduced Security if a kernel extension you need requires it).",
		"提高启动安全策略：关机后按住电源按钮，直到出现“正在载入启动选项”，选择“选项”，然后选择“实用工具 > 启动安全性实用工具”，选择启动磁盘并选择“完整安全性”（如所需的内核扩展要求，也可选择“降低安全性”）。")
	t2Fix = i18n.T(
		"Turn secure boot back on: restart holding Command-R to enter recoveryOS, choose Utilities > Startup Security Utility, and set Secure Boot to Full Security (or Medium Security).",
		"重新开启安全启动：重启时按住 Command-R 进入 recoveryOS，选择“实用工具 > 启动安全性实用工具”，将安全启动设为“完整安全性”（或“中等安全性”）。")
)

// ParseBputil reads the security mode from `bputil -d`: "Full",
// "Reduced" or "Permissive"; "" when not shown.
func ParseBputil(text string) string {
	for _, l := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k := strings.ToLower(strings.Join(strings.Fields(key), " "))
		if !strings.HasPrefix(k, "security mode") && !strings.Contains(k, "(smb0)") {
			continue
		}
		v := strings.ToLower(val)
		switch {
		case strings.Contains(v, "permissive"):
			return "Permissive"
		case strings.Contains(v, "reduced"):
			return "Reduced"
		case strings.Contains(v, "full"):
			return "Full"
		}
	}
	return ""
}

// IBridge is what `system_profiler SPiBridgeDataType` says.
type IBridge struct {
	// T2 is true when the Mac has an Apple T2 Security Chip.
	T2 bool
	// Model is the "Model Name" value, e.g. "Apple T2 Security Chip".
	Model string
	// SecureBoot is the "Secure Boot" value ("Full Security", …), if shown.
	SecureBoot string
}

// ParseSPiBridge reads `system_profiler SPiBridgeDataType`.
func ParseSPiBridge(text string) IBridge {
	var b IBridge
	for _, l := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "Model Name":
			b.Model = val
			if strings.Contains(val, "T2") {
				b.T2 = true
			}
		case "Secure Boot":
			b.SecureBoot = val
		}
	}
	return b
}

func runDarwin(ctx context.Context, src source.Source) checks.Result {
	var details []string
	arch := "" // "arm64", "intel" or ""
	if out, err := src.Run(ctx, arm64Argv...); err == nil {
		switch strings.TrimSpace(out.Stdout) {
		case "1":
			arch = "arm64"
		case "0":
			arch = "intel"
		default:
			if !out.OK() {
				arch = "intel" // the key exists only on Apple silicon capable kernels
			}
		}
		details = append(details, "hw.optional.arm64: "+map[string]string{"arm64": "1 (Apple silicon)", "intel": "absent or 0 (Intel)", "": "unreadable"}[arch])
	} else {
		details = append(details, "sysctl: "+runErr(err))
	}

	if arch != "intel" {
		ev := checks.Evidence("bputil -d", health.OSReported)
		out, err := src.Run(ctx, bputilArgv...)
		mode := ""
		if err == nil {
			mode = ParseBputil(out.Stdout + "\n" + out.Stderr)
		}
		if mode != "" {
			details = append(details, "security mode: "+mode)
			ev.Facts = map[string]any{"security_mode": mode}
			var r checks.Result
			switch mode {
			case "Full", "Reduced":
				r = checks.Pass(i18n.T(
					"Secure boot is on ("+mode+" Security): this Mac only starts operating systems signed by Apple.",
					"安全启动已开启（"+map[string]string{"Full": "完整", "Reduced": "降低"}[mode]+"安全性）：本 Mac 只启动经 Apple 签名的操作系统。"), ev)
			default:
				r = checks.Fail(i18n.T(
					"This Mac's startup security is Permissive: it can load unsigned kernel code, which a rootkit can use.",
					"本 Mac 的启动安全性为“宽松安全性”：它可以加载未签名的内核代码，可能被 rootkit 利用。"), ev, appleSiliconFix)
			}
			r.Details = details
			return r
		}
		if arch == "arm64" {
			why := "bputil -d could not be read"
			switch {
			case err != nil:
				details = append(details, "bputil: "+runErr(err))
			case permissionDenied(out) || !out.OK():
				why = "bputil -d needs administrator (root) rights"
				details = append(details, "bputil: "+firstLine(out.Stderr+"\n"+out.Stdout))
			default:
				why = "bputil -d gave an answer herd does not recognise"
			}
			r := checks.Unknown(i18n.T(
				"Could not read this Mac's startup security policy ("+why+").",
				"无法读取本 Mac 的启动安全策略（"+why+"）。"), ev)
			r.Details = details
			return r
		}
	}

	// Intel (or unknown): look for a T2 chip.
	ev := checks.Evidence("system_profiler SPiBridgeDataType", health.OSReported)
	out, err := src.Run(ctx, spBridgeArgv...)
	if err != nil || !out.OK() {
		if err != nil {
			details = append(details, "system_profiler: "+runErr(err))
		}
		r := checks.Unknown(i18n.T(
			"Could not tell whether this Mac has secure boot hardware (Apple silicon or a T2 chip).",
			"无法确定本 Mac 是否具备安全启动硬件（Apple 芯片或 T2 芯片）。"), ev)
		r.Details = details
		return r
	}
	b := ParseSPiBridge(out.Stdout)
	if b.Model != "" {
		details = append(details, "iBridge: "+b.Model)
	}
	if !b.T2 {
		if arch == "" {
			r := checks.Unknown(i18n.T(
				"Could not tell whether this Mac has secure boot hardware (Apple silicon or a T2 chip).",
				"无法确定本 Mac 是否具备安全启动硬件（Apple 芯片或 T2 芯片）。"), ev)
			r.Details = details
			return r
		}
		r := checks.NotApplicable(i18n.T(
			"This Intel Mac has no T2 security chip, so it has no secure boot to turn on.",
			"这台 Intel Mac 没有 T2 安全芯片，因此没有可开启的安全启动。"), ev)
		r.Details = details
		return r
	}
	ev.Facts = map[string]any{"chip": b.Model}
	sb := strings.ToLower(b.SecureBoot)
	var r checks.Result
	switch {
	case strings.HasPrefix(sb, "full") || strings.HasPrefix(sb, "medium"):
		ev.Facts["secure_boot"] = b.SecureBoot
		r = checks.Pass(i18n.T(
			"Secure boot is on ("+b.SecureBoot+"): the T2 chip only lets trusted operating systems start.",
			"安全启动已开启（"+b.SecureBoot+"）：T2 芯片只允许受信任的操作系统启动。"), ev)
	case strings.HasPrefix(sb, "no "):
		ev.Facts["secure_boot"] = b.SecureBoot
		r = checks.Fail(i18n.T(
			"Secure boot is off (No Security): this Mac would start any operating system, including a tampered one.",
			"安全启动已关闭（无安全性）：本 Mac 会启动任何操作系统，包括被篡改的系统。"), ev, t2Fix)
	default:
		r = checks.Unknown(i18n.T(
			"This Mac has a T2 chip, but its secure boot policy is not shown outside recoveryOS.",
			"本 Mac 有 T2 芯片，但其安全启动策略只能在 recoveryOS 中查看。"), ev)
	}
	r.Details = details
	return r
}
