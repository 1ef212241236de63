package updates

import "testing"

func FuzzParseAPTConfig(f *testing.F) {
	f.Add("APT { Periodic { Unattended-Upgrade \"1\"; }; };\n/* x */ // y\n#clear A\n")
	f.Add("A::B \"unterminated")
	f.Add("/* unterminated")
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range ParseAPTConfig(s, nil) {
			APTPeriodicEnabled(v)
		}
	})
}

func FuzzParseDpkgStatus(f *testing.F) {
	f.Add("Package: a\nStatus: install ok installed\n\n")
	f.Fuzz(func(t *testing.T, s string) { ParseDpkgStatus(s) })
}

func FuzzParseINI(f *testing.F) {
	f.Add("[commands]\napply_updates = yes\n")
	f.Add("[\n=\n'")
	f.Fuzz(func(t *testing.T, s string) { ParseINI(s) })
}

func FuzzParseAptSimulate(f *testing.F) {
	f.Add("Inst libc6 [2.39] (2.40 Ubuntu:24.04/noble-security [amd64])\n")
	f.Add("Inst x [ (")
	f.Fuzz(func(t *testing.T, s string) { ParseAptSimulate(s) })
}

func FuzzParseRelease(f *testing.F) {
	f.Add("Suite: stable-security\nDate: Tue, 01 Dec 2026 19:40:00 UTC\n")
	f.Fuzz(func(t *testing.T, s string) { ParseRelease(s) })
}

func FuzzParseDNFUpdateInfo(f *testing.F) {
	f.Add("FEDORA-2026-1 security Moderate curl-1 2026-11-28 02:00:10\nRHSA-2026:1 Important/Sec. x\n")
	f.Fuzz(func(t *testing.T, s string) { ParseDNFUpdateInfo(s) })
}

func FuzzParseZypperPatches(f *testing.F) {
	f.Add("Repository | Name | Category | Status | Since\n---+---\nr | p | security | needed | 2026-11-01\n")
	f.Fuzz(func(t *testing.T, s string) { ParseZypperPatches(s) })
}

func FuzzParseWUQuery(f *testing.F) {
	f.Add(`{"Updates":[{"Title":"x","Categories":["Security Updates"],"Published":"/Date(1)/"}],"LastInstall":"2026-12-01T00:00:00Z"}`)
	f.Add(`{"Updates":{"Categories":"a"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseWUQuery(s)
		if err == nil {
			for _, u := range r.Updates {
				u.Security()
			}
		}
	})
}

func FuzzParseDefaults(f *testing.F) {
	f.Add("{\n    AutomaticCheckEnabled = 1;\n    RecommendedUpdates = ( { \"Display Name\" = x; } );\n}\n")
	f.Add("{ a = <0a")
	f.Add("((((((((((((")
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseDefaults(s); err == nil {
			if m, ok := v.(map[string]any); ok {
				plistBool(m, "a")
				plistDate(m, "a")
			}
		}
	})
}

func FuzzParseStatMtime(f *testing.F) {
	f.Add("1794700800\n")
	f.Fuzz(func(t *testing.T, s string) { ParseStatMtime(s) })
}
