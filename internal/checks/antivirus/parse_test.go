package antivirus

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDecodeProductStateNotes decodes every row of the table in the
// productState decoding notes and compares it with the row's columns.
func TestDecodeProductStateNotes(t *testing.T) {
	notes := readTestdata(t, "windows/wsc-productstate-decoding.md")
	rows := 0
	for _, line := range strings.Split(notes, "\n") {
		cols := strings.Split(line, "|")
		if len(cols) < 7 {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(cols[1]), 10, 32)
		if err != nil {
			continue // header and rule lines
		}
		rows++
		provider, rt, sig := strings.TrimSpace(cols[3]), strings.TrimSpace(cols[4]), strings.TrimSpace(cols[5])
		t.Run(strings.TrimSpace(cols[1]), func(t *testing.T) {
			hex, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(cols[2]), "0x"), 16, 32)
			if err != nil || hex != v {
				t.Fatalf("notes: hex column %q does not match %d", cols[2], v)
			}
			got := DecodeProductState(uint32(v))
			if got.Scanner.String() != rt {
				t.Errorf("real-time = %s, want %s", got.Scanner, rt)
			}
			wantProv := map[string]uint8{"AV": ProviderAntivirus, "AV+AU": ProviderAntivirus | ProviderAutoUpd, "FW": ProviderFirewall}[provider]
			if got.Providers != wantProv {
				t.Errorf("providers = %#x, want %#x (%s)", got.Providers, wantProv, provider)
			}
			if sig != "(n/a)" && got.Signatures.String() != sig {
				t.Errorf("signatures = %s, want %s", got.Signatures, sig)
			}
		})
	}
	if rows < 15 {
		t.Fatalf("read %d rows from the decoding notes, want 15", rows)
	}
}

func TestDecodeProductStateUnseen(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    uint32
		rt   ScannerState
		sig  SignatureState
	}{
		{"expired microsoft", 0x063110, ScannerExpired, SignaturesOutOfDate},
		{"snoozed third party", 0x042000, ScannerSnoozed, SignaturesUpToDate},
		{"odd scanner nibble", 0x045000, ScannerUnknown, SignaturesUpToDate},
		{"odd definitions byte", 0x041001, ScannerOn, SignaturesUnknown},
		{"beyond three bytes", 0x1041000, ScannerUnknown, SignaturesUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DecodeProductState(tc.v)
			if got.Scanner != tc.rt || got.Signatures != tc.sig {
				t.Errorf("%#x: got %s/%s, want %s/%s", tc.v, got.Scanner, got.Signatures, tc.rt, tc.sig)
			}
		})
	}
}

func TestParseWSCList(t *testing.T) {
	rows := ParseWSCList(readTestdata(t, "windows/wsc-antivirusproduct-get-ciminstance.txt"))
	prods := ParseWSCProducts(rows)
	if len(prods) != 2 {
		t.Fatalf("got %d products, want 2", len(prods))
	}
	def, other := prods[0], prods[1]
	if !def.IsDefender() || def.State.Scanner != ScannerOff || def.State.Raw != 393472 {
		t.Errorf("Defender row: %+v", def)
	}
	if other.IsDefender() || other.Name != "ExampleVendor Endpoint Security" || other.State.Scanner != ScannerOn || other.State.Signatures != SignaturesUpToDate {
		t.Errorf("third-party row: %+v", other)
	}
	if other.ProductExe != `C:\Program Files\ExampleVendor\Endpoint\epsecurityservice.exe` {
		t.Errorf("product exe = %q", other.ProductExe)
	}
}

func TestParseWSCProductsTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		ok   bool
		want uint32
	}{
		{"json number", float64(397568), true, 397568},
		{"string", "266240", true, 266240},
		{"hex string", "0x41000", true, 266240},
		{"negative", float64(-1), false, 0},
		{"fraction", 1.5, false, 0},
		{"missing", nil, false, 0},
		{"text", "n/a", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ParseWSCProducts([]map[string]any{{"displayName": "X", "productState": tc.in}})[0]
			if p.StateReadable != tc.ok || (tc.ok && p.State.Raw != tc.want) {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestParseMpStatus(t *testing.T) {
	date := func(s string) time.Time { d, _ := time.Parse(time.RFC3339, s); return d }
	for _, tc := range []struct {
		file    string
		mode    string
		rtp     bool
		passive bool
		age     int
		updated time.Time
		version string
	}{
		{"get-mpcomputerstatus-normal.txt", "Normal", true, false, 0, date("2026-11-30T06:41:12Z"), "1.421.233.0"},
		{"get-mpcomputerstatus-stale-signatures.txt", "Normal", true, false, 867, date("2021-08-22T17:28:56Z"), "1.347.247.0"},
		{"get-mpcomputerstatus-json.txt", "Normal", true, false, 1, date("2026-11-30T02:41:12Z"), ""},
		{"case-06-defender-passive-mode.txt", "Passive Mode", true, true, 0, date("2026-09-01T03:12:44Z"), "1.417.512.0"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := ParseMpStatus(readTestdata(t, "windows/"+tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if m.RunningMode != tc.mode || !isTrue(m.RealTime) != !tc.rtp || m.Passive() != tc.passive {
				t.Errorf("mode %q rtp %v passive %v", m.RunningMode, boolWord(m.RealTime), m.Passive())
			}
			if m.SignatureAge != tc.age || !m.SignatureUpdated.Equal(tc.updated) || m.SignatureVersion != tc.version {
				t.Errorf("signatures: age %d updated %s version %q", m.SignatureAge, m.SignatureUpdated, m.SignatureVersion)
			}
		})
	}
}

func TestParseMpStatusNoData(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"cmdlet failed", readTestdata(t, "windows/case-07-get-mpcomputerstatus-unavailable.txt")},
		{"empty", ""},
		{"broken json", `{"AMRunningMode": `},
		{"json without fields", `{"PSComputerName": null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := ParseMpStatus(tc.in); err == nil {
				t.Errorf("parsed a status from %q: %+v", tc.name, m)
			}
		})
	}
}

func TestParseMpStatusNoDataValues(t *testing.T) {
	m, err := ParseMpStatus(`{"AMRunningMode": "Normal", "AntivirusSignatureAge": 4294967295, "AntivirusSignatureLastUpdated": null, "RealTimeProtectionEnabled": false}`)
	if err != nil {
		t.Fatal(err)
	}
	if m.SignatureAge != -1 || !m.SignatureUpdated.IsZero() || !isFalse(m.RealTime) {
		t.Errorf("got %+v", m)
	}
	// PowerShell 7 writes ISO dates.
	m, _ = ParseMpStatus(`{"AMRunningMode": "EDR Block Mode", "AntivirusSignatureLastUpdated": "2026-11-30T06:41:12+01:00"}`)
	if !m.Passive() || !m.SignatureUpdated.Equal(time.Date(2026, 11, 30, 5, 41, 12, 0, time.UTC)) {
		t.Errorf("got %+v", m)
	}
}

func TestParseClamVersion(t *testing.T) {
	for _, tc := range []struct {
		name, in, engine string
		db               int
		at               time.Time
		ok               bool
	}{
		{"with database", "ClamAV 1.0.7/27470/Tue Dec  1 08:26:03 2026\n", "1.0.7", 27470, time.Date(2026, 12, 1, 8, 26, 3, 0, time.UTC), true},
		{"two-digit day", "ClamAV 0.103.11/27100/Mon Nov 23 08:26:03 2026", "0.103.11", 27100, time.Date(2026, 11, 23, 8, 26, 3, 0, time.UTC), true},
		{"no database", "ClamAV 1.0.7\n", "1.0.7", 0, time.Time{}, true},
		{"not clamav", "bash: clamscan: command not found", "", 0, time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseClamVersion(tc.in)
			if (err == nil) != tc.ok || v.Engine != tc.engine || v.DBVersion != tc.db || !v.DBTime.Equal(tc.at) {
				t.Errorf("got %+v, %v", v, err)
			}
		})
	}
}

func TestParseCVDHeader(t *testing.T) {
	pad := func(s string) []byte { return append([]byte(s+strings.Repeat(" ", 512-len(s))), 0x1f, 0x8b, 0x08) }
	for _, tc := range []struct {
		name string
		in   []byte
		at   time.Time
		ver  int
		ok   bool
	}{
		{"daily", pad("ClamAV-VDB:02 Dec 2026 07-24 +0000:27471:2070412:90:X:X:raynman:1796196240"), time.Date(2026, 12, 2, 7, 24, 0, 0, time.UTC), 27471, true},
		{"zone offset", pad("ClamAV-VDB:16 Sep 2021 08-32 -0400:62:6647427:90:md5:sig:sigmgr:1631795520"), time.Date(2021, 9, 16, 12, 32, 0, 0, time.UTC), 62, true},
		{"stime only", pad("ClamAV-VDB:garbled:100:5:90:md5:sig:builder:1796196240"), time.Unix(1796196240, 0).UTC(), 100, true},
		{"not a database", []byte("\x1f\x8b\x08\x00 gzip"), time.Time{}, 0, false},
		{"header beyond 512 bytes", append([]byte(strings.Repeat(" ", 512)), pad("ClamAV-VDB:02 Dec 2026 07-24 +0000:1:1:90")...), time.Time{}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseCVDHeader(tc.in)
			if (err == nil) != tc.ok || !h.Built.Equal(tc.at) || (tc.ok && h.Version != tc.ver) {
				t.Errorf("got %+v, %v", h, err)
			}
		})
	}
}

func TestParseClamdConf(t *testing.T) {
	got := ParseClamdConf("# OnAccessIncludePath /srv\nLocalSocket /run/clamd.ctl\nOnAccessIncludePath /home\n  OnAccessMountPath   /data  \nOnAccessIncludePath\n")
	if strings.Join(got, ",") != "/home,/data" {
		t.Errorf("got %q", got)
	}
}

func TestParsePlistString(t *testing.T) {
	pl := "<dict>\n\t<key>CFBundleShortVersionString</key>\n\t<string>5287</string>\n\t<key>Other</key><integer>1</integer></dict>"
	for _, tc := range []struct{ name, in, key, want string }{
		{"present", pl, "CFBundleShortVersionString", "5287"},
		{"not a string", pl, "Other", ""},
		{"absent", pl, "CFBundleVersion", ""},
		{"binary plist", "bplist00\x01\x02", "CFBundleShortVersionString", ""},
		{"unterminated", "<key>A</key><string>x", "A", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParsePlistString(tc.in, tc.key); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseInstallHistory(t *testing.T) {
	h, err := ParseInstallHistory(readTestdata(t, "darwin/system-profiler-install-history.json"))
	if err != nil {
		t.Fatal(err)
	}
	latest, ok := LatestXProtect(h)
	if !ok || latest.Name != "XProtectPlistConfigData" || latest.Version != "5287" || !latest.Date.Equal(time.Date(2026, 11, 30, 9, 12, 3, 0, time.UTC)) {
		t.Errorf("latest = %+v, %v", latest, ok)
	}
	if _, err := ParseInstallHistory(`{"SPSoftwareDataType": []}`); err == nil {
		t.Error("a different data type parsed as install history")
	}
	if _, ok := LatestXProtect([]Install{{Name: "macOS 15.1", Date: time.Now()}}); ok {
		t.Error("found XProtect in a history without it")
	}
}

func TestExpandWinPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`%ProgramFiles%\Windows Defender\MsMpeng.exe`, `C:\Program Files\Windows Defender\MsMpeng.exe`},
		{`"C:\Program Files\X\x.exe"`, `C:\Program Files\X\x.exe`},
		{`%ProgramFiles(x86)%\Y\y.exe`, `C:\Program Files (x86)\Y\y.exe`},
		{`%VENDORHOME%\z.exe`, ""},
		{`relative\path.exe`, ""},
		{`%unterminated`, ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := expandWinPath(tc.in)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("got %q, %v", got, ok)
			}
		})
	}
}

// TestParseSpctlStatus reads the three captured `spctl --status` outputs
// of the shared fixtures: enabled, disabled, and the longer form that
// also tells the developer id setting.
func TestParseSpctlStatus(t *testing.T) {
	for _, tc := range []struct {
		file        string
		assessments GatekeeperState
		developerID GatekeeperState
	}{
		{"spctl-status-enabled.txt", GatekeeperEnabled, GatekeeperUnknown},
		{"spctl-status-disabled.txt", GatekeeperDisabled, GatekeeperUnknown},
		{"spctl-status-verbose-enabled.txt", GatekeeperEnabled, GatekeeperEnabled},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := ParseSpctlStatus(readTestdata(t, "darwin/raw/"+tc.file))
			if got.Assessments != tc.assessments || got.DeveloperID != tc.developerID {
				t.Errorf("got assessments %s, developer id %s; want %s, %s", got.Assessments, got.DeveloperID, tc.assessments, tc.developerID)
			}
		})
	}
	for _, s := range []string{"", "spctl: unrecognized option\n", "assessments maybe\n", "assessments\n"} {
		if g := ParseSpctlStatus(s); g.Assessments != GatekeeperUnknown {
			t.Errorf("%q: assessments %s, want unknown", s, g.Assessments)
		}
	}
}

// TestCase08Capture reads the captured Windows Server answer of the
// Security Center (osquery's windows_security_center: every column
// "Error"), and holds the check to the fixtures' answer: Security Center
// is not applicable there and Defender's own status decides.
func TestCase08Capture(t *testing.T) {
	capture := readTestdata(t, "windows/case-08-wsc-windows-server-error.txt")
	rows, err := checktest.ParseOsqueryTable(capture)
	if err != nil || len(rows) != 1 {
		t.Fatalf("rows %v, %v", rows, err)
	}
	for col, v := range rows[0] {
		if v != "Error" {
			t.Errorf("%s = %q: the capture is not a Security Center that cannot be read", col, v)
		}
	}
	// The Security Center reader finds no product in it: an error table
	// is not a product row.
	if prods := ParseWSCProducts(ParseWSCList(capture)); len(prods) != 0 {
		t.Errorf("products read from an error table: %+v", prods)
	}
	// The snapshot of this case: SecurityCenter2 missing, as on Windows
	// Server.
	for _, tc := range []struct {
		check checks.Check
		dir   string
		want  checktest.Want
	}{
		{NewAntivirus(), "antivirus", checktest.Want{Status: health.Pass, EvidenceSource: "Get-MpComputerStatus", Details: "Security Center: not applicable"}},
		{NewSignatures(), "signatures", checktest.Want{Status: health.Pass, EvidenceSource: "Get-MpComputerStatus"}},
	} {
		cs := checktest.Load(t, "testdata/windows/"+tc.dir+"/case-08-windows-server-no-security-center.json")
		if e := cs[0].Snapshot.WMI[WSCClass]; e.Error == "" || rows[0]["antivirus"] != "Error" {
			t.Fatalf("the snapshot does not hold the capture's unreadable Security Center: %+v", e)
		}
		checktest.Assert(t, tc.check.ID(), checktest.Run(tc.check, cs[0].Snapshot, checks.Env{}), tc.want)
	}
}
