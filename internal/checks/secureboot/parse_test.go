package secureboot

import (
	"os"
	"testing"
)

func TestParseEFIBool(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		data    []byte
		want    bool
		wantErr bool
	}{
		{name: "SecureBoot enabled", file: "efivars-SecureBoot-enabled.bin", want: true},
		{name: "SecureBoot disabled", file: "efivars-SecureBoot-disabled.bin", want: false},
		{name: "SetupMode user mode", file: "efivars-SetupMode-user-mode.bin", want: false},
		{name: "attributes only", data: []byte{6, 0, 0, 0}, wantErr: true},
		{name: "empty", data: nil, wantErr: true},
		{name: "value 2", data: []byte{6, 0, 0, 0, 2}, wantErr: true},
		// The value is byte 5: attribute bytes must not be read as it.
		{name: "attributes 1, value 0", data: []byte{1, 1, 1, 1, 0}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if tt.file != "" {
				b, err := os.ReadFile("testdata/linux/" + tt.file)
				if err != nil {
					t.Fatal(err)
				}
				data = b
			}
			got, err := ParseEFIBool(data)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseEFIBool(%v) = %v, %v; want %v, error %v", data, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseMokutil(t *testing.T) {
	tests := []struct {
		file string
		want MokState
	}{
		{"mokutil-sb-state-enabled.txt", MokState{Enabled: true}},
		{"mokutil-sb-state-disabled.txt", MokState{Disabled: true}},
		{"mokutil-sb-state-setup-mode.txt", MokState{Disabled: true, SetupMode: true}},
		{"mokutil-sb-state-legacy-bios.txt", MokState{NoEFI: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/linux/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if got := ParseMokutil(string(b)); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := ParseMokutil("SecureBoot enabled\nSecureBoot validation is disabled in shim\n"); !got.Enabled || !got.ShimValidationOff {
		t.Errorf("shim validation off: %+v", got)
	}
	if got := ParseMokutil("This system doesn't support Secure Boot\n"); !got.Unsupported || !got.Known() {
		t.Errorf("unsupported: %+v", got)
	}
	if got := ParseMokutil("something else\n"); got.Known() {
		t.Errorf("unfamiliar text is known: %+v", got)
	}
}

func TestParseConfirmSecureBootUEFI(t *testing.T) {
	tests := []struct {
		name, stdout, stderr string
		want                 ConfirmResult
	}{
		{"true", "True\r\n", "", ConfirmTrue},
		{"false", "False\r\n", "", ConfirmFalse},
		{"legacy bios", "", "Confirm-SecureBootUEFI : Cmdlet not supported on this platform: 0xC0000002\r\n", ConfirmNotUEFI},
		{"not admin", "", "Confirm-SecureBootUEFI : Access was denied. Administrator privileges are required.\r\n", ConfirmNoAccess},
		{"other", "", "The term 'Confirm-SecureBootUEFI' is not recognized\r\n", ConfirmUnfamiliar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseConfirmSecureBootUEFI(tt.stdout, tt.stderr); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseBputil(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"full", "Security Mode                           (smb0): Full\n", "Full"},
		{"reduced", "Security Mode: Reduced Security\n", "Reduced"},
		{"permissive", "Security Mode                           (smb0): Permissive\n", "Permissive"},
		{"kext line is not the mode", "3rd Party Kexts Status                  (smb2): Enabled\n", ""},
		{"error", "This utility must be run as root.\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseBputil(tt.text); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseSPiBridge(t *testing.T) {
	got := ParseSPiBridge("iBridge:\n\n    Controller Information:\n\n      Model Name: Apple T2 Security Chip\n      Firmware Version: 20.16.4252.0.0,0\n      Secure Boot: Medium Security\n")
	if !got.T2 || got.Model != "Apple T2 Security Chip" || got.SecureBoot != "Medium Security" {
		t.Errorf("T2: %+v", got)
	}
	if got := ParseSPiBridge("iBridge:\n\n    Controller Information:\n\n      Model Name: Apple T1 Security Chip\n"); got.T2 {
		t.Errorf("T1 taken for T2: %+v", got)
	}
	if got := ParseSPiBridge(""); got.T2 || got.Model != "" {
		t.Errorf("empty: %+v", got)
	}
}
