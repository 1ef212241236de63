package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
)

// Every command but serve and demo opens an existing store only: a
// missing SQLite file or data directory is an error, and nothing is made.
func TestCommandsNeverCreateADatabase(t *testing.T) {
	cmds := [][]string{
		{"stats"}, {"stats", "--json"}, {"devices", "list"}, {"rp", "list"}, {"admin", "token", "list"},
		{"retention", "run"}, {"partners", "add", "--name", "x"}, {"keys", "list"}, {"export"}, {"outbreaks"},
		{"revoke", "--device", "d"},
	}
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("HERD_DATA_DIR", dir)
		for _, c := range cmds {
			db := filepath.Join(dir, "typo.db")
			code, _, errs := herd(t, append(c, "--db", "sqlite:"+db)...)
			if code != 1 || !strings.Contains(errs, "no database at "+db+"; start `herd serve` first or pass --db") {
				t.Errorf("%v: exit %d, stderr %q", c, code, errs)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%v created %s", c, db)
			}
		}
	})
	t.Run("missing data directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nonexistent")
		t.Setenv("HERD_DATA_DIR", dir)
		for _, c := range cmds {
			code, _, errs := herd(t, c...)
			if code != 1 || !strings.Contains(errs, "no database at "+filepath.Join(dir, "herd.db")) {
				t.Errorf("%v: exit %d, stderr %q", c, code, errs)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%v created the data directory", c)
			}
		}
	})
	t.Run("data directory database by default", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("HERD_DATA_DIR", dir)
		newDB(t, filepath.Join(dir, "herd.db"))
		for _, c := range [][]string{{"devices", "list"}, {"rp", "list"}, {"admin", "token", "list"}, {"retention", "run"}, {"stats"}} {
			if code, _, errs := herd(t, c...); code != 0 {
				t.Errorf("%v without --db: exit %d, stderr %q", c, code, errs)
			}
		}
	})
}

