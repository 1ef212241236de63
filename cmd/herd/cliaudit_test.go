package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/store"
)

// cliAuditCase runs one audited verb of a command: once so that it
// succeeds and, where it can, once so that it fails after it started.
type cliAuditCase struct {
	setup  func(t *testing.T, dsn string) // before the runs
	ok     []string                       // arguments after the command and verb
	bad    []string                       // nil: the verb has no failure past its start
	target string                         // of the ok run
	badTgt string                         // of the bad run
	stdin  string                         // for a password prompt
	// after: the verb is a read or an export, recorded once it ran.
	after bool
}

const auditDevice = "dev-audited"

func withDevice(t *testing.T, dsn string) {
	t.Helper()
	st, err := openOps(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateDevice(context.Background(), store.Device{ID: auditDevice, PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func withCLI(args ...string) func(t *testing.T, dsn string) {
	return func(t *testing.T, dsn string) {
		t.Helper()
		full := append(append([]string{}, args...), "--db", dsn)
		if code, out, errs := herd(t, full...); code != 0 {
			t.Fatalf("setup %v: exit %d %s %s", args, code, out, errs)
		}
	}
}

// cliAuditCases holds a case for every audited verb in the command
// table; TestEveryCLIActionIsAudited fails on a verb without one.
var cliAuditCases = map[string]cliAuditCase{
	"keys rotate": {setup: withCLI("keys", "list"), ok: []string{"--alg", "ES256"}, target: "ES256", bad: []string{"--alg", "RS256"}, badTgt: "RS256"},
	"revoke":      {setup: withDevice, ok: []string{"--device", auditDevice}, target: auditDevice, bad: []string{"--device", "nope"}, badTgt: "nope"},
	"export":      {ok: []string{"--format", "json"}, target: "json", after: true},
	"admin token create": {ok: []string{"--name", "ops"}, target: "ops",
		bad: []string{"--name", "ops"}, badTgt: "ops"}, // the name is taken by then
	"admin token revoke": {setup: withCLI("admin", "token", "create", "--name", "ops"), ok: []string{"--name", "ops"}, target: "ops",
		bad: []string{"--name", "nope"}, badTgt: "nope"},
	"admin enrollment-token create": {ok: []string{"--name", "lab", "--ttl", "72h"}, target: "lab",
		bad: []string{"--name", "x", "--ttl", "soon"}, badTgt: "x"},
	"admin enrollment-token revoke": {setup: withCLI("admin", "enrollment-token", "create", "--name", "lab"), ok: []string{"--name", "lab"}, target: "lab",
		bad: []string{"--name", "nope"}, badTgt: "nope"},
	"admin user create": {ok: []string{"--name", "alice"}, target: "alice", stdin: "a long enough password\n",
		bad: []string{"--name", "alice"}, badTgt: "alice"},
	"devices list": {ok: []string{"--prefix", "dev-"}, target: "dev-"},
	"devices show": {setup: withDevice, ok: []string{"--id", auditDevice}, target: auditDevice, bad: []string{"--id", "nope"}, badTgt: "nope"},
	"devices delete": {setup: withDevice, ok: []string{"--id", auditDevice}, target: auditDevice,
		bad: []string{"--id", auditDevice}, badTgt: auditDevice}, // deleted by then
	"devices clear-sighting": {setup: withDevice, ok: []string{"--device", auditDevice}, target: auditDevice, bad: []string{"--device", "nope"}, badTgt: "nope"},
	"rp add": {ok: []string{"--audience", "https://bank.example", "--webhook", "https://bank.example/hook"}, target: "https://bank.example",
		bad: []string{"--audience", "https://shop.example", "--webhook", "ftp://x"}, badTgt: "https://shop.example"},
	"rp remove": {setup: withCLI("rp", "add", "--audience", "https://bank.example", "--webhook", "https://bank.example/hook"),
		ok: []string{"--audience", "https://bank.example"}, target: "https://bank.example", bad: []string{"--audience", "https://none.example"}, badTgt: "https://none.example"},
	"policy set": {ok: []string{"testdata/policy-bank.json"}, target: "bank-strict@2",
		bad: []string{"testdata/policy-bank-edited.json"}, badTgt: "bank-strict@2"}, // other rules under a stored version
	"retention run": {ok: []string{"--history-days", "400"}, target: "source_address_days=30 history_days=400"},
	"partners add":  {ok: []string{"--name", "CERT-X"}, target: "CERT-X", bad: []string{"--name", "CERT-X"}, badTgt: "CERT-X"},
	"partners remove": {setup: withCLI("partners", "add", "--name", "CERT-X"), ok: []string{"--name", "CERT-X"}, target: "CERT-X",
		bad: []string{"--name", "CERT-Y"}, badTgt: "CERT-Y"},
	"admin user delete": {setup: withConsoleUser("alice"), ok: []string{"--name", "alice"}, target: "alice",
		bad: []string{"--name", "bob"}, badTgt: "bob"},
	"outbreaks detect": {ok: []string{}, target: time.Now().UTC().Format(time.DateOnly)},
	"intel import": {ok: []string{"../../internal/intel/testdata/feodo-ipblocklist.csv"}, target: "../../internal/intel/testdata/feodo-ipblocklist.csv",
		bad: []string{"../../internal/intel/testdata/NOTES.md"}, badTgt: "../../internal/intel/testdata/NOTES.md"},
	"sightings import": {ok: []string{"../../internal/intel/testdata/sightings-plain.csv"}, target: "../../internal/intel/testdata/sightings-plain.csv",
		bad: []string{"../../internal/intel/testdata/NOTES.md"}, badTgt: "../../internal/intel/testdata/NOTES.md"},
}

// cliAuditGaps are audited verbs of the table whose command does not
// write its record yet, with why; each is reported, none passes silently.
var cliAuditGaps = map[string]string{}

// withConsoleUser makes a console account, its password read as from a
// prompt.
func withConsoleUser(name string) func(t *testing.T, dsn string) {
	return func(t *testing.T, dsn string) {
		t.Helper()
		passwordInput = strings.NewReader("a long enough password\n")
		if code, out, errs := herd(t, "admin", "user", "create", "--name", name, "--db", dsn); code != 0 {
			t.Fatalf("setup: admin user create: exit %d %s %s", code, out, errs)
		}
	}
}

// auditedVerbs lists "command verb" for every audited verb in the table.
func auditedVerbs(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, c := range commands {
		if len(c.audits) == 0 && c.noAudit == "" {
			t.Errorf("herd %s neither lists the audit actions of its verbs nor says why it records none", c.name)
		}
		for verb, action := range c.audits {
			out[strings.TrimSpace(c.name+" "+verb)] = action
		}
	}
	return out
}

func newestAudit(t *testing.T, dsn string) store.AuditEntry {
	t.Helper()
	st, err := openOps(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := st.AuditLog(context.Background(), 1)
	if err != nil || len(log) == 0 {
		t.Fatalf("audit log: %v %v", log, err)
	}
	return log[0]
}

func auditCount(t *testing.T, dsn string) int {
	t.Helper()
	st, err := openOps(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := st.AuditLog(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(log)
}

// TestEveryCLIActionIsAudited runs every audited verb of the command
// table, to success and to failure, and reads its record: action, target
// and outcome, as cli:<user>.
func TestEveryCLIActionIsAudited(t *testing.T) {
	t.Setenv(keyring.KEKEnv, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	defer func(r interface{ Read([]byte) (int, error) }) { passwordInput = r }(passwordInput)
	verbs := auditedVerbs(t)
	names := make([]string, 0, len(verbs))
	for v := range verbs {
		names = append(names, v)
	}
	sort.Strings(names)
	for _, name := range names {
		action := verbs[name]
		t.Run(name, func(t *testing.T) {
			if why, gap := cliAuditGaps[name]; gap {
				t.Logf("not audited: %s", why)
				return
			}
			tc, ok := cliAuditCases[name]
			if !ok {
				t.Fatalf("herd %s (audit action %s) has no case in cliAuditCases", name, action)
			}
			dsn := tempDB(t)
			if tc.setup != nil {
				tc.setup(t, dsn)
			}
			runs := []struct {
				args           []string
				target, result string
			}{{tc.ok, tc.target, "ok"}}
			if tc.bad != nil {
				runs = append(runs, struct {
					args           []string
					target, result string
				}{tc.bad, tc.badTgt, "error"})
			}
			for _, r := range runs {
				passwordInput = strings.NewReader(tc.stdin)
				before := auditCount(t, dsn)
				args := append(append(strings.Fields(name), "--db", dsn), r.args...)
				code, out, errs := herd(t, args...)
				if (code == 0) != (r.result == "ok") {
					t.Fatalf("%v: exit %d (%s %s), want outcome %s", args, code, out, errs, r.result)
				}
				if n := auditCount(t, dsn); n != before+1 {
					t.Errorf("%v wrote %d audit records, want 1", args, n-before)
				}
				e := newestAudit(t, dsn)
				if e.Action != action || e.Target != r.target || e.Outcome != r.result || !strings.HasPrefix(e.Actor, "cli") || e.SourceIP != "local" {
					t.Errorf("%v: audit record %+v, want action %s, target %q, outcome %s", args, e, action, r.target, r.result)
				}
			}
		})
	}
}

// TestCLIActionsNeedTheirAuditRecord: when the audit log cannot be
// written, every verb that changes the store refuses to act, and shows
// no secret it would have made.
func TestCLIActionsNeedTheirAuditRecord(t *testing.T) {
	t.Setenv(keyring.KEKEnv, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	defer func(r interface{ Read([]byte) (int, error) }) { passwordInput = r }(passwordInput)
	for name := range auditedVerbs(t) {
		tc, ok := cliAuditCases[name]
		if !ok || tc.after {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "herd.db")
			dsn := newDB(t, path)
			if tc.setup != nil {
				tc.setup(t, dsn)
			}
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log refused'); END`); err != nil {
				t.Fatal(err)
			}
			snapshot := func() string {
				var b strings.Builder
				for _, q := range []string{`SELECT COUNT(*) FROM signing_keys`, `SELECT COUNT(*) FROM admin_tokens`, `SELECT COUNT(*) FROM admin_tokens WHERE revoked_at IS NOT NULL`,
					`SELECT COUNT(*) FROM enrollment_tokens`, `SELECT COUNT(*) FROM enrollment_tokens WHERE revoked_at IS NOT NULL`, `SELECT COUNT(*) FROM relying_parties`,
					`SELECT COUNT(*) FROM devices`, `SELECT COUNT(*) FROM console_users`, `SELECT COUNT(*) FROM partners`, `SELECT COUNT(*) FROM indicators`, `SELECT COUNT(*) FROM sightings`, `SELECT COUNT(*) FROM policy_activations`} {
					var n int
					if err := db.QueryRow(q).Scan(&n); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
					fmt.Fprintf(&b, "%s: %d\n", q, n)
				}
				return b.String()
			}
			was := snapshot()
			passwordInput = strings.NewReader(tc.stdin)
			code, out, errs := herd(t, append(append(strings.Fields(name), "--db", dsn), tc.ok...)...)
			if code == 0 || out != "" {
				t.Errorf("with no audit log: exit %d, stdout %q, stderr %q; want a failure and nothing shown", code, out, errs)
			}
			if !strings.Contains(errs, "audit") {
				t.Errorf("stderr %q does not say the audit log failed", errs)
			}
			if now := snapshot(); now != was {
				t.Errorf("the store changed without its audit record:\nbefore %s\nafter  %s", was, now)
			}
			db.Close()
		})
	}
}
