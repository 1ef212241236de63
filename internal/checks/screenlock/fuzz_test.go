package screenlock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seed(f *testing.F, goos string) {
	files, _ := filepath.Glob(filepath.Join("testdata", goos, "raw", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
}

func FuzzParseGVariant(f *testing.F) {
	for _, s := range []string{"uint32 300", "@u 5", "'x'", "true", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseGVariant(s)
		GVariantUint(s)
		GVariantBool(s)
	})
}

func FuzzParseKScreenLockerRC(f *testing.F) {
	seed(f, "linux")
	f.Fuzz(func(t *testing.T, s string) { ParseKScreenLockerRC(strings.NewReader(s)) })
}

func FuzzParseLoginctl(f *testing.F) {
	seed(f, "linux")
	f.Fuzz(func(t *testing.T, s string) {
		ParseLoginctlSessions(s)
		ParseShowSession("1", s)
		ParsePasswd(s)
	})
}

func FuzzParseMac(f *testing.F) {
	seed(f, "darwin")
	f.Fuzz(func(t *testing.T, s string) {
		ParseSysadminctlScreenLock(s)
		ParsePmsetDisplaySleep(s)
		ParseDefaultsNumber(s)
	})
}

func FuzzParsePowercfgQuery(f *testing.F) {
	seed(f, "windows")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePowercfgQuery(s)
		if err == nil && !strings.Contains(s, "0x") {
			t.Errorf("%q: %+v without a hexadecimal value", s, p)
		}
	})
}
