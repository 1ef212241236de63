package health

import (
	"strings"
	"testing"
	"time"
)

func TestStatementValidateLabels(t *testing.T) {
	ok := func() Statement {
		return Statement{Version: 1, DeviceID: "d", Nonce: "n", IssuedAt: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC),
			OS: "linux", OSVersion: "debian 12", AgentVersion: "1.4.2"}
	}
	for _, tc := range []struct {
		name string
		edit func(*Statement)
		want string // "" when valid
	}{
		{"valid", func(*Statement) {}, ""},
		{"windows", func(s *Statement) { s.OS, s.OSVersion = "windows", "windows 22631" }, ""},
		{"darwin", func(s *Statement) { s.OS, s.OSVersion = "darwin", "macos 15.1" }, ""},
		{"unknown release text is still valid (the authority maps it to other)", func(s *Statement) { s.OSVersion = "alice's laptop" }, ""},
		{"no release, no agent version", func(s *Statement) { s.OSVersion, s.AgentVersion = "", "" }, ""},
		{"os outside the three", func(s *Statement) { s.OS = "alice@example.com" }, `os "alice@example.com" is not one of linux, windows, darwin`},
		{"os in capitals", func(s *Statement) { s.OS = "Linux" }, "is not one of linux, windows, darwin"},
		{"overlong os is quoted short", func(s *Statement) { s.OS = strings.Repeat("x", 500) }, `os "` + strings.Repeat("x", 40) + `" is not`},
		{"overlong release", func(s *Statement) { s.OSVersion = strings.Repeat("9", 65) }, "os_version is longer than 64 bytes"},
		{"release with a newline", func(s *Statement) { s.OSVersion = "debian 12\nbob@example.org" }, "os_version holds a control or non-printing character (U+000A)"},
		{"agent version not UTF-8", func(s *Statement) { s.AgentVersion = "1.0\xff" }, "agent_version is not valid UTF-8"},
		{"agent version with a NUL", func(s *Statement) { s.AgentVersion = "1.0\x00" }, "agent_version holds a control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok()
			tc.edit(&s)
			err := s.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
