package updates

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
	"github.com/herd-health/herd/internal/source"
)

func TestSnapshots(t *testing.T) {
	t.Run("auto_update", func(t *testing.T) {
		checktest.SnapshotsAllOSPattern(t, NewAutoUpdate(), "auto-*.json", checks.Env{})
	})
	t.Run("pending_updates", func(t *testing.T) {
		checktest.SnapshotsAllOSPattern(t, NewPending(), "pending-*.json", checks.Env{})
	})
}

// TestPolicyLimit: the same snapshot passes or fails with the policy's
// limit on pending age.
func TestPolicyLimit(t *testing.T) {
	cs := checktest.Load(t, "testdata/windows/pending-old-cumulative-update-fail.json")
	for _, tc := range []struct {
		limit time.Duration
		want  health.Status
	}{
		{30 * 24 * time.Hour, health.Fail},
		{60 * 24 * time.Hour, health.Pass},
	} {
		got := checktest.Run(NewPending(), cs[0].Snapshot, checks.Env{MaxPendingAge: tc.limit})
		if got.Status != tc.want {
			t.Errorf("limit %v: %s (%s)", tc.limit, got.Status, got.Reason.En)
		}
	}
}

func TestProbes(t *testing.T) {
	for _, c := range []checks.Check{NewAutoUpdate(), NewPending()} {
		checktest.ProbesAllOS(t, c)
		if c.Probes("plan9") != nil {
			t.Errorf("%s: probes for plan9", c.ID())
		}
	}
}

func TestParseAPTConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want map[string]string
	}{
		{"flat", []string{`APT::Periodic::Update-Package-Lists "1";` + "\n" + `APT::Periodic::Unattended-Upgrade "1";`},
			map[string]string{keyUpdateLists: "1", keyUnattended: "1"}},
		{"unrelated option does not touch the periodic keys", []string{`APT::Periodic::Unattended-Upgrade "1";`, `Unattended-Upgrade::OnlyOnACPower "0";`},
			map[string]string{keyUnattended: "1", "unattended-upgrade::onlyonacpower": "0"}},
		{"later file overrides", []string{`APT::Periodic::Unattended-Upgrade "1";`, `APT::Periodic::Unattended-Upgrade "0";`},
			map[string]string{keyUnattended: "0"}},
		{"nested scopes and comments", []string{"/* block\n comment */\n# hash comment\nAPT {\n Periodic { // trailing\n  Unattended-Upgrade \"7d\";\n };\n};\n"},
			map[string]string{keyUnattended: "7d"}},
		{"case-insensitive keys", []string{`apt::periodic::UNATTENDED-UPGRADE "1";`}, map[string]string{keyUnattended: "1"}},
		{"lists are not values", []string{"Unattended-Upgrade::Allowed-Origins {\n \"${distro_id}:${distro_codename}-security\";\n};\n"},
			map[string]string{}},
		{"dump list entries", []string{`DPkg::Post-Invoke:: "/bin/true";`}, map[string]string{"dpkg::post-invoke::": "/bin/true"}},
		{"url with slashes in quotes", []string{`Acquire::http::Proxy "http://proxy.example:3142/";`}, map[string]string{"acquire::http::proxy": "http://proxy.example:3142/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, f := range tc.in {
				ParseAPTConfig(f, got)
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

// TestCase21Transcript parses the files of the captured case-21 system.
func TestCase21Transcript(t *testing.T) {
	b, err := os.ReadFile("testdata/linux/case-21-unattended-upgrades-onlyonacpower.transcript.txt")
	if err != nil {
		t.Fatal(err)
	}
	files := transcript(string(b))
	conf := map[string]string{}
	for _, f := range []string{"cat /etc/apt/apt.conf.d/20auto-upgrades", "cat /etc/apt/apt.conf.d/99test"} {
		ParseAPTConfig(files[f], conf)
	}
	for _, k := range []string{keyUpdateLists, keyUnattended} {
		if on, ok := APTPeriodicEnabled(conf[k]); !on || !ok {
			t.Errorf("%s = %q: want enabled", k, conf[k])
		}
	}
	if conf["unattended-upgrade::onlyonacpower"] != "0" {
		t.Errorf("OnlyOnACPower not read: %v", conf)
	}
}

// transcript splits a "$ command" transcript into outputs by command.
func transcript(s string) map[string]string {
	out := map[string]string{}
	cmd := ""
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "$ ") {
			cmd = strings.TrimSpace(line[2:])
			continue
		}
		out[cmd] += line
	}
	return out
}

func TestAPTPeriodicEnabled(t *testing.T) {
	for _, tc := range []struct {
		in     string
		on, ok bool
	}{
		{"1", true, true}, {"0", false, true}, {"", false, true}, {"always", true, true},
		{"7d", true, true}, {"12h", true, true}, {"0d", false, true}, {"sometimes", false, false}, {"-1", false, false}, {"1dd", false, false},
	} {
		on, ok := APTPeriodicEnabled(tc.in)
		if on != tc.on || ok != tc.ok {
			t.Errorf("APTPeriodicEnabled(%q) = %v %v, want %v %v", tc.in, on, ok, tc.on, tc.ok)
		}
	}
}

func TestAptConfigFiles(t *testing.T) {
	got := aptConfigFiles([]string{"20auto-upgrades", "20auto-upgrades.dpkg-old", "50unattended-upgrades", "99 bad name", "backup~", "70debconf.disabled"})
	want := []string{aptConfDir + "/20auto-upgrades", aptConfDir + "/50unattended-upgrades"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseDpkgStatus(t *testing.T) {
	got := ParseDpkgStatus("Package: unattended-upgrades\nStatus: install ok installed\nPriority: optional\nDescription: x\n continued\n\nPackage: ufw\nStatus: deinstall ok config-files\n")
	if got["unattended-upgrades"] != "install ok installed" || got["ufw"] != "deinstall ok config-files" || len(got) != 2 {
		t.Errorf("got %v", got)
	}
}

func TestParseAptSimulateCaptured(t *testing.T) {
	b, err := os.ReadFile("testdata/linux/apt-get-s-dist-upgrade-debian12.txt")
	if err != nil {
		t.Fatal(err)
	}
	ups := ParseAptSimulate(string(b))
	if len(ups) != 132 {
		t.Errorf("%d upgrades, want 132 (the summary line says so)", len(ups))
	}
	sec := map[string]AptUpgrade{}
	for _, u := range ups {
		if u.Security {
			sec[u.Package] = u
		}
	}
	g, ok := sec["libgcrypt20"]
	if !ok || g.From != "1.10.1-3" || g.To != "1.10.1-3+deb12u1" || len(g.Origins) != 2 || g.Origins[1] != "Debian-Security:12/oldstable-security" {
		t.Errorf("libgcrypt20 = %+v", g)
	}
	if _, ok := sec["bash"]; ok {
		t.Error("bash comes from oldstable, not a security suite")
	}
	if len(sec) == 0 || len(sec) == len(ups) {
		t.Errorf("%d of %d security updates: the split is wrong", len(sec), len(ups))
	}
}

func TestParseAptSimulateUbuntu(t *testing.T) {
	ups := ParseAptSimulate("Inst libc6 [2.39-0ubuntu8.3] (2.39-0ubuntu8.4 Ubuntu:24.04/noble-updates, Ubuntu:24.04/noble-security [amd64])\n" +
		"Inst snapd [2.66] (2.67 Ubuntu:24.04/noble-updates [amd64])\n" +
		"Inst newpkg (1.0 UbuntuESMApps:24.04/noble-apps-security [amd64])\nConf libc6 (2.39 x)\n")
	if len(ups) != 3 || !ups[0].Security || ups[1].Security || !ups[2].Security || ups[2].From != "" || ups[2].To != "1.0" {
		t.Errorf("got %+v", ups)
	}
}

func TestParseRelease(t *testing.T) {
	b, err := os.ReadFile("testdata/linux/bookworm-security-InRelease-header.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRelease(string(b))
	if err != nil || r.Codename != "bookworm-security" || r.Suite != "oldstable-security" || !r.Date.Equal(time.Date(2026, 12, 1, 19, 40, 0, 0, time.UTC)) {
		t.Errorf("got %+v, %v", r, err)
	}
	if _, err := ParseRelease("Suite: x\n"); err == nil {
		t.Error("no error without Date")
	}
	r, err = ParseRelease("Date: Sat, 5 Dec 2026 08:01:02 +0000\n")
	if err != nil || r.Date.Day() != 5 {
		t.Errorf("numeric zone: %+v %v", r, err)
	}
}

func TestParseDNFUpdateInfo(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		dated    bool
		first    Advisory
	}{
		{"dnf4", "Last metadata expiration check: 0:10:00 ago on Thu 03 Dec 2026.\nFEDORA-2026-1a2b3c Moderate/Sec.  curl-8.6.0-7.fc40.x86_64\nFEDORA-2026-4d5e6f bugfix x-1.fc40.noarch\n", 1, false,
			Advisory{ID: "FEDORA-2026-1a2b3c", Severity: "Moderate", Package: "curl-8.6.0-7.fc40.x86_64"}},
		{"rhel", "RHSA-2026:10234 Important/Sec. openssl-libs-1:3.0.7-29.el9_4.x86_64\n", 1, false,
			Advisory{ID: "RHSA-2026:10234", Severity: "Important", Package: "openssl-libs-1:3.0.7-29.el9_4.x86_64"}},
		{"dnf5", "Updating and loading repositories:\nRepositories loaded.\nName Type Severity Package Issued\nFEDORA-2026-9f8e7d security Moderate curl-8.15.0-4.fc43.x86_64 2026-11-28 02:00:10\nFEDORA-2026-aaaa enhancement None x-1 2026-11-28 02:00:10\n", 1, true,
			Advisory{ID: "FEDORA-2026-9f8e7d", Severity: "Moderate", Package: "curl-8.15.0-4.fc43.x86_64", Issued: time.Date(2026, 11, 28, 2, 0, 10, 0, time.UTC)}},
		{"nothing", "", 0, false, Advisory{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseDNFUpdateInfo(tc.in)
			if len(got) != tc.n {
				t.Fatalf("got %+v", got)
			}
			if tc.n > 0 && got[0] != tc.first {
				t.Errorf("got %+v, want %+v", got[0], tc.first)
			}
		})
	}
}

func TestParseZypperPatches(t *testing.T) {
	in := "Loading repository data...\nReading installed packages...\n\n" +
		"Repository        | Name                        | Category | Severity  | Interactive | Status | Since      | Summary\n" +
		"------------------+-----------------------------+----------+-----------+-------------+--------+------------+--------\n" +
		"repo-sle-update   | openSUSE-SLE-15.6-2026-4321 | security | important | ---         | needed | 2026-11-01 | Security update for curl\n" +
		"repo-sle-update   | openSUSE-SLE-15.6-2026-4000 | security | moderate  | ---         | applied | 2026-10-01 | Security update for vim\n" +
		"Found 1 applicable patch:\n1 patch needed (1 security patch)\n"
	got := ParseZypperPatches(in)
	if len(got) != 2 || got[0].ID != "openSUSE-SLE-15.6-2026-4321" || got[0].Status != "needed" || got[0].Category != "security" ||
		!got[0].Issued.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || got[1].Status != "applied" {
		t.Errorf("got %+v", got)
	}
	if len(ParseZypperPatches("No updates found.\n")) != 0 {
		t.Error("patches from nothing")
	}
}

func TestParseWUQuery(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n, sec   int
		last     string
		err      bool
	}{
		{"list", `{"Updates":[{"Title":"CU (KB5066835)","KB":"5066835","Categories":["Security Updates","Windows 11"],"MsrcSeverity":"Critical","Published":"2026-10-14T17:00:00.0000000Z"},{"Title":"Defender","KB":"2267602","Categories":["Definition Updates"],"MsrcSeverity":"","Published":"2026-12-03T09:00:00Z"}],"LastInstall":"2026-12-01T03:10:00.0000000Z"}`, 2, 1, "2026-12-01T03:10:00Z", false},
		{"single object and one category", `{"Updates":{"Title":"x","Categories":"Security Updates","Published":"/Date(1792000000000)/"},"LastInstall":null}`, 1, 1, "", false},
		{"empty", `{"Updates":[],"LastInstall":null}`, 0, 0, "", false},
		{"null", `{"Updates":null}`, 0, 0, "", false},
		{"garbage", `Exception calling "Search"`, 0, 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWUQuery(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			sec := 0
			for _, u := range got.Updates {
				if u.Security() {
					sec++
					if u.Published.IsZero() {
						t.Errorf("no date for %q", u.Title)
					}
				}
			}
			if len(got.Updates) != tc.n || sec != tc.sec {
				t.Errorf("got %d updates, %d security: %+v", len(got.Updates), sec, got)
			}
			last := ""
			if !got.LastInstall.IsZero() {
				last = got.LastInstall.Format(time.RFC3339)
			}
			if last != tc.last {
				t.Errorf("last install %q, want %q", last, tc.last)
			}
		})
	}
}

func TestParseWinTime(t *testing.T) {
	for in, want := range map[string]string{
		"2026-11-02 03:14:07":          "2026-11-02T03:14:07Z",
		"2026-10-14T17:00:00.0000000Z": "2026-10-14T17:00:00Z",
		"/Date(1792000000000)/":        "2026-10-14T17:46:40Z",
		"":                             "",
		"yesterday":                    "",
	} {
		got, ok := parseWinTime(in)
		s := ""
		if ok {
			s = got.Format(time.RFC3339)
		}
		if s != want {
			t.Errorf("parseWinTime(%q) = %q, want %q", in, s, want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	cs := checktest.Load(t, "testdata/darwin/pending-recommended-old-check-fail.json")
	v, err := ParseDefaults(cs[0].Snapshot.Commands[0].Stdout)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if on, ok := plistBool(m, "CriticalUpdateInstall"); !on || !ok {
		t.Error("CriticalUpdateInstall not read")
	}
	recs, _ := m["RecommendedUpdates"].([]any)
	if len(recs) != 2 || recs[1].(map[string]any)["Display Name"] != "Safari" {
		t.Errorf("RecommendedUpdates = %v", recs)
	}
	if d, ok := plistDate(m, "LastSuccessfulDate"); !ok || !d.Equal(time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("LastSuccessfulDate = %v", d)
	}
	langs, _ := m["PrimaryLanguages"].([]any)
	if len(langs) != 2 || langs[0] != "en-GB" || langs[1] != "en" {
		t.Errorf("PrimaryLanguages = %v", langs)
	}
	for _, bad := range []string{"{", "{ a = ; }", "{ a = 1; } x", `{ a = "x`, "(1, 2"} {
		if _, err := ParseDefaults(bad); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
	v, err = ParseDefaults("{ \"x y\" = <0a0b 0c>; e = (); n = {}; }")
	if err != nil || v.(map[string]any)["x y"] != "0a0b0c" {
		t.Errorf("got %v %v", v, err)
	}
}

func TestParseINI(t *testing.T) {
	got := ParseINI("# c\n[commands]\napply_updates = yes\nUpgrade_Type=security\n[emitters]\nemit_via = stdio\n")
	if got["commands"]["apply_updates"] != "yes" || got["commands"]["upgrade_type"] != "security" || got["emitters"]["emit_via"] != "stdio" {
		t.Errorf("got %v", got)
	}
	sh := ParseINI("## Type: yesno\nAOU_ENABLE_CRONJOB=\"true\"\n")
	if sh[""]["aou_enable_cronjob"] != "true" {
		t.Errorf("got %v", sh)
	}
}

func TestParseStatMtime(t *testing.T) {
	if got, ok := ParseStatMtime("1794700800\n"); !ok || !got.Equal(time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %v %v", got, ok)
	}
	for _, bad := range []string{"", "x", "-5", "0"} {
		if _, ok := ParseStatMtime(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCase12Transcript reads the captured case-12 registry (`reg query`
// outputs) into the keys the check reads, and judges them: only
// PendingFileRenameOperations is set, which any installer writes, so no
// update restart is pending and pending_updates passes (the fixtures'
// answer).
func TestCase12Transcript(t *testing.T) {
	b, err := os.ReadFile("testdata/windows/case-12-win-pending-reboot-pfro-only.transcript.txt")
	if err != nil {
		t.Fatal(err)
	}
	registry := map[string]source.RegistryEntry{}
	cmds := 0
	for _, block := range strings.Split(string(b), `C:\> `)[1:] {
		cmd, out, _ := strings.Cut(block, "\n")
		cmds++
		key, _, _ := strings.Cut(strings.TrimPrefix(cmd, `reg query "`), `"`)
		keys, err := source.ParseRegQuery(out)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if key != rebootRequiredKey && key != cbsRebootKey {
				t.Errorf("%s: not found in the capture", key)
			}
			continue // a key that does not exist is absent from a snapshot
		case err != nil:
			t.Fatalf("%s: %v", cmd, err)
		}
		for _, k := range keys {
			registry[k.Key] = source.RegistryEntry{Values: k.Values}
		}
	}
	if cmds != 3 {
		t.Fatalf("read %d commands from the transcript, want 3", cmds)
	}
	sm, ok := registry[sessionManagerKey]
	pfro := sm.Values["PendingFileRenameOperations"]
	if !ok || pfro.Type != "REG_MULTI_SZ" || len(pfro.Value.([]string)) != 4 {
		t.Fatalf("Session Manager read as %+v", sm)
	}
	// The snapshot of this case holds what the capture holds.
	cs := checktest.Load(t, "testdata/windows/pending-case12-pfro-only-pass.json")
	if want := cs[0].Snapshot.Registry[sessionManagerKey].Values["PendingFileRenameOperations"]; !reflect.DeepEqual(pfro, want) {
		t.Errorf("the capture gives %v, the snapshot %v", pfro, want)
	}
	snap := *cs[0].Snapshot
	snap.Registry = registry
	r := checktest.Run(NewPending(), &snap, checks.Env{})
	checktest.Assert(t, health.PendingUpdates, r, checktest.Want{Status: health.Pass, Reason: "No security update or restart", Details: "PendingFileRenameOperations is set"})
}
