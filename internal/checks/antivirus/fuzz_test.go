package antivirus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seedFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(string(b))
		}
	}
}

func FuzzParseMpStatus(f *testing.F) {
	seedFiles(f, "testdata/windows/*mpcomputerstatus*.txt")
	seedFiles(f, "testdata/windows/case-0*.txt")
	f.Add(`{"AMRunningMode":"Normal","AntivirusSignatureLastUpdated":"\/Date(-99999999999999999)\/"}`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMpStatus(s)
		if err == nil && m.SignatureAge < -1 {
			t.Errorf("negative age %d", m.SignatureAge)
		}
	})
}

func FuzzParseWSCList(f *testing.F) {
	seedFiles(f, "testdata/windows/wsc-*.txt")
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range ParseWSCProducts(ParseWSCList(s)) {
			_ = p.IsDefender()
		}
	})
}

func FuzzDecodeProductState(f *testing.F) {
	for _, v := range []uint32{262144, 266240, 393472, 397568, 397584, 401664, 69632, 0xFFFFFFFF} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v uint32) {
		ps := DecodeProductState(v)
		if v <= 0xFFFFFF && uint32(ps.Providers) != v>>16 {
			t.Errorf("providers %#x from %#x", ps.Providers, v)
		}
	})
}

func FuzzParseClamVersion(f *testing.F) {
	f.Add("ClamAV 1.0.7/27470/Tue Dec  1 08:26:03 2026\n")
	f.Add("ClamAV 1.0.7\n")
	f.Add("ClamAV /x/")
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseClamVersion(s) })
}

func FuzzParseCVDHeader(f *testing.F) {
	f.Add([]byte("ClamAV-VDB:02 Dec 2026 07-24 +0000:27471:2070412:90:X:X:raynman:1796196240"))
	f.Add([]byte("ClamAV-VDB:"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseCVDHeader(b) })
}

func FuzzParseClamdConf(f *testing.F) {
	f.Add("OnAccessIncludePath /home\n#x\n")
	f.Fuzz(func(t *testing.T, s string) { _ = ParseClamdConf(s) })
}

func FuzzParsePlistString(f *testing.F) {
	f.Add("<key>CFBundleShortVersionString</key><string>5287</string>")
	f.Fuzz(func(t *testing.T, s string) { _ = ParsePlistString(s, "CFBundleShortVersionString") })
}

func FuzzParseInstallHistory(f *testing.F) {
	seedFiles(f, "testdata/darwin/*.json")
	f.Fuzz(func(t *testing.T, s string) {
		if h, err := ParseInstallHistory(s); err == nil {
			_, _ = LatestXProtect(h)
		}
	})
}

func FuzzParseSpctlStatus(f *testing.F) {
	seedFiles(f, "testdata/darwin/raw/spctl-*.txt")
	f.Fuzz(func(t *testing.T, s string) {
		g := ParseSpctlStatus(s)
		if g.Assessments != GatekeeperUnknown && !strings.Contains(strings.ToLower(s), "assessments") {
			t.Errorf("%q: assessments %s without the word", s, g.Assessments)
		}
	})
}
