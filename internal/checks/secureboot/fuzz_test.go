package secureboot

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseEFIBool(f *testing.F) {
	f.Add([]byte{6, 0, 0, 0, 1})
	f.Add([]byte{6, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseEFIBool(b)
		if err == nil && len(b) < 5 {
			t.Errorf("short variable accepted: %v", b)
		}
		if err == nil && v != (b[4] == 1) {
			t.Errorf("ParseEFIBool(%v) = %v", b, v)
		}
	})
}

func FuzzParseMokutil(f *testing.F) {
	f.Add("SecureBoot enabled\n")
	f.Add("SecureBoot disabled\nPlatform is in Setup Mode\n")
	f.Add("EFI variables are not supported on this system\n")
	f.Fuzz(func(t *testing.T, s string) { ParseMokutil(s).Known() })
}

func FuzzParseConfirmSecureBootUEFI(f *testing.F) {
	f.Add("True\r\n", "")
	f.Add("", "Cmdlet not supported on this platform")
	f.Fuzz(func(t *testing.T, stdout, stderr string) { ParseConfirmSecureBootUEFI(stdout, stderr) })
}

func FuzzParseBputil(f *testing.F) {
	f.Add("Security Mode (smb0): Full\n")
	f.Fuzz(func(t *testing.T, s string) {
		switch ParseBputil(s) {
		case "", "Full", "Reduced", "Permissive":
		default:
			t.Errorf("unexpected mode for %q", s)
		}
	})
}

func FuzzParseSPiBridge(f *testing.F) {
	f.Add("Model Name: Apple T2 Security Chip\nSecure Boot: Full Security\n")
	f.Fuzz(func(t *testing.T, s string) { ParseSPiBridge(s) })
}

func FuzzParseEFIVar(f *testing.F) {
	for _, p := range []string{"efivars-SecureBoot-enabled.bin", "efivars-SecureBoot-disabled.bin", "efivars-SetupMode-user-mode.bin"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "linux", p)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{0x06, 0, 0, 0, 0x01})
	f.Add([]byte{0x07, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseEFIVar(b)
		switch {
		case err == nil && len(b) < 5:
			t.Errorf("%d bytes accepted: %v", len(b), b)
		case err == nil && v != b[4]:
			t.Errorf("ParseEFIVar(%v) = %d, want the fifth byte", b, v)
		case err != nil && len(b) >= 5:
			t.Errorf("ParseEFIVar(%v): %v", b, err)
		}
	})
}
