package updates

import (
	"strings"
	"testing"
)

func TestIsSecurityPackagesList(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4", true},
		{"security.ubuntu.com_ubuntu_dists_noble-security_main_binary-amd64_Packages", true},
		{"security.ubuntu.com_ubuntu_dists_noble-security_universe_binary-amd64_Packages.gz", true},
		{"deb.debian.org_debian-security_dists_bookworm-security_InRelease", false},
		{"deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", false},
		{"deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages.lz4", false},
		{"deb.debian.org_debian-security_dists_bookworm-security_main_i18n_Translation-en", false},
		{"deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.diff_Index", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := isSecurityPackagesList(tc.name); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseDpkgInstalled(t *testing.T) {
	status := "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:2.0-1\n\n" +
		"Package: b\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n\n" +
		"Package: c\nStatus: install ok installed\nArchitecture: all\nVersion: 3\nDescription: x\n continued: line\n\n" +
		"Package: a\nStatus: hold ok installed\nArchitecture: i386\nVersion: 1:1.9-1\n"
	got := ParseDpkgInstalled(status)
	want := map[string]string{"a/amd64": "1:2.0-1", "c/": "3", "a/i386": "1:1.9-1"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	keep := newerThanInstalled(got)
	for _, tc := range []struct {
		stanza string
		want   bool
	}{
		{"Package: a\nVersion: 1:2.0-1+deb12u1\nArchitecture: amd64\n", true},
		{"Package: a\nVersion: 1:2.0-1~deb12u1\nArchitecture: amd64\n", false},
		{"Package: a\nVersion: 1:2.0-1\nArchitecture: i386\n", true},
		{"Package: b\nVersion: 9\nArchitecture: amd64\n", false},
		{"Package: c\nVersion: 4\nArchitecture: all\n", true},
		{"Package: d\nVersion: 4\nArchitecture: all\n", false},
	} {
		if keep(tc.stanza) != tc.want {
			t.Errorf("keep(%q) = %v", tc.stanza, !tc.want)
		}
	}
}

func FuzzParseDpkgInstalled(f *testing.F) {
	f.Add("Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:2.0-1\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		for k, v := range ParseDpkgInstalled(s) {
			newerThanInstalled(map[string]string{k: v})(s)
		}
	})
}

func FuzzParseDebStanza(f *testing.F) {
	f.Add("Package: openssl\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\nStatus: install ok installed\nDescription: x\n multi-line\n")
	f.Add("Package:\nVersion: :\n")
	f.Add(" Package: continuation\n\tVersion: 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		p := ParseDebStanza(s)
		for _, v := range []string{p.Name, p.Version, p.Arch, p.Status} {
			if v != strings.TrimSpace(v) || strings.Contains(v, "\n") {
				t.Errorf("%q: field %q is not one trimmed line", s, v)
			}
			if v != "" && !strings.Contains(s, v) {
				t.Errorf("%q: field %q is not in the stanza", s, v)
			}
		}
	})
}
