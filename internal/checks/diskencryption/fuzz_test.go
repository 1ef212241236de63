package diskencryption

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

func FuzzParseLsblkTree(f *testing.F) {
	seed(f, "linux")
	f.Add("NAME TYPE\n│ │ │\n")
	f.Fuzz(func(t *testing.T, s string) { ParseLsblkTree(s) })
}

func FuzzParseLsblkJSON(f *testing.F) {
	seed(f, "linux")
	f.Fuzz(func(t *testing.T, s string) { ParseLsblkJSON(strings.NewReader(s)) })
}

func FuzzParseMounts(f *testing.F) {
	f.Add("/dev/sda1 / ext4 rw 0 0\n/dev/x /a\\040b\\0 ext4\n")
	f.Fuzz(func(t *testing.T, s string) { ParseMounts(s) })
}

func FuzzParseLUKSDump(f *testing.F) {
	seed(f, "linux")
	f.Fuzz(func(t *testing.T, s string) {
		ParseLUKSDump(s)
		ParseCryptsetupStatus(s)
	})
}

func FuzzParseFdesetupStatus(f *testing.F) {
	seed(f, "darwin")
	f.Fuzz(func(t *testing.T, s string) { ParseFdesetupStatus(s) })
}

func FuzzParseManageBDE(f *testing.F) {
	seed(f, "windows")
	f.Fuzz(func(t *testing.T, s string) { ParseManageBDE(s) })
}

func FuzzParseBitLockerJSON(f *testing.F) {
	seed(f, "windows")
	f.Fuzz(func(t *testing.T, s string) { ParseBitLockerJSON(strings.NewReader(s), "C:") })
}
