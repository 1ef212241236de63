package ossupport

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	checktest.SnapshotsAllOS(t, New(), checks.Env{})
}

func TestEmbeddedData(t *testing.T) {
	d := Embedded()
	if d.Compiled.String() != "2026-12-01" {
		t.Errorf("compiled = %s", d.Compiled)
	}
	for _, id := range []string{"debian", "ubuntu", "fedora", "rhel", "rocky", "almalinux", "opensuse-leap", "windows", "windows-server", "macos"} {
		p := d.Products[id]
		if p == nil || p.Name == "" {
			t.Errorf("product %s missing or unnamed", id)
			continue
		}
		seen := map[string]bool{}
		for _, r := range p.Releases {
			key := r.Release + "/" + r.Edition
			if r.Build > 0 {
				key = fmt.Sprintf("%s/%d", key, r.Build)
			}
			if seen[key] {
				t.Errorf("%s: release %s listed twice", id, key)
			}
			seen[key] = true
			if r.EOL != nil && r.Extended != nil && r.Extended.Before(r.EOL.Time) {
				t.Errorf("%s %s: extended support ends before standard support", id, r.Release)
			}
			if (id == "windows" || id == "windows-server") && r.Build == 0 {
				t.Errorf("%s %s: no build number", id, r.Release)
			}
		}
	}
	// Facts the brief and vendors publish, pinned so an edit cannot lose them.
	pins := []struct {
		prod, rel, edition string
		build              int
		eol                string
	}{
		{"debian", "12", "", 0, "2028-06-30"},
		{"debian", "11", "", 0, "2026-08-31"},
		{"ubuntu", "20.04", "", 0, "2025-05-31"},
		{"windows", "", "", 19045, "2025-10-14"},
		{"windows", "", "home_pro", 26100, "2026-10-13"},
		{"windows", "", "enterprise", 22631, "2026-11-10"},
		{"windows-server", "", "", 20348, "2031-10-14"},
	}
	for _, p := range pins {
		var r Release
		var m match
		if p.build > 0 {
			rs, mm := d.Products[p.prod].lookupBuild(p.build, p.edition)
			m = mm
			if len(rs) == 1 {
				r = rs[0]
			}
		} else {
			r, m = d.Products[p.prod].lookup(p.rel)
		}
		if m != matchFound || r.EOL == nil || r.EOL.String() != p.eol {
			t.Errorf("%s %s%d %s: eol = %v (match %d), want %s", p.prod, p.rel, p.build, p.edition, r.EOL, m, p.eol)
		}
	}
}

func TestParseDataErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"not json", "{"},
		{"no compiled", `{"products": {}}`},
		{"bad date", `{"compiled": "2026-13-01", "products": {}}`},
		{"empty product", `{"compiled": "2026-12-01", "products": {"x": {"name": "X", "releases": []}}}`},
		{"unnamed release", `{"compiled": "2026-12-01", "products": {"x": {"name": "X", "releases": [{"eol": "2026-01-01"}]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseData([]byte(tc.in)); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestStaleData: a release without an announced end is unknown once the
// table is over a year old.
func TestStaleData(t *testing.T) {
	d := Embedded()
	c := &check{data: d}
	r, _ := d.Products["macos"].lookup("26")
	if v := c.judgeRelease(r, "macOS 26", d.Compiled.AddDate(0, 6, 0)); v.status != health.Pass {
		t.Errorf("six months after compiling: %s", v.status)
	}
	if v := c.judgeRelease(r, "macOS 26", d.Compiled.AddDate(1, 1, 0)); v.status != health.Unknown {
		t.Errorf("thirteen months after compiling: %s", v.status)
	}
	// An exact date: the last day is still supported, the next is not.
	deb, _ := d.Products["debian"].lookup("11")
	last := time.Date(2026, 8, 31, 23, 0, 0, 0, time.UTC)
	if v := c.judgeRelease(deb, "Debian 11", last); v.status != health.Pass {
		t.Errorf("on the last day: %s", v.status)
	}
	if v := c.judgeRelease(deb, "Debian 11", last.Add(2*time.Hour)); v.status != health.Fail {
		t.Errorf("the day after: %s", v.status)
	}
}

func TestParseOSRelease(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		{"debian", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n",
			map[string]string{"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "VERSION_ID": "12", "ID": "debian"}},
		{"comments and single quotes", "# comment\n\nID='fedora'\nVERSION_ID=40\n",
			map[string]string{"ID": "fedora", "VERSION_ID": "40"}},
		{"escapes", `NAME="say \"hi\""` + "\n", map[string]string{"NAME": `say "hi"`}},
		{"junk lines", "no equals\n=value\nID=arch\n", map[string]string{"ID": "arch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseOSRelease(tc.in)
			if len(got) != len(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestParseSwVersAndRelease(t *testing.T) {
	v := ParseSwVers("ProductName:\t\tmacOS\nProductVersion:\t\t10.15.7\nBuildVersion:\t\t19H2026\n")
	if v["ProductVersion"] != "10.15.7" || v["BuildVersion"] != "19H2026" {
		t.Fatalf("got %v", v)
	}
	for in, want := range map[string]string{"10.15.7": "10.15", "15.1": "15", "26": "26", "": ""} {
		if got := macOSRelease(in); got != want {
			t.Errorf("macOSRelease(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePacmanLog(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string
	}{
		{"new stamps", "[2026-11-30T17:00:01+0000] [PACMAN] starting full system upgrade\n[2026-12-01T08:00:00+0000] [PACMAN] Running 'pacman -S htop'\n", "2026-11-30T17:00:01Z"},
		{"old stamps", "[2019-01-01 10:00] [PACMAN] starting full system upgrade\n[2019-02-01 10:00] [PACMAN] starting full system upgrade\n", "2019-02-01T10:00:00Z"},
		{"none", "[2026-11-30T17:00:01+0000] [ALPM] installed htop\n", ""},
		{"broken stamp", "[yesterday] [PACMAN] starting full system upgrade\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParsePacmanLog(tc.in)
			if tc.want == "" {
				if ok {
					t.Errorf("got %v, want none", got)
				}
				return
			}
			if !ok || got.UTC().Format(time.RFC3339) != tc.want {
				t.Errorf("got %v %v, want %s", got, ok, tc.want)
			}
		})
	}
}

func TestWindowsEdition(t *testing.T) {
	for in, want := range map[string]string{
		"Core": "home_pro", "CoreSingleLanguage": "home_pro", "Professional": "home_pro",
		"ProfessionalWorkstation": "home_pro", "Enterprise": "enterprise", "EducationN": "enterprise",
		"IoTEnterprise": "enterprise", "EnterpriseS": "ltsc", "EnterpriseSN": "ltsc",
		"IoTEnterpriseS": "iot_ltsc", "ServerRdsh": "enterprise", "Starter": "",
	} {
		if got := WindowsEdition(in); got != want {
			t.Errorf("WindowsEdition(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
		ok   bool
	}{
		{"15.6", "16.0", -1, true}, {"10.15", "11", -1, true}, {"12", "12", 0, true},
		{"24.04", "22.04", 1, true}, {"x", "1", 0, false},
	} {
		got, ok := compareVersions(tc.a, tc.b)
		if got != tc.want || ok != tc.ok {
			t.Errorf("compareVersions(%q, %q) = %d %v", tc.a, tc.b, got, ok)
		}
	}
}

func TestProbes(t *testing.T) {
	c := New()
	checktest.ProbesAllOS(t, c)
	if !strings.Contains(c.Probes("windows")[0].Key, "CurrentVersion") {
		t.Error("windows probe does not read CurrentVersion")
	}
}

func FuzzParseOSRelease(f *testing.F) {
	f.Add("ID=debian\nVERSION_ID=\"12\"\n")
	f.Add("NAME=\"\\\"\n'x")
	f.Fuzz(func(t *testing.T, s string) { ParseOSRelease(s) })
}

func FuzzParseSwVers(f *testing.F) {
	f.Add("ProductVersion:\t15.1\n")
	f.Fuzz(func(t *testing.T, s string) {
		v := ParseSwVers(s)
		macOSRelease(v["ProductVersion"])
	})
}

func FuzzParsePacmanLog(f *testing.F) {
	f.Add("[2026-11-30T17:00:01+0000] [PACMAN] starting full system upgrade\n")
	f.Add("[2019-01-01 10:00] starting full system upgrade")
	f.Fuzz(func(t *testing.T, s string) { ParsePacmanLog(s) })
}

func FuzzParseData(f *testing.F) {
	f.Add(string(eolJSON))
	f.Add(`{"compiled":"2026-12-01","products":{"x":{"releases":[{"release":"1"}]}}}`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseData([]byte(s))
		if err != nil {
			return
		}
		for _, p := range d.Products {
			p.lookup("1.2")
			p.lookupBuild(19045, "")
		}
	})
}
