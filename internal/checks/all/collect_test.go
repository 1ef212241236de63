package all

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/source"
)

// machine is a system as `herd-agent collect` sees it: a replay of a
// snapshot full of personal data, with its host name.
type machine struct {
	*source.Replay
	host string
}

func (m machine) Hostname() (string, error) { return m.host, nil }

func collect(t *testing.T, src source.Source) (*source.Snapshot, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap := checks.Collect(ctx, src, Checks(), checks.Env{})
	var buf bytes.Buffer
	if err := snap.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := source.ReadSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("the collected snapshot does not read back: %v", err)
	}
	return back, buf.Bytes()
}

var collectedAt = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)

func reg(vals map[string]any) source.RegistryEntry {
	e := source.RegistryEntry{Values: map[string]source.RegValue{}}
	for k, v := range vals {
		switch x := v.(type) {
		case string:
			e.Values[k] = source.RegValue{Type: "REG_SZ", Value: x}
		case uint64:
			e.Values[k] = source.RegValue{Type: "REG_DWORD", Value: x}
		case []byte:
			e.Values[k] = source.RegValue{Type: "REG_BINARY", Value: x}
		}
	}
	return e
}

func text(s string) source.FileEntry { return source.FileEntry{Data: []byte(s)} }

const aliceSID = "S-1-5-21-3623811015-3361044348-30300820-1013"

var digitalProductID = []byte("\xa4\x00\x00\x00\x03\x00\x00\x0000330-80000-00000-AA123\x00\xde\xad\xbe\xef")

