package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func herd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestOperatorCommands(t *testing.T) {
	dsn := tempDB(t)
	steps := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"token create", []string{"admin", "token", "create", "--db", dsn, "--name", "ops"}, 0, "herd_admin_"},
		{"token duplicate", []string{"admin", "token", "create", "--db", dsn, "--name", "ops"}, 1, ""},
		{"token list", []string{"admin", "token", "list", "--db", dsn}, 0, "ops"},
		{"token revoke", []string{"admin", "token", "revoke", "--db", dsn, "--name", "ops"}, 0, "revoked ops"},
		{"token revoke again", []string{"admin", "token", "revoke", "--db", dsn, "--name", "ops"}, 1, ""},
		{"enrollment token", []string{"admin", "enrollment-token", "create", "--db", dsn, "--name", "lab", "--single-use", "--ttl", "72h"}, 0, "herd_enroll_"},
		{"enrollment token list", []string{"admin", "enrollment-token", "list", "--db", dsn}, 0, "lab"},
		{"enrollment token bad ttl", []string{"admin", "enrollment-token", "create", "--db", dsn, "--name", "x", "--ttl", "soon"}, 1, ""},
		{"rp add", []string{"rp", "add", "--db", dsn, "--audience", "https://bank.example", "--webhook", "https://bank.example/hook"}, 0, "herd_whsec_"},
		{"rp add bad url", []string{"rp", "add", "--db", dsn, "--audience", "a", "--webhook", "ftp://x"}, 1, ""},
		{"rp list", []string{"rp", "list", "--db", dsn}, 0, "https://bank.example/hook"},
		{"rp remove", []string{"rp", "remove", "--db", dsn, "--audience", "https://bank.example"}, 0, "removed"},
		{"devices list", []string{"devices", "list", "--db", dsn}, 0, "ID"},
		{"devices delete unknown", []string{"devices", "delete", "--db", dsn, "--id", "nope"}, 1, ""},
		{"retention", []string{"retention", "run", "--db", dsn}, 0, `"nonces_deleted":0`},
		{"no db", []string{"devices", "list"}, 1, ""},
		{"usage", []string{"admin"}, 2, ""},
	}
	for _, s := range steps {
		code, out, errs := herd(t, s.args...)
		if code != s.code || !strings.Contains(out, s.contains) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and %q", s.name, code, out, errs, s.code, s.contains)
		}
	}
	st, err := openOps(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, _ := st.AuditLog(context.Background(), 100)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action+":"+e.Outcome)
	}
	got := strings.Join(actions, ",")
	want := "retention.run:ok,device.delete:error,device.list:ok,relying_party.remove:ok,relying_party.add:error,relying_party.add:ok," +
		"enrollment_token.create:error,enrollment_token.create:ok,admin_token.revoke:error,admin_token.revoke:ok,admin_token.create:error,admin_token.create:ok"
	if got != want {
		t.Errorf("audit actions newest first = %s, want %s", got, want)
	}
}

func TestServeConfigFileAndFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herd.json")
	os.WriteFile(path, []byte(`{"addr": "127.0.0.1:9999", "log_format": "json", "cert_lifetime": "2h",
		"trusted_networks": ["10.0.0.0/8"], "enrollment_mode": "token",
		"rate_limits": {"enroll": {"per_second": 2, "burst": 5}},
		"retention": {"source_address_days": 7}, "webhooks": {"max_attempts": 3, "initial_backoff": "5s"}}`), 0o600)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "")
	format := fs.String("log-format", "text", "")
	life := fs.Duration("cert-lifetime", 0, "")
	if err := fs.Parse([]string{"--addr", "127.0.0.1:7777"}); err != nil {
		t.Fatal(err)
	}
	f, err := loadServeFile(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:7777" {
		t.Errorf("addr = %s; the flag must override the file", *addr)
	}
	if *format != "json" || life.String() != "2h0m0s" {
		t.Errorf("log format %s, lifetime %s; want the file's json, 2h", *format, *life)
	}
	if f.EnrollmentMode != "token" || len(f.TrustedNetworks) != 1 || f.RateLimits.Enroll.Burst != 5 || f.Retention.SourceAddressDays != 7 ||
		f.Webhooks.MaxAttempts != 3 || time.Duration(f.Webhooks.InitialBackoff) != 5*time.Second {
		t.Errorf("file = %+v", f)
	}
	os.WriteFile(path, []byte(`{"adress": "typo"}`), 0o600)
	if _, err := loadServeFile(flag.NewFlagSet("t", flag.ContinueOnError), path); err == nil {
		t.Errorf("an unknown key was accepted")
	}
}
