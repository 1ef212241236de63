package source

import "testing"

func TestProbeMatches(t *testing.T) {
	for _, tc := range []struct {
		name        string
		probe, read Probe
		want        bool
		template    bool
	}{
		{"same file", File("/etc/os-release"), File("/etc/os-release"), true, false},
		{"other file", File("/etc/os-release"), File("/usr/lib/os-release"), false, false},
		{"file is not a dir", File("/etc"), Dir("/etc"), false, false},
		{"glob in the last element", File("/etc/apt/apt.conf.d/*"), File("/etc/apt/apt.conf.d/20auto-upgrades"), true, true},
		{"glob inside a name", File("/var/lib/apt/lists/*security*_Packages*"), File("/var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4"), true, true},
		{"glob inside a name, no match", File("/var/lib/apt/lists/*security*_Packages*"), File("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"), false, true},
		{"placeholder over several elements", File("<home>/.config/kscreenlockerrc"), File("/home/USER1/.config/kscreenlockerrc"), true, true},
		{"placeholders in a path", File("/sys/block/<dm device>/dm/uuid"), File("/sys/block/dm-0/dm/uuid"), true, true},
		{"placeholders in a path, wrong tail", File("/sys/block/<dm device>/dm/uuid"), File("/sys/block/dm-0/dm/name"), false, true},
		{"command", Command("cryptsetup", "luksDump", "<device>"), Command("cryptsetup", "luksDump", "/dev/nvme0n1p3"), true, true},
		{"command, more arguments", Command("cryptsetup", "luksDump", "<device>"), Command("cryptsetup", "luksDump", "/dev/sda", "--json"), false, true},
		{"command, placeholder within an argument", Command("manage-bde", "-status", "<drive>:"), Command("manage-bde", "-status", "D:"), true, true},
		{"command, exact", Command("sw_vers"), Command("sw_vers"), true, false},
		{"command, other", Command("sw_vers"), Command("sw_vers", "-productVersion"), false, false},
		{"registry, case", RegistryKey(`HKLM\SOFTWARE\Microsoft`), RegistryKey(`HKLM\Software\Microsoft`), true, false},
		{"registry, SID", RegistryKey(`HKU\<SID>\Control Panel\Desktop`), RegistryKey(`HKU\S-1-5-21-1-2-3-1001\Control Panel\Desktop`), true, true},
		{"registry, SID, other key", RegistryKey(`HKU\<SID>\Control Panel\Desktop`), RegistryKey(`HKU\S-1-5-21-1-2-3-1001\Volatile Environment`), false, true},
		{"processes", ProcessList(), ProcessList(), true, false},
		{"a lone < is a character", File("/a<b"), File("/a<b"), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.probe.Matches(tc.read); got != tc.want {
				t.Errorf("%v.Matches(%v) = %v, want %v", tc.probe, tc.read, got, tc.want)
			}
			if got := tc.probe.Template(); got != tc.template {
				t.Errorf("Template() = %v, want %v", got, tc.template)
			}
		})
	}
}
