package diskencryption

import (
	"context"
	"fmt"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

const (
	windowsCurrentVersion  = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	encryptableVolumeClass = "root/CIMV2/Security/MicrosoftVolumeEncryption:Win32_EncryptableVolume"
)

// bitlockerPS is the PowerShell command that reports one volume, with
// enums turned into their names so the output does not depend on the
// PowerShell version's enum serialisation.
func bitlockerPS(drive string) []string {
	return []string{"powershell", "-NoProfile", "-NonInteractive", "-Command",
		"Get-BitLockerVolume -MountPoint " + drive +
			" | Select-Object MountPoint,EncryptionPercentage,EncryptionMethod," +
			"@{n='VolumeStatus';e={[string]$_.VolumeStatus}}," +
			"@{n='ProtectionStatus';e={[string]$_.ProtectionStatus}}," +
			"@{n='KeyProtector';e={@($_.KeyProtector | ForEach-Object {[string]$_.KeyProtectorType})}}" +
			" | ConvertTo-Json -Compress"}
}

// systemDrive reads the drive Windows is installed on from SystemRoot;
// "C:" when it cannot be read.
func systemDrive(src source.Source) string {
	if vals, err := src.Registry(windowsCurrentVersion); err == nil {
		if v, ok := vals["SystemRoot"].Value.(string); ok && len(v) >= 2 && v[1] == ':' {
			return strings.ToUpper(v[:2])
		}
	}
	return "C:"
}

func runWindows(ctx context.Context, src source.Source) checks.Result {
	drive := systemDrive(src)
	var details []string
	type reader struct {
		name string
		read func() (BitLocker, error)
	}
	readers := []reader{
		{"manage-bde", func() (BitLocker, error) {
			out, err := src.Run(ctx, "manage-bde", "-status", drive)
			if err != nil || !out.OK() {
				return BitLocker{}, fmt.Errorf("%s", runError(out, err))
			}
			return ParseManageBDE(out.Stdout)
		}},
		{"Get-BitLockerVolume", func() (BitLocker, error) {
			out, err := src.Run(ctx, bitlockerPS(drive)...)
			if err != nil || !out.OK() {
				return BitLocker{}, fmt.Errorf("%s", runError(out, err))
			}
			return ParseBitLockerJSON(strings.NewReader(out.Stdout), drive)
		}},
		{"Win32_EncryptableVolume", func() (BitLocker, error) {
			insts, err := src.WMI(ctx, encryptableVolumeClass)
			if err != nil {
				return BitLocker{}, err
			}
			return BitLockerFromWMI(insts, drive)
		}},
	}
	for _, r := range readers {
		bl, err := r.read()
		if err != nil {
			details = append(details, r.name+": "+err.Error())
			continue
		}
		return judgeBitLocker(bl, drive, r.name, details)
	}
	r := checks.Unknown(i18n.T(
		"Could not read BitLocker's state of the system drive (reading it needs administrator rights).",
		"无法读取系统盘的 BitLocker 状态（读取需要管理员权限）。"),
		checks.Evidence("manage-bde", health.OSReported))
	r.Details = details
	return r
}

func judgeBitLocker(bl BitLocker, drive, from string, details []string) checks.Result {
	ev := checks.Evidence(from, health.OSReported)
	ev.Facts = map[string]any{"conversion_status": string(bl.Conversion)}
	if bl.Protection != "" {
		ev.Facts["protection_status"] = string(bl.Protection)
	}
	if bl.Percent >= 0 {
		ev.Facts["percent_encrypted"] = bl.Percent
	}
	if bl.Method != "" && !strings.EqualFold(bl.Method, "None") {
		ev.Facts["encryption_method"] = bl.Method
	}
	if len(bl.Protectors) > 0 {
		ev.Facts["key_protectors"] = strings.Join(bl.Protectors, ", ")
	}
	details = append(details, fmt.Sprintf("%s %s: conversion %s, protection %s", from, drive, bl.Conversion, orNone(string(bl.Protection))))
	fixTurnOn := i18n.T(
		fmt.Sprintf("Turn on BitLocker for %s: Settings > Privacy & security > Device encryption, or Control Panel > BitLocker Drive Encryption > Turn on BitLocker (or run `manage-bde -on %s` as administrator). Keep the recovery key somewhere safe.", drive, drive),
		fmt.Sprintf("为 %s 启用 BitLocker：设置 > 隐私和安全性 > 设备加密，或 控制面板 > BitLocker 驱动器加密 > 启用 BitLocker（或以管理员身份运行 `manage-bde -on %s`）。请妥善保管恢复密钥。", drive, drive))
	fail := func(en, zh string, fix i18n.Text) checks.Result {
		r := checks.Fail(i18n.T(en, zh), ev, fix)
		r.Details = details
		return r
	}
	switch bl.Conversion {
	case FullyDecrypted:
		if bl.Protection == ProtectionOn {
			details = append(details, "protection status says On, but the volume is fully decrypted: the conversion state wins")
		}
		return fail(
			fmt.Sprintf("BitLocker is off: the system drive %s is not encrypted.", drive),
			fmt.Sprintf("BitLocker 未启用：系统盘 %s 未加密。", drive), fixTurnOn)
	case DecryptionInProgress, DecryptionPaused:
		return fail(
			fmt.Sprintf("BitLocker is being turned off: the system drive %s is being decrypted.", drive),
			fmt.Sprintf("BitLocker 正在关闭：系统盘 %s 正在解密。", drive), fixTurnOn)
	case EncryptionInProgress, EncryptionPaused:
		pct, pctZh := "", ""
		if bl.Percent >= 0 {
			pct = fmt.Sprintf(" (%.1f%% done)", bl.Percent)
			pctZh = fmt.Sprintf("（已完成 %.1f%%）", bl.Percent)
		}
		fix := i18n.T(
			"Keep the computer on and plugged in until BitLocker finishes encrypting; if encryption is paused, resume it with `manage-bde -resume "+drive+"` as administrator.",
			"请保持计算机开机并接通电源，直到 BitLocker 完成加密；如果加密已暂停，请以管理员身份运行 `manage-bde -resume "+drive+"` 继续加密。")
		return fail(
			fmt.Sprintf("BitLocker is still encrypting the system drive %s%s; until it finishes, part of the disk is not protected.", drive, pct),
			fmt.Sprintf("BitLocker 仍在加密系统盘 %s%s；完成之前，部分磁盘数据未受保护。", drive, pctZh), fix)
	case FullyEncrypted:
		switch bl.Protection {
		case ProtectionOn:
			r := checks.Pass(i18n.T(
				fmt.Sprintf("The system drive %s is encrypted with BitLocker and protection is on.", drive),
				fmt.Sprintf("系统盘 %s 已使用 BitLocker 加密，且保护已开启。", drive)), ev)
			r.Details = details
			return r
		case ProtectionOff:
			return fail(
				fmt.Sprintf("BitLocker protection is suspended on %s: the drive is encrypted, but its key is stored in the clear, so anyone with the disk can read it.", drive),
				fmt.Sprintf("%s 上的 BitLocker 保护已暂停：驱动器虽已加密，但密钥以明文存放，任何拿到磁盘的人都能读取数据。", drive),
				i18n.T(
					fmt.Sprintf("Resume BitLocker protection: Control Panel > BitLocker Drive Encryption > Resume protection, or run `Resume-BitLocker -MountPoint %s` (or `manage-bde -protectors -enable %s`) as administrator.", drive, drive),
					fmt.Sprintf("恢复 BitLocker 保护：控制面板 > BitLocker 驱动器加密 > 恢复保护，或以管理员身份运行 `Resume-BitLocker -MountPoint %s`（或 `manage-bde -protectors -enable %s`）。", drive, drive)))
		}
	}
	r := checks.Unknown(i18n.T(
		fmt.Sprintf("The system drive %s is encrypted, but BitLocker did not report whether its protection is on.", drive),
		fmt.Sprintf("系统盘 %s 已加密，但 BitLocker 未报告其保护是否开启。", drive)), ev)
	r.Details = details
	return r
}

func orNone(s string) string {
	if s == "" {
		return "not reported"
	}
	return s
}
