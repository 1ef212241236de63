package population

import "testing"

func TestSegmentLabels(t *testing.T) {
	for _, tc := range []struct {
		os, release, agent, country string
		want                        Labels
	}{
		{"linux", "debian 12", "1.4.2", "nl", Labels{"linux", "debian 12", "1.4.2", "NL"}},
		{"linux", "ubuntu 24.04", "1.4.2-rc.1", "DE", Labels{"linux", "ubuntu 24.04", "1.4.2-rc.1", "DE"}},
		{"linux", "rhel 9.4", "dev", "", Labels{"linux", "rhel 9", "dev", ""}},
		{"linux", "opensuse-leap 15.6", "2.0", "", Labels{"linux", "opensuse-leap 15.6", "2.0", ""}},
		{"linux", "arch", "2.0+build.7", "", Labels{"linux", "arch", "2.0", ""}},
		{"linux", "arch", "2.0-beta3", "", Labels{"linux", "arch", "2.0-beta3", ""}},
		{"linux", "arch", "1.0-alice", "", Labels{"linux", "arch", "other", ""}},
		{"linux", "arch", "v1.0", "", Labels{"linux", "arch", "other", ""}},
		{"linux", "debian 99", "2.0", "", Labels{"linux", "linux other", "2.0", ""}},
		{"linux", "", "", "", Labels{"linux", "linux other", "other", ""}},
		{"windows", "windows 22631", "1.0", "", Labels{"windows", "windows 22631", "1.0", ""}},
		{"windows", "windows 10.0.26100", "1.0", "", Labels{"windows", "windows 26100", "1.0", ""}},
		{"windows", "windows 12345", "1.0", "", Labels{"windows", "windows other", "1.0", ""}},
		{"darwin", "macos 15.1", "1.0", "", Labels{"darwin", "macos 15", "1.0", ""}},
		{"darwin", "macos 10.15.7", "1.0", "", Labels{"darwin", "macos 10.15", "1.0", ""}},
		{"darwin", "macos 10.9", "1.0", "", Labels{"darwin", "macos other", "1.0", ""}},
		// A release of another family is that family's "other", so
		// releases always nest in their OS family.
		{"windows", "debian 12", "1.0", "", Labels{"windows", "windows other", "1.0", ""}},
		{"darwin", "windows 22631", "1.0", "", Labels{"darwin", "macos other", "1.0", ""}},
		// Hostile text never becomes a label.
		{"alice@example.com", "alice@example.com", "alice@example.com", "alice", Labels{"other", "other", "other", ""}},
		{"linux", "debian 12 bob@example.org", "1.0 bob", "1", Labels{"linux", "linux other", "other", ""}},
		{"linux", "bob@example.org 10.1.2.3", "10.1.2.3", "ÄÖ", Labels{"linux", "linux other", "other", ""}},
		{"linux", "debian 12", "1.0-", "", Labels{"linux", "debian 12", "other", ""}},
		{"linux", "debian 12", "1.0-" + string(make([]byte, 41)), "", Labels{"linux", "debian 12", "other", ""}},
	} {
		got := SegmentLabels(tc.os, tc.release, tc.agent, tc.country)
		if got != tc.want {
			t.Errorf("SegmentLabels(%q, %q, %q, %q) = %+v, want %+v", tc.os, tc.release, tc.agent, tc.country, got, tc.want)
		}
		if f := ReleaseFamily(got.OSVersion); f != got.OS {
			t.Errorf("release %q belongs to %q, its OS is %q", got.OSVersion, f, got.OS)
		}
	}
}

func TestFamilyLabel(t *testing.T) {
	for in, want := range map[string]string{
		"Emotet":                        "Emotet",
		" QakBot ":                      "QakBot",
		"win.cobalt_strike":             "win.cobalt_strike",
		"Mirai-v2":                      "Mirai-v2",
		"":                              "unknown",
		"bob@example.org 10.1.2.3":      "unknown",
		"10.1.2.3":                      "unknown",
		"Emotet 2001:db8::1":            "unknown",
		"http://evil.example/x":         "unknown",
		"Emotet\nalice":                 "unknown",
		"Эмотет":                        "unknown",
		"x-" + string(make([]rune, 70)): "unknown",
	} {
		if got := FamilyLabel(in); got != want {
			t.Errorf("FamilyLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
