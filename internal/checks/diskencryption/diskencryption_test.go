package diskencryption

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	checktest.SnapshotsAllOS(t, New(), checks.Env{})
}

func TestProbes(t *testing.T) {
	checktest.ProbesAllOS(t, New())
	if New().ID() != health.DiskEncryption {
		t.Errorf("ID = %s", New().ID())
	}
}

func raw(t testing.TB, goos, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", goos, "raw", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// summary renders devices as "name:type:fstype:parent:mounts" for comparison.
func summary(ds []BlockDevice) []string {
	var out []string
	for _, d := range ds {
		out = append(out, strings.Join([]string{d.Name, d.Type, d.FSType, d.Parent, strings.Join(d.Mounts, "+")}, ":"))
	}
	return out
}

func TestParseLsblkTree(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"lvm on luks, unicode", "lsblk-name-type-fstype-lvm-on-luks.txt", []string{
			"sda:disk:::", "sda1:part:vfat:sda:", "sda2:part:ext4:sda:", "sda3:part:crypto_LUKS:sda:",
			"sda3_crypt:crypt:LVM2_member:sda3:", "vgubuntu-root:lvm:ext4:sda3_crypt:", "vgubuntu-swap_1:lvm:swap:sda3_crypt:",
		}},
		{"btrfs on luks", "lsblk-name-type-fstype-btrfs-on-luks.txt", []string{
			"nvme1n1:disk:::", "nvme1n1p1:part:vfat:nvme1n1:", "nvme1n1p2:part:crypto_LUKS:nvme1n1:", "nixos-luks:crypt:btrfs:nvme1n1p2:",
		}},
		{"ascii tree, two disks", "lsblk-name-type-fstype-whole-disk-luks-and-ascii.txt", []string{
			"sda:disk:::", "sda1:part:crypto_LUKS:sda:", "LUKS_BOOT:crypt:ext4:sda1:", "sda2:part::sda:", "sda3:part:vfat:sda:",
			"sda5:part:crypto_LUKS:sda:", "sda5_crypt:crypt:LVM2_member:sda5:", "ubuntu--vg-swap_1:lvm:swap:sda5_crypt:",
			"ubuntu--vg-root:lvm:ext4:sda5_crypt:", "sdb:disk:crypto_LUKS::", "sdb_crypt:crypt:ext4:sdb:",
		}},
		{"unencrypted", "lsblk-name-type-fstype-unencrypted.txt", []string{
			"nvme0n1:disk:::", "nvme0n1p1:part:vfat:nvme0n1:", "nvme0n1p2:part:ext4:nvme0n1:", "nvme0n1p3:part:ext4:nvme0n1:",
		}},
		{"multi-line mountpoints", "lsblk-mountpoints-continuation.txt", []string{
			"sda:disk:::", "sda1:part:vfat:sda:/boot/efi", "sda2:part:btrfs:sda:/home+/", "sdb:disk:ext4::/srv",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := ParseLsblkTree(raw(t, "linux", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := summary(ds)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	for _, bad := range []string{"", "\n\n", "TYPE NAME\nsda disk", "NAME TYPE\n", "NAME FSTYPE\nsda ext4"} {
		if _, err := ParseLsblkTree(bad); err == nil {
			t.Errorf("ParseLsblkTree(%q): no error", bad)
		}
	}
}

func TestParseLsblkJSON(t *testing.T) {
	ds, err := ParseLsblkJSON(strings.NewReader(raw(t, "linux", "lsblk-fJ-mountpoints-array.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"nvme0n1::::", "nvme0n1p1::vfat:nvme0n1:/boot/efi", "nvme0n1p2::crypto_LUKS:nvme0n1:",
		"luks-00000000-0000-4000-8000-0000000000aa::btrfs:nvme0n1p2:/home+/",
	}
	if got := summary(ds); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
	old := `{"blockdevices": [{"name": "sda", "type": "disk", "fstype": null, "mountpoint": null,
	  "children": [{"name": "sda1", "type": "part", "fstype": "ext4", "mountpoint": "/"}]}]}`
	ds, err = ParseLsblkJSON(strings.NewReader(old))
	if err != nil || len(ds) != 2 || ds[1].Mounts[0] != "/" || ds[1].Parent != "sda" {
		t.Errorf("old single mountpoint form: %+v, %v", ds, err)
	}
	for _, bad := range []string{"", "{}", "[]", `{"blockdevices": 3}`} {
		if _, err := ParseLsblkJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseLsblkJSON(%q): no error", bad)
		}
	}
}

func TestParseMounts(t *testing.T) {
	ms := ParseMounts("/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\noverlay / overlay rw 0 0\nshort\n")
	if len(ms) != 3 || ms[1].Target != "/mnt/my disk" {
		t.Fatalf("ParseMounts = %+v", ms)
	}
	if m, ok := MountAt(ms, "/"); !ok || m.FSType != "overlay" {
		t.Errorf("MountAt / = %+v, %v; want the last mount, overlay", m, ok)
	}
	if _, ok := MountAt(ms, "/home"); ok {
		t.Error("MountAt /home found a mount that is not there")
	}
}

func TestParseLUKS(t *testing.T) {
	tr := raw(t, "linux", "case-18-luks2-opal-not-detected.transcript.txt")
	d, err := ParseLUKSDump(tr)
	if err != nil || d.Version != "2" || d.Subsystem != "HW-OPAL" {
		t.Errorf("case-18: %+v, %v", d, err)
	}
	tr = raw(t, "linux", "case-19-luks1-dump-json-metadata.transcript.txt")
	d, err = ParseLUKSDump(tr)
	if err != nil || d.Version != "1" || d.Subsystem != "" {
		t.Errorf("case-19: %+v, %v", d, err)
	}
	if _, err := ParseLUKSDump("Device /dev/sda1 is not a valid LUKS device.\n"); err == nil {
		t.Error("not a LUKS device: no error")
	}
	st, err := ParseCryptsetupStatus("/dev/mapper/x is active and is in use.\n  type:    LUKS2\n  cipher:  aes-xts-plain64\n")
	if err != nil || st.Type != "LUKS2" || st.Cipher != "aes-xts-plain64" {
		t.Errorf("status: %+v, %v", st, err)
	}
	if _, err := ParseCryptsetupStatus("/dev/mapper/x is inactive.\n"); err == nil {
		t.Error("inactive: no error")
	}
}

func TestParseFdesetupStatus(t *testing.T) {
	tests := []struct {
		file                                 string
		on, encrypting, decrypting, deferred bool
		pending, master                      bool
		percent                              float64
	}{
		{"fdesetup-status-on.txt", true, false, false, false, false, false, -1},
		{"fdesetup-status-on-master-keychain.txt", true, false, false, false, false, true, -1},
		{"case-05-fdesetup-on-ade-enrolled.txt", true, false, false, false, false, false, -1},
		{"fdesetup-status-off.txt", false, false, false, false, false, false, -1},
		{"fdesetup-status-decrypting.txt", false, false, true, false, false, false, 12},
		{"fdesetup-status-deferred-for-user.txt", false, false, false, true, false, false, -1},
		{"fdesetup-status-encrypting.txt", true, true, false, false, false, false, 42.5},
		{"fdesetup-status-encryption-pending-on-battery.txt", true, true, false, false, true, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fv, err := ParseFdesetupStatus(raw(t, "darwin", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if fv.On != tt.on || fv.Encrypting != tt.encrypting || fv.Decrypting != tt.decrypting ||
				fv.Deferred != tt.deferred || fv.Pending != tt.pending || fv.MasterKey != tt.master || fv.Percent != tt.percent {
				t.Errorf("got %+v", fv)
			}
			if len(fv.Unfamiliar) != 0 {
				t.Errorf("unfamiliar lines: %q", fv.Unfamiliar)
			}
		})
	}
	fv, _ := ParseFdesetupStatus(raw(t, "darwin", "fdesetup-status-deferred-for-user.txt"))
	if fv.DeferredFor != "USERNAME" {
		t.Errorf("DeferredFor = %q", fv.DeferredFor)
	}
	for _, wording := range []string{
		"FileVault is Off.\nDeferred enablement appears to be active.\n",
		"FileVault is Off.\nDeferred enablement appears to be active for user USERNAME\n",
		"FileVault is Off, but will be enabled after the next restart.\n",
	} {
		if fv, err := ParseFdesetupStatus(wording); err != nil || !fv.Deferred || fv.On {
			t.Errorf("%q: %+v, %v", wording, fv, err)
		}
	}
	for _, bad := range []string{"", "\n", "fdesetup: command not found\n"} {
		if _, err := ParseFdesetupStatus(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseManageBDE(t *testing.T) {
	tests := []struct {
		file       string
		conv       Conversion
		prot       Protection
		percent    float64
		protectors string
	}{
		{"case-10-bitlocker-stale-protectionstatus.transcript.txt", FullyDecrypted, ProtectionOff, 0, ""},
		{"manage-bde-status-encrypted-on.txt", FullyEncrypted, ProtectionOn, 100, "TPM,Numerical Password"},
		{"manage-bde-status-suspended.txt", FullyEncrypted, ProtectionOff, 100, "TPM,Numerical Password"},
		{"manage-bde-status-decrypting.txt", DecryptionInProgress, ProtectionOff, 63.2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			bl, err := ParseManageBDE(raw(t, "windows", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if bl.Volume != "C:" || bl.Conversion != tt.conv || bl.Protection != tt.prot || bl.Percent != tt.percent ||
				strings.Join(bl.Protectors, ",") != tt.protectors {
				t.Errorf("got %+v", bl)
			}
		})
	}
	for _, f := range []string{"manage-bde-status-access-denied.txt", "manage-bde-status-german.txt"} {
		if _, err := ParseManageBDE(raw(t, "windows", f)); err == nil {
			t.Errorf("%s: no error", f)
		}
	}
}

func TestParseBitLockerJSON(t *testing.T) {
	bl, err := ParseBitLockerJSON(strings.NewReader(raw(t, "windows", "get-bitlockervolume-on.json")), "C:")
	if err != nil || bl.Conversion != FullyEncrypted || bl.Protection != ProtectionOn || bl.Percent != 100 ||
		strings.Join(bl.Protectors, ",") != "Tpm,RecoveryPassword" {
		t.Errorf("on: %+v, %v", bl, err)
	}
	bl, err = ParseBitLockerJSON(strings.NewReader(raw(t, "windows", "get-bitlockervolume-encrypting-numeric.json")), "C:")
	if err != nil || bl.Volume != "C:" || bl.Conversion != EncryptionInProgress || bl.Protection != ProtectionOff ||
		bl.Percent != 42 || strings.Join(bl.Protectors, ",") != "Tpm" {
		t.Errorf("encrypting: %+v, %v", bl, err)
	}
	bl, err = ParseBitLockerJSON(strings.NewReader(raw(t, "windows", "get-bitlockervolume-encrypting-numeric.json")), "D:")
	if err != nil || bl.Conversion != FullyDecrypted {
		t.Errorf("D:: %+v, %v", bl, err)
	}
	for _, bad := range []string{"", "null", `{"MountPoint":"C:","VolumeStatus":"Sideways"}`, `[{"MountPoint":"E:","VolumeStatus":1},{"MountPoint":"F:","VolumeStatus":1}]`} {
		if _, err := ParseBitLockerJSON(strings.NewReader(bad), "C:"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestBitLockerFromWMI(t *testing.T) {
	insts := []map[string]any{
		{"DriveLetter": "D:", "ConversionStatus": float64(1), "ProtectionStatus": float64(1)},
		{"DriveLetter": "C:", "ConversionStatus": float64(0), "ProtectionStatus": float64(1)},
	}
	bl, err := BitLockerFromWMI(insts, "C:")
	if err != nil || bl.Conversion != FullyDecrypted || bl.Protection != ProtectionOn {
		t.Errorf("got %+v, %v", bl, err)
	}
	if _, err := BitLockerFromWMI(insts, "E:"); err == nil {
		t.Error("E:: no error")
	}
	if _, err := BitLockerFromWMI([]map[string]any{{"DriveLetter": "C:"}}, "C:"); err == nil {
		t.Error("no ConversionStatus: no error")
	}
}
