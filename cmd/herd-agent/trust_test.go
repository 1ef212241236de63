package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestTrustValidatesAndUntrust(t *testing.T) {
	url := startNode(t)
	dir := t.TempDir()
	if _, stderr, code := runCmd(t, "enroll", "--dir", dir, url); code != 0 {
		t.Fatalf("enroll: %s", stderr)
	}
	for _, c := range []struct {
		name string
		aud  string
		code int
	}{
		{"too long", "https://" + strings.Repeat("a", 5000) + ".example", 2},
		{"javascript", "javascript:alert(1)", 2},
		{"control character", "shop\n.example", 2},
		{"url", "https://bank.example", 0},
		{"urn", "urn:example:shop", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, stderr, code := runCmd(t, "trust", "--dir", dir, "--audience", c.aud); code != c.code {
				t.Errorf("trust exit %d, want %d: %s", code, c.code, stderr)
			}
		})
	}
	if _, stderr, code := runCmd(t, "untrust", "--dir", dir, "--audience", "https://bank.example"); code != 0 {
		t.Fatalf("untrust: %s", stderr)
	}
	if _, _, code := runCmd(t, "untrust", "--dir", dir, "--audience", "https://bank.example"); code != 1 {
		t.Errorf("untrust of an audience not trusted: exit %d, want 1", code)
	}
	out, _, code := runCmd(t, "status", "--dir", dir, "--json")
	if code != 0 {
		t.Fatalf("status exit %d", code)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
}

func TestStatusJSONNotEnrolled(t *testing.T) {
	out, stderr, code := runCmd(t, "status", "--dir", t.TempDir(), "--json")
	var v struct{ Error, Code string }
	if code != 1 || json.Unmarshal([]byte(out), &v) != nil || v.Code != "not_enrolled" || v.Error == "" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestCheckSnapshotTitleAndOS(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		os, want string
		code     int
	}{
		{"windows", "Security checks on the snapshot " + dir + "/windows.json (windows)\n", 0},
		{"plan9", "only linux, windows and darwin", 1},
	} {
		t.Run(c.os, func(t *testing.T) {
			name := dir + "/" + c.os + ".json"
			os.WriteFile(name, []byte(`{"version":1,"os":"`+c.os+`","collected_at":"2026-01-02T03:04:05Z","files":{},"dirs":{}}`), 0o600)
			out, stderr, code := runCmd(t, "check", "--dir", t.TempDir(), "--snapshot", name, "--lang", "en")
			if code != c.code || !strings.Contains(out+stderr, c.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, c.code, c.want, out, stderr)
			}
		})
	}
}
