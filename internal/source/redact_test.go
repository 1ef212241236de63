package source

import (
	"testing"
	"time"
)

func TestIdentifiers(t *testing.T) {
	id := newIdentifiers([]Probe{File("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")})
	for _, tc := range []struct{ name, in, want string }{
		{"a volume UUID", "UUID:  2b9a7c3e-4f1d-4c2a-9e7b-0d6f3a8b1c55\n", "UUID:  00000000-0000-0000-0000-000000000001\n"},
		{"the same UUID again, in a mapping name, upper case", "luks-2B9A7C3E-4F1D-4C2A-9E7B-0D6F3A8B1C55", "luks-00000000-0000-0000-0000-000000000001"},
		{"another UUID", "{7E3A1C55-94B2-4F0D-A6C1-3B8E2D9F0A17}", "{00000000-0000-0000-0000-000000000002}"},
		{"a GUID a probe names", "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"},
		{"a public power scheme", "Power Scheme GUID: 381b4222-f694-41f0-9685-ff5bb260df2e  (Balanced)", "Power Scheme GUID: 381b4222-f694-41f0-9685-ff5bb260df2e  (Balanced)"},
		{"SIDs share their machine part", `HKU\S-1-5-21-3623811015-3361044348-30300820-1013 S-1-5-21-3623811015-3361044348-30300820-500 S-1-5-21-1-2-3-1001`,
			`HKU\S-1-5-21-0-0-1-1013 S-1-5-21-0-0-1-500 S-1-5-21-0-0-2-1001`},
		{"well-known SIDs stay", "S-1-5-18 S-1-5-32-544", "S-1-5-18 S-1-5-32-544"},
		{"dm-crypt uuid", "CRYPT-LUKS2-2b9a7c3e4f1d4c2a9e7b0d6f3a8b1c55-root", "CRYPT-LUKS2-00000000000000000000000000000001-root"},
		{"LVM uuid", "LVM-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34Yz56Ab12Cd34Ef56", "LVM-0000000000000000000000000000000000000000000000000000000000000001"},
		{"a serial number line", "      Serial Number (system): C02ZW1XYZ123\n", "      Serial Number (system): REDACTED-1\n"},
		{"the same serial in JSON", `"serial_number": "C02ZW1XYZ123"`, `"serial_number": "REDACTED-1"`},
		{"a JSON null stays", `"serial": null,`, `"serial": null,`},
		{"a bare number stays a number", `"serial": 12345,`, `"serial": 00001,`},
		{"ioreg", `"IOPlatformSerialNumber" = "C02ZW1XYZ999"`, `"IOPlatformSerialNumber" = "REDACTED-2"`},
		{"plist", "<key>IOPlatformUUID</key>\n\t<string>ABC-123</string>", "<key>IOPlatformUUID</key>\n\t<string>REDACTED-3</string>"},
		{"hardware UUID line", "Hardware UUID: 5C2F3B1A-7E6D-4C8B-9A0F-1E2D3C4B5A69", "Hardware UUID: REDACTED-4"},
		{"nothing to hide", "ufw: active, default deny (incoming)", "ufw: active, default deny (incoming)"},
		{"a sha256 is no identifier", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := id.replace(tc.in); got != tc.want {
				t.Errorf("replace(%q)\n = %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestScrubFile(t *testing.T) {
	in := "root:x:0:0:root:/root:/bin/bash\n# a comment: with: colons\nmia:x:1001:1001:Mia Example,Room 4,555-0101,,:/home/mia:/bin/bash\nbroken:line\n"
	want := "root:x:0:0::/root:/bin/bash\n# a comment: with: colons\nmia:x:1001:1001::/home/mia:/bin/bash\nbroken:line\n"
	if got := string(scrubFile("/etc/passwd", []byte(in))); got != want {
		t.Errorf("passwd:\n%s\nwant\n%s", got, want)
	}
	if got := string(scrubFile("/etc/machine-id", []byte("4c4c4544004d3010804bb4c04f4e3332\n"))); got != "REDACTED\n" {
		t.Errorf("machine-id: %q", got)
	}
	if got := string(scrubFile("/etc/group", []byte(in))); got != in {
		t.Errorf("another file was changed: %q", got)
	}
}

// A registry key keeps only the values the probes name; a key no probe
// names values of is kept as existing, with none.
func TestRecorderKeepsOnlyDeclaredRegistryValues(t *testing.T) {
	s := NewSnapshot("windows", time.Now(), `NT AUTHORITY\SYSTEM`, "")
	cv := `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	s.Registry = map[string]RegistryEntry{
		cv: {Values: map[string]RegValue{
			"CurrentBuild":     {Type: "REG_SZ", Value: "26100"},
			"RegisteredOwner":  {Type: "REG_SZ", Value: "Alice Liddell"},
			"DigitalProductId": {Type: "REG_BINARY", Value: []byte{1, 2, 3}},
		}},
		`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired`: {Values: map[string]RegValue{
			"00000000-1111-2222-3333-444444444444": {Type: "REG_DWORD", Value: uint64(1)},
		}},
	}
	rec := NewRecorder(NewReplay(s), RecorderOptions{Probes: []Probe{RegistryKey(`HKLM\Software\Microsoft\Windows NT\CurrentVersion`, "currentbuild")}})
	vals, _ := rec.Registry(cv)
	if len(vals) != 3 {
		t.Errorf("the check got %d values, want all 3", len(vals))
	}
	rec.Registry(`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired`)
	got := rec.Snapshot().Registry
	if v := got[cv].Values; len(v) != 1 || v["CurrentBuild"].Value != "26100" {
		t.Errorf("recorded %v, want CurrentBuild alone", v)
	}
	e, ok := got[`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired`]
	if !ok || len(e.Values) != 0 || e.Error != "" {
		t.Errorf("a key read for its existence: %+v (present %v)", e, ok)
	}
	if _, err := NewReplay(rec.Snapshot()).Registry(`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired`); err != nil {
		t.Errorf("the replay does not find the key: %v", err)
	}
}
