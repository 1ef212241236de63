// Package diskencryption is the disk_encryption check: the system volume
// is encrypted and its key is protected. It reads LUKS/dm-crypt on Linux
// (the block-device tree under the root file system), BitLocker on
// Windows and FileVault on macOS.
//
// Rules, per platform:
//
//   - Linux: the device mounted at "/" must have a dm-crypt ("crypt")
//     device among its ancestors on every path up the tree (LVM on LUKS,
//     btrfs or ZFS on LUKS, whole-disk LUKS all pass). When /home is a
//     separate mount on another block device it must be encrypted too,
//     since that is where the user's data lives; /boot, /boot/efi and
//     other mounts are not judged. A root on an overlay or other
//     non-block file system (a container, a live system) is
//     not_applicable: the disk belongs to a host this check cannot see.
//     A crypt mapping with the null cipher is not encryption.
//   - Windows: the conversion state of the system drive is the
//     authority; a cached "Protection On" on a fully decrypted volume
//     fails. A fully encrypted volume with protection off (suspended) fails
//     with "resume BitLocker protection".
//   - macOS: FileVault On passes; Off, decrypting and deferred
//     enablement fail. Apple silicon and T2 internal storage is always
//     hardware-encrypted, but that is not FileVault and does not pass.
//
// Encryption in progress (BitLocker encrypting or paused, FileVault "On"
// with "Encryption in progress", including "Pending" while on battery)
// fails on every platform: part of the data is still in the clear, and
// the remediation is to keep the device on power until it finishes. The
// certificate is short-lived, so the device passes at the first check
// after the conversion completes.
package diskencryption

import (
	"context"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/source"
)

// probes lists what the check reads on goos.
func probes(goos string) []source.Probe {
	switch goos {
	case "linux":
		return []source.Probe{
			source.File("/proc/mounts"),
			source.Command(lsblkJSON...),
			source.Command(lsblkText...),
			source.Command("cryptsetup", "status", "<crypt mapping>"),
			source.Command("cryptsetup", "luksDump", "<device under the mapping>"),
			source.Dir("/sys/block"),
			source.File("/sys/block/<dm device>/dm/name"),
			source.File("/sys/block/<dm device>/dm/uuid"),
			source.Dir("/sys/block/<dm device>/slaves"),
		}
	case "windows":
		return []source.Probe{
			source.RegistryKey(windowsCurrentVersion, "SystemRoot"),
			source.Command("manage-bde", "-status", "<system drive>"),
			source.Command(bitlockerPS("<system drive>")...),
			source.WMIClass(encryptableVolumeClass),
		}
	case "darwin":
		return []source.Probe{source.Command("fdesetup", "status")}
	}
	return nil
}

// New returns the check.
func New() checks.Check {
	return checks.ByOS{
		CheckID: health.DiskEncryption,
		Linux: checks.OSFunc(func() []source.Probe { return probes("linux") },
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result { return runLinux(ctx, src) }),
		Windows: checks.OSFunc(func() []source.Probe { return probes("windows") },
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result {
				return runWindows(ctx, src)
			}),
		Darwin: checks.OSFunc(func() []source.Probe { return probes("darwin") },
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result { return runDarwin(ctx, src) }),
	}
}