// Verdicts plus devices not checked in add up to devices.
func TestStatsCountsDevicesNotCheckedIn(t *testing.T) {
	dsn := tempDB(t)
	ctx := context.Background()
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, id := range []string{"checked", "silent"} {
		if err := st.CreateDevice(ctx, store.Device{ID: id, PublicKey: []byte(strings.Repeat(string(rune('a'+i)), 32)), OS: "linux", EnrolledAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: "checked", ReceivedAt: now, Verdict: health.Warning, PolicyID: "p", OS: "linux", Agent: "a", Statement: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errs := herd(t, "stats", "--db", dsn, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Devices      int64            `json:"devices"`
		ByVerdict    map[string]int64 `json:"by_verdict"`
		NotCheckedIn *int64           `json:"not_checked_in"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.NotCheckedIn == nil || *got.NotCheckedIn != 1 || got.Devices != 2 || got.ByVerdict["warning"] != 1 {
		t.Fatalf("stats %s, want 2 devices, 1 warning, not_checked_in 1", out)
	}
	var sum int64
	for _, n := range got.ByVerdict {
		sum += n
	}
	if sum+*got.NotCheckedIn != got.Devices {
		t.Errorf("verdicts %d + not checked in %d != devices %d", sum, *got.NotCheckedIn, got.Devices)
	}
	_, out, _ = herd(t, "stats", "--db", dsn)
	if !regexp.MustCompile(`(?m)^  not checked in +1$`).MatchString(out) {
		t.Errorf("text stats lack the not-checked-in line:\n%s", out)
	}
}

func TestCLIConsistency(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HERD_DATA_DIR", filepath.Join(dir, "none"))
	dsn := tempDB(t)
	for _, c := range [][]string{{"devices", "-h"}, {"rp", "--help"}, {"admin", "-h"}, {"retention", "-h"}, {"partners", "-h"}} {
		code, out, errs := herd(t, c...)
		if code != 0 || !strings.Contains(out, "usage:") || strings.Contains(errs, "required") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want usage on stdout and 0", c, code, out, errs)
		}
	}
	if code, _, errs := herd(t, "devices", "list", "-h"); code != 0 || strings.Contains(errs, "no database") {
		t.Errorf("devices list -h: exit %d, stderr %q", code, errs)
	}
	// One TTL story: the usage, the flag and the README agree.
	_, adminHelp, _ := herd(t, "admin", "-h")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"herd admin -h": adminHelp, "README": string(readme)} {
		if !strings.Contains(text, "never expires unless") || strings.Contains(text, "--ttl 24h") || strings.Contains(text, "--ttl 72h]") {
			t.Errorf("%s does not say enrollment tokens never expire unless --ttl is given", what)
		}
	}
	code, _, errs := herd(t, "admin", "enrollment-token", "create", "-h")
	if code != 0 || !strings.Contains(errs, "default: never expires") {
		t.Errorf("enrollment-token create -h: exit %d, stderr %q", code, errs)
	}

	if code, _, errs := herd(t, "devices", "list", "--db", dsn, "--verdict", "bogus"); code != 2 || !strings.Contains(errs, `"bogus" is not one of affirming, warning, contraindicated, none`) {
		t.Errorf("--verdict bogus: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := herd(t, "devices", "list", "--db", dsn, "--verdict", "warning"); code != 0 {
		t.Errorf("--verdict warning: exit %d, stderr %q", code, errs)
	}

	// herd -h: every description starts in one column.
	_, out, _ := herd(t, "-h")
	col := -1
	for _, c := range commands {
		m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.name) + `( +)` + regexp.QuoteMeta(c.usage) + `$`).FindStringSubmatchIndex(out)
		if m == nil {
			t.Fatalf("herd -h has no line for %s:\n%s", c.name, out)
		}
		start := 2 + len(c.name) + (m[3] - m[2])
		if col == -1 {
			col = start
		} else if start != col {
			t.Errorf("%s: description at column %d, others at %d", c.name, start, col)
		}
	}
}

func TestServeRefusesBadValues(t *testing.T) {
	t.Setenv("HERD_DATA_DIR", t.TempDir())
	cfg := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(cfg, []byte(`{"cert_lifetime":"banana"}`), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zero lifetime", []string{"--cert-lifetime", "0s"}, "--cert-lifetime 0s is out of range"},
		{"negative lifetime", []string{"--cert-lifetime", "-1h"}, "out of range"},
		{"bad address", []string{"--addr", "nonsense"}, `--addr "nonsense" is not a valid address`},
		{"bad config value", []string{"--config", cfg}, `cert_lifetime: invalid value "banana"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := herd(t, append([]string{"serve"}, tc.args...)...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
		})
	}
}

func TestErrorsSayThingsOnce(t *testing.T) {
	dsn := tempDB(t)
	_, _, errs := herd(t, "revoke", "--db", dsn, "--device", "nope")
	if strings.Count(errs, "device nope") != 1 {
		t.Errorf("revoke unknown device: %q", errs)
	}
	bad := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(bad, []byte(`{not json`), 0o600)
	_, _, errs = herd(t, "verify", "--jwks", bad, "--aud", "a", "x.y.z")
	if strings.Count(errs, "key set") != 1 || !strings.Contains(errs, "not a JWKS document") {
		t.Errorf("verify with a broken key set: %q", errs)
	}
	code, _, errs := herd(t, "rp", "add", "--db", dsn, "--audience", "a", "--webhook", "http://169.254.169.254/latest")
	if code != 1 || !strings.Contains(errs, "link-local") {
		t.Errorf("rp add to the metadata address: exit %d, stderr %q", code, errs)
	}
	code, _, errs = herd(t, "rp", "add", "--db", dsn, "--audience", "b", "--webhook", "http://bank.example/hook")
	if code != 1 || !strings.Contains(errs, "must be https") {
		t.Errorf("rp add plain http: exit %d, stderr %q", code, errs)
	}
	if code, _, errs = herd(t, "rp", "add", "--db", dsn, "--audience", "b", "--webhook", "http://bank.example/hook", "--allow-insecure-webhook"); code != 0 {
		t.Errorf("rp add plain http, allowed: exit %d, stderr %q", code, errs)
	}
}