// personalMachines are one system per OS, each holding the kinds of
// personal data a real one does, where the checks read.
func personalMachines() map[string]machine {
	linux := source.NewSnapshot("linux", collectedAt, "alice", "/home/alice")
	uuid := "2b9a7c3e-4f1d-4c2a-9e7b-0d6f3a8b1c55"
	linux.Files = map[string]source.FileEntry{
		"/etc/passwd": text("root:x:0:0:root:/root:/bin/bash\n" +
			"alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n" +
			"mia:x:1001:1001:Mia Example,Room 4,555-0101,,:/home/mia:/bin/bash\n"),
		"/etc/os-release":                     text("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"),
		"/etc/machine-id":                     text("4c4c4544004d3010804bb4c04f4e3332\n"),
		"/home/alice/.config/kscreenlockerrc": text("[Daemon]\nTimeout=5\n"),
		"/proc/mounts":                        text("/dev/mapper/luks-" + uuid + " / ext4 rw,relatime 0 0\n"),
		"/sys/block/dm-0/dm/name":             text("luks-" + uuid + "\n"),
		"/sys/block/dm-0/dm/uuid":             text("CRYPT-LUKS2-2b9a7c3e4f1d4c2a9e7b0d6f3a8b1c55-luks-" + uuid + "\n"),
	}
	linux.Dirs = map[string]source.DirEntry{
		"/home":          {Names: []string{"alice", "mia"}},
		"/run/user":      {Names: []string{"1000"}},
		"/run/user/1000": {Names: []string{"bus", "wayland-0"}},
		"/sys/block":     {Names: []string{"dm-0", "nvme0n1"}},
	}
	linux.Commands = []source.CommandEntry{
		{Argv: []string{"lsblk", "-J", "-o", "NAME,TYPE,FSTYPE,LABEL,MOUNTPOINTS"}, Stdout: `{"blockdevices": [{"name": "nvme0n1", "type": "disk", "fstype": null, "label": null, "mountpoints": [null], "children": [` +
			`{"name": "nvme0n1p3", "type": "part", "fstype": "crypto_LUKS", "label": "alice-disk", "mountpoints": [null], "children": [` +
			`{"name": "luks-` + uuid + `", "type": "crypt", "fstype": "ext4", "label": "mia photos", "mountpoints": ["/"]}]}]}]}`},
		{Argv: []string{"cryptsetup", "status", "luks-" + uuid}, Stdout: "/dev/mapper/luks-" + uuid + " is active and is in use.\n  type:    LUKS2\n  cipher:  aes-xts-plain64\n  keysize: 512 bits\n  device:  /dev/nvme0n1p3\n  mode:    read/write\n"},
		{Argv: []string{"cryptsetup", "luksDump", "/dev/nvme0n1p3"}, Stdout: "LUKS header information\nVersion:       \t2\nEpoch:         \t3\nMetadata area: \t16384 [bytes]\nKeyslots area: \t16744448 [bytes]\nUUID:          \t" + uuid + "\nLabel:         \tmia photos\n"},
		{Argv: []string{"loginctl", "list-sessions", "--no-legend"}, Stdout: "2 1000 alice seat0 tty2\n"},
		{Argv: []string{"loginctl", "show-session", "2", "-p", "Name", "-p", "Type", "-p", "Class", "-p", "Desktop", "-p", "Active", "-p", "Remote"}, Stdout: "Name=alice\nType=wayland\nClass=user\nDesktop=KDE\nActive=yes\nRemote=no\n"},
	}

	win := source.NewSnapshot("windows", collectedAt, `NT AUTHORITY\SYSTEM`, `C:\WINDOWS\system32\config\systemprofile`)
	hku := `HKU\` + aliceSID
	win.Registry = map[string]source.RegistryEntry{
		`HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`: reg(map[string]any{
			"InstallationType": "Client", "CurrentBuild": "26100", "UBR": uint64(2605), "EditionID": "Professional",
			"DisplayVersion": "24H2", "ProductName": "Windows 10 Pro", "SystemRoot": `C:\WINDOWS`,
			"RegisteredOwner": "Alice Liddell", "RegisteredOrganization": "Liddell Family Bakery",
			"ProductId": "00330-80000-00000-AA123", "DigitalProductId": digitalProductID, "InstallDate": uint64(1733216400)}),
		`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication\LogonUI`: reg(map[string]any{
			"LastLoggedOnUserSID": aliceSID, "SelectedUserSID": aliceSID, "LastLoggedOnSAMUser": `ALICE-LAPTOP\alice`,
			"LastLoggedOnUser": `.\alice`, "LastLoggedOnDisplayName": "Alice Liddell"}),
		hku + `\Volatile Environment`: reg(map[string]any{"USERNAME": "alice", "USERPROFILE": `C:\Users\alice`, "USERDOMAIN": "ALICE-LAPTOP", "LOGONSERVER": `\\ALICE-LAPTOP`}),
		hku + `\Control Panel\Desktop`: reg(map[string]any{"ScreenSaveActive": "1", "ScreenSaverIsSecure": "1", "ScreenSaveTimeOut": "300",
			"SCRNSAVE.EXE": `C:\Windows\system32\Ribbons.scr`, "WallPaper": `C:\Users\alice\Pictures\Mia at the beach.jpg`}),
	}
	win.WMI = map[string]source.WMIEntry{
		"root/SecurityCenter2:AntiVirusProduct": {Instances: []map[string]any{{
			"displayName": "Windows Defender", "instanceGuid": "{7E3A1C55-94B2-4F0D-A6C1-3B8E2D9F0A17}",
			"pathToSignedProductExe": "windowsdefender://", "productState": float64(397568)}}},
	}
	win.Dirs = map[string]source.DirEntry{`C:\Users`: {Names: []string{"alice", "Default", "mia", "Public"}}}
	win.Processes = []source.Process{{PID: 4242, Name: "explorer.exe", Exe: `C:\Windows\explorer.exe`}}

	mac := source.NewSnapshot("darwin", collectedAt, "root", "/var/root")
	mac.Dirs = map[string]source.DirEntry{"/Users": {Names: []string{"Shared", "alice", "mia"}}}
	mac.Commands = []source.CommandEntry{
		{Argv: []string{"sw_vers"}, Stdout: "ProductName:\t\tmacOS\nProductVersion:\t\t15.7.2\nBuildVersion:\t\t24G325\n"},
		{Argv: []string{"stat", "-f", "%Su", "/dev/console"}, Stdout: "alice\n"},
		{Argv: []string{"sudo", "-u", "alice", "sysadminctl", "-screenLock", "status"}, Stderr: "2026-12-03 18:00:00.000 sysadminctl[512:4100] screenLock delay is immediate\n"},
		{Argv: []string{"sysctl", "-n", "hw.optional.arm64"}, Stdout: "0\n"},
		{Argv: []string{"system_profiler", "SPiBridgeDataType"}, Stdout: "Controller:\n\n    Controller Information:\n\n      Model Name: Apple T2 Security Chip\n" +
			"      Firmware Version: 20.16.4252.0.0,0\n      Boot UUID: 9E8F7D6C-5B4A-4938-8271-605F4E3D2C1B\n" +
			"      Boot Policy:\n\n        Secure Boot: Full Security\n        Signed System Volume: Enabled\n\n" +
			"      Serial Number (system): C02ZW1XYZ123\n      Hardware UUID: 5C2F3B1A-7E6D-4C8B-9A0F-1E2D3C4B5A69\n" +
			"      Provisioning UDID: 00008027-001A2B3C4D5E6F70\n"},
		{Argv: []string{"fdesetup", "status"}, Stdout: "FileVault is On.\n"},
	}
	return map[string]machine{
		"linux":   {source.NewReplay(linux), "alice-laptop.corp.example"},
		"windows": {source.NewReplay(win), "ALICE-LAPTOP"},
		"darwin":  {source.NewReplay(mac), "Alices-MacBook-Air.local"},
	}
}

// What `herd-agent collect` writes holds none of the personal data of
// the machine it recorded: no real names, registration, product keys or
// SIDs, serial numbers, hardware or volume UUIDs, machine ids, user or
// host names; and a replay of it reads what the machine gave.
func TestCollectHidesPersonalData(t *testing.T) {
	secrets := map[string][]string{
		"linux": {"Alice Liddell", "Mia Example", "Room 4", "555-0101", "alice", "/home/mia", `"mia"`, "mia photos", "mia:", "alice-disk",
			"alice-laptop", "corp.example", "2b9a7c3e", "4c4c4544004d3010804bb4c04f4e3332"},
		"windows": {"Alice Liddell", "Liddell", "Bakery", "00330-80000-00000-AA123", base64.StdEncoding.EncodeToString(digitalProductID),
			"3623811015", "3361044348", "30300820", "alice", "ALICE", "Mia at the beach", "7E3A1C55", "1733216400"},
		"darwin": {"C02ZW1XYZ123", "5C2F3B1A", "9E8F7D6C", "00008027-001A2B3C4D5E6F70", "alice", "Alices-MacBook-Air", `"mia"`},
	}
	for goos, m := range personalMachines() {
		t.Run(goos, func(t *testing.T) {
			snap, out := collect(t, m)
			js := string(out)
			for _, s := range secrets[goos] {
				if i := strings.Index(js, s); i >= 0 {
					t.Errorf("the snapshot holds %q: …%s…", s, js[max(0, i-80):min(len(js), i+80)])
				}
			}
			// The replay of what was collected reads what the machine
			// gave: every check answers the same.
			for _, c := range Checks() {
				live := run(c, m)
				replayed := run(c, source.NewReplay(snap))
				if live.Status != replayed.Status {
					t.Errorf("%s: %s on the machine, %s on its snapshot (%s)", c.ID(), live.Status, replayed.Status, replayed.Reason.En)
				}
			}
			t.Logf("%d bytes", len(out))
		})
	}
}

// Collecting any test snapshot and replaying what was collected gives
// every check the same answer: what the recorder keeps (the registry
// values the probes name, identifiers replaced consistently) is all the
// checks read.
func TestCollectReplaysTheSame(t *testing.T) {
	for _, ts := range everySnapshot(t) {
		// A host name no snapshot holds, so only the recorder's own
		// replacements are at work.
		m := machine{source.NewReplay(ts.snap), "recording-host.invalid"}
		snap, _ := collect(t, m)
		for _, c := range Checks() {
			before := run(c, source.NewReplay(ts.snap))
			after := run(c, source.NewReplay(snap))
			if before.Status != after.Status || before.Evidence.Source != after.Evidence.Source && !strings.Contains(before.Evidence.Source, "-") {
				t.Errorf("%s on %s: %s (%s) before collecting, %s (%s) after: %s", c.ID(), ts.name,
					before.Status, before.Evidence.Source, after.Status, after.Evidence.Source, after.Reason.En)
			}
		}
	}
}
