package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPolicyCommands(t *testing.T) {
	dsn := tempDB(t)
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"validate", []string{"policy", "validate", "testdata/policy-bank.json"}, 0, "bank-strict@2 compiles", ""},
		{"validate bad CEL", []string{"policy", "validate", "testdata/policy-bad-cel.json"}, 1, "", "Syntax error"},
		{"validate missing", []string{"policy", "validate", "testdata/none.json"}, 1, "", "no such file"},
		{"show before any set", []string{"policy", "show", "--db", dsn}, 0, "herd-default@1 (herd's built-in policy", ""},
		{"history before any set", []string{"policy", "history", "--db", dsn}, 0, "no policy was ever set", ""},
		{"set bad CEL", []string{"policy", "set", "--db", dsn, "testdata/policy-bad-cel.json"}, 1, "", "Syntax error"},
		{"set", []string{"policy", "set", "--db", dsn, "testdata/policy-bank.json"}, 0, "bank-strict@2 is the active policy", ""},
		{"set again", []string{"policy", "set", "--db", dsn, "testdata/policy-bank.json"}, 0, "active policy already", ""},
		{"set other rules, same version", []string{"policy", "set", "--db", dsn, "testdata/policy-bank-edited.json"}, 1, "", "higher version"},
		{"show", []string{"policy", "show", "--db", dsn}, 0, "active policy: bank-strict@2 (activated", ""},
		{"history", []string{"policy", "history", "--db", dsn}, 0, "bank-strict@2", ""},
		{"usage", []string{"policy", "frob"}, 2, "", "unknown subcommand"},
	}
	for _, s := range steps {
		code, out, errs := herd(t, s.args...)
		if code != s.code || !strings.Contains(out, s.stdout) || !strings.Contains(errs, s.stderr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, %q, %q", s.name, code, out, errs, s.code, s.stdout, s.stderr)
		}
	}
	code, out, _ := herd(t, "policy", "show", "--db", dsn, "--json")
	var info struct {
		ID          string `json:"id"`
		Source      string `json:"source"`
		ActivatedBy string `json:"activated_by"`
		Policy      struct {
			Required map[string]string `json:"required"`
		} `json:"policy"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info.ID != "bank-strict@2" || info.Source != "store" ||
		!strings.HasPrefix(info.ActivatedBy, "cli") || info.Policy.Required["disk_encryption"] != "true" {
		t.Errorf("show --json = %d %s", code, out)
	}
	// One activation: the bad and conflicting files changed nothing.
	_, out, _ = herd(t, "policy", "history", "--db", dsn)
	if n := strings.Count(out, "bank-strict@2"); n != 1 {
		t.Errorf("history lists %d activations:\n%s", n, out)
	}
}
