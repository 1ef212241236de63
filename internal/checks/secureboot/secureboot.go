// Package secureboot implements the secure_boot check: does the firmware
// verify what it boots?
//
// Linux reads the UEFI variables SecureBoot and SetupMode from efivarfs
// (the firmware's state as the kernel shows it, so os_reported), then
// `mokutil --sb-state`. A machine with no /sys/firmware/efi boots without
// UEFI: not applicable. Windows reads the SecureBoot\State registry key
// and Confirm-SecureBootUEFI. On macOS, see darwin.go for the rule.
package secureboot

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

// New returns the secure_boot check.
func New() checks.Check {
	return checks.ByOS{
		CheckID: health.SecureBoot,
		Linux: checks.OSFunc(linuxProbes,
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result { return runLinux(ctx, src) }),
		Windows: checks.OSFunc(windowsProbes,
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result {
				return runWindows(ctx, src)
			}),
		Darwin: checks.OSFunc(darwinProbes,
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result { return runDarwin(ctx, src) }),
	}
}

// ParseEFIVar reads an efivarfs file: four bytes of attributes, then the
// value. It returns the first value byte.
func ParseEFIVar(b []byte) (byte, error) {
	if len(b) < 5 {
		return 0, fmt.Errorf("efi variable is %d bytes, want at least 5 (4 attribute bytes and a value)", len(b))
	}
	return b[4], nil
}

// ParseEFIBool reads a one-byte boolean UEFI variable (SecureBoot,
// SetupMode): 0 or 1, anything else is an error.
func ParseEFIBool(b []byte) (bool, error) {
	v, err := ParseEFIVar(b)
	if err != nil {
		return false, err
	}
	switch v {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("efi variable value %d is not 0 or 1", v)
}

// MokState is what `mokutil --sb-state` says.
type MokState struct {
	// Enabled, Disabled: the "SecureBoot enabled|disabled" line.
	Enabled, Disabled bool
	// SetupMode: "Platform is in Setup Mode".
	SetupMode bool
	// NoEFI: "EFI variables are not supported on this system" (legacy BIOS).
	NoEFI bool
	// Unsupported: "This system doesn't support Secure Boot".
	Unsupported bool
	// ShimValidationOff: "SecureBoot validation is disabled in shim".
	ShimValidationOff bool
}

// Known reports whether the output said anything the parser knows.
func (m MokState) Known() bool {
	return m.Enabled || m.Disabled || m.SetupMode || m.NoEFI || m.Unsupported
}

// ParseMokutil reads the output (stdout and stderr) of `mokutil --sb-state`.
func ParseMokutil(text string) MokState {
	var m MokState
	for _, l := range strings.Split(text, "\n") {
		l = strings.ToLower(strings.TrimSpace(l))
		switch {
		case l == "secureboot enabled":
			m.Enabled = true
		case l == "secureboot disabled":
			m.Disabled = true
		case strings.Contains(l, "setup mode"):
			m.SetupMode = true
		case strings.Contains(l, "efi variables are not supported"):
			m.NoEFI = true
		case strings.Contains(l, "doesn't support secure boot") || strings.Contains(l, "does not support secure boot"):
			m.Unsupported = true
		case strings.Contains(l, "validation is disabled in shim"):
			m.ShimValidationOff = true
		}
	}
	return m
}

// Shared reasons.
var (
	reasonOn = i18n.T(
		"UEFI Secure Boot is on: the firmware only starts a signed, trusted boot loader and operating system.",
		"UEFI 安全启动已开启：固件只会启动经过签名、受信任的引导程序和操作系统。")
	reasonOff = i18n.T(
		"UEFI Secure Boot is off: the firmware would start a tampered boot loader or a bootkit without noticing.",
		"UEFI 安全启动已关闭：固件会在毫无察觉的情况下启动被篡改的引导程序或引导区恶意软件。")
	reasonSetup = i18n.T(
		"The firmware is in Secure Boot setup mode: no platform key is enrolled, so nothing is verified at boot and anyone can enroll their own keys.",
		"固件处于安全启动设置模式：未注册平台密钥，启动时不做任何验证，任何人都可以注册自己的密钥。")
	reasonNoUEFI = i18n.T(
		"This machine boots without UEFI (legacy BIOS), so UEFI Secure Boot does not exist here.",
		"本机不使用 UEFI 启动（传统 BIOS），因此不存在 UEFI 安全启动。")
)

// fileErr says why a file could not be read, for a detail.
func fileErr(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

func runErr(err error) string {
	switch {
	case errors.Is(err, source.ErrNotFound):
		return "not installed"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, source.ErrUnsupported):
		return "not supported here"
	}
	return "could not run: " + err.Error()
}

func permissionDenied(out source.Output) bool {
	t := strings.ToLower(out.Stdout + "\n" + out.Stderr)
	for _, w := range []string{"permission denied", "operation not permitted", "must be run as root", "must be root", "access was denied", "access is denied", "administrator privileges", "requires root"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if r := []rune(l); len(r) > 120 {
				l = string(r[:120]) + "…"
			}
			return l
		}
	}
	return ""
}
