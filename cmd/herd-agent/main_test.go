package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/all"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/source"
)

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

type report struct {
	OS     string `json:"os"`
	Checks []struct {
		ID     health.CheckID `json:"id"`
		Status health.Status  `json:"status"`
		Reason string         `json:"reason"`
	} `json:"checks"`
}

func decodeReport(t *testing.T, s string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("check --json: %v\n%s", err, s)
	}
	if len(r.Checks) != len(health.CheckIDs) {
		t.Fatalf("%d checks, want %d", len(r.Checks), len(health.CheckIDs))
	}
	return r
}

// Live and replayed results agree on this machine: what collect records
// is everything the checks need.
func TestCollectThenReplayMatchesLive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every check live twice")
	}
	snap := filepath.Join(t.TempDir(), "snap.json")
	if _, stderr, code := runCmd(t, "collect", "-o", snap); code != 0 {
		t.Fatalf("collect exit %d: %s", code, stderr)
	}
	st, err := os.Stat(snap)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("snapshot mode %v, want 0600", st.Mode().Perm())
	}
	// A state directory of its own: what an earlier run on this machine
	// remembers would judge beyond what a snapshot holds.
	dir := t.TempDir()
	live, stderr, code := runCmd(t, "check", "--dir", dir, "--json", "--lang", "en")
	if code != 0 {
		t.Fatalf("check exit %d: %s", code, stderr)
	}
	replayed, stderr, code := runCmd(t, "check", "--dir", dir, "--snapshot", snap, "--json", "--lang", "en")
	if code != 0 {
		t.Fatalf("check --snapshot exit %d: %s", code, stderr)
	}
	l, r := decodeReport(t, live), decodeReport(t, replayed)
	for i := range l.Checks {
		t.Run(string(l.Checks[i].ID), func(t *testing.T) {
			if r.Checks[i].ID != l.Checks[i].ID || r.Checks[i].Status != l.Checks[i].Status {
				t.Errorf("live %s %s (%s)\nreplayed %s %s (%s)",
					l.Checks[i].ID, l.Checks[i].Status, l.Checks[i].Reason,
					r.Checks[i].ID, r.Checks[i].Status, r.Checks[i].Reason)
			}
		})
	}
	// A snapshot holds no database bodies: the ClamAV databases are
	// recorded by their heads only.
	s, err := source.LoadSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range s.Files {
		if len(f.Data) > source.ProbeFileLimit {
			t.Errorf("%s recorded with %d bytes", name, len(f.Data))
		}
	}
}

// The live check remembers in the state directory when it first saw each
// pending update; a snapshot is judged without that memory and leaves it
// alone.
func TestCheckRemembersPendingUpdates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every check live")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("no APT here: pending_updates keeps nothing on this machine")
	}
	dir := t.TempDir()
	state := filepath.Join(dir, checkStateFile)
	snap := filepath.Join(t.TempDir(), "snap.json")
	if _, stderr, code := runCmd(t, "collect", "--dir", dir, "-o", snap); code != 0 {
		t.Fatalf("collect exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCmd(t, "check", "--dir", dir, "--snapshot", snap, "--json"); code != 0 {
		t.Fatalf("check --snapshot exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("collect or a snapshot check wrote %s: %v", state, err)
	}
	out, stderr, code := runCmd(t, "check", "--dir", dir, "--json")
	if code != 0 {
		t.Fatalf("check exit %d: %s", code, stderr)
	}
	for _, c := range decodeReport(t, out).Checks {
		if c.ID == health.PendingUpdates && strings.Contains(c.Reason, "could not") {
			t.Skipf("pending_updates could not read APT here: %s", c.Reason)
		}
	}
	st, err := os.Stat(state)
	if err != nil {
		t.Fatalf("the live check kept no state: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("state mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(state)
	if !strings.Contains(string(b), `"pending_updates/apt"`) || !strings.Contains(string(b), `"watching_since"`) {
		t.Errorf("state holds no pending_updates memory:\n%s", b)
	}
}

func TestCheckUsage(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"unknown language", []string{"check", "--lang", "fr"}, 2},
		{"extra argument", []string{"check", "now"}, 2},
		{"missing snapshot", []string{"check", "--snapshot", "/nonexistent/snap.json"}, 1},
		{"unknown command", []string{"frobnicate"}, 2},
		{"probes for an unknown OS", []string{"probes", "--os", "plan9"}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, _, code := runCmd(t, c.args...); code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
		})
	}
}

func TestProbes(t *testing.T) {
	kinds := map[string]bool{"file": true, "dir": true, "command": true, "wmi": true, "registry": true, "processes": true, "connections": true}
	for _, c := range []struct {
		goos        string
		processes   string
		connections string
		mustHave    []string // kind\twhat, somewhere
		mustNotHave string
	}{
		{"linux", "/proc/[pid]/comm", "/proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6",
			[]string{"command\tnft list ruleset", "file\t/etc/os-release"}, "wmi"},
		{"darwin", "ps -axo pid=,comm=", "lsof -nP -iTCP -iUDP",
			[]string{"command\tfdesetup status"}, "wmi"},
		{"windows", "CreateToolhelp32Snapshot", "netstat -ano",
			[]string{"wmi\troot/SecurityCenter2:AntiVirusProduct"}, "\tfile\t/etc/"},
	} {
		t.Run(c.goos, func(t *testing.T) {
			out, stderr, code := runCmd(t, "probes", "--os", c.goos)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if want := len(checks.AllProbes(all.Checks(), c.goos)); len(lines) != want {
				t.Errorf("%d lines, want one per probe (%d)", len(lines), want)
			}
			seen := map[health.CheckID]bool{}
			var sawProc, sawConn bool
			for _, line := range lines {
				f := strings.Split(line, "\t")
				if len(f) != 3 || f[0] == "" || !kinds[f[1]] || f[2] == "" {
					t.Errorf("line %q is not check\\tkind\\twhat", line)
					continue
				}
				seen[health.CheckID(f[0])] = true
				switch f[1] {
				case "processes":
					sawProc = true
					if !strings.Contains(f[2], c.processes) {
						t.Errorf("processes line %q does not name %q", line, c.processes)
					}
				case "connections":
					sawConn = true
					if !strings.Contains(f[2], c.connections) {
						t.Errorf("connections line %q does not name %q", line, c.connections)
					}
				}
			}
			if !sawProc || !sawConn {
				t.Errorf("no processes (%v) or connections (%v) line", sawProc, sawConn)
			}
			for _, m := range c.mustHave {
				if !strings.Contains(out, m) {
					t.Errorf("no line with %q", m)
				}
			}
			if strings.Contains(out, c.mustNotHave) {
				t.Errorf("%s probes mention %q", c.goos, c.mustNotHave)
			}
			// Every check that reads anything on this OS is listed.
			for _, ch := range all.Checks() {
				if len(ch.Probes(c.goos)) > 0 && !seen[ch.ID()] {
					t.Errorf("check %s has probes but no line", ch.ID())
				}
			}
		})
	}
}

// startNode runs a real authority on SQLite on a loopback port.
func startNode(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	n, err := node.Open(context.Background(), node.Config{
		DSN:       "sqlite:" + filepath.Join(t.TempDir(), "herd.db"),
		Authority: authority.Config{Issuer: url},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: n.Authority}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); n.Close() })
	return url
}

func TestStatusAfterCheckIn(t *testing.T) {
	url := startNode(t)
	dir := t.TempDir()
	if out, stderr, code := runCmd(t, "enroll", "--dir", dir, url); code != 0 || !strings.Contains(out, "enrolled with "+url) {
		t.Fatalf("enroll exit %d: %s %s", code, out, stderr)
	}
	if _, stderr, code := runCmd(t, "trust", "--dir", dir, "--audience", "shop.example"); code != 0 {
		t.Fatalf("trust: %s", stderr)
	}
	// Before a check-in, status says so.
	out, _, code := runCmd(t, "status", "--dir", dir, "--lang", "en")
	if code != 0 || !strings.Contains(out, "No check-in yet") {
		t.Errorf("status before a check-in (exit %d):\n%s", code, out)
	}
	// One check-in from a recorded Linux system whose firewall fails.
	snap := source.NewSnapshot("linux", time.Now().UTC(), "USER", "")
	snap.Files["/etc/os-release"] = source.FileEntry{Data: []byte("ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")}
	snap.Commands = []source.CommandEntry{{Argv: []string{"nft", "list", "ruleset"}, Stdout: "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n"}}
	a := newAgent(dir, source.NewReplay(snap), nil)
	last, err := a.CheckIn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(last.Response.Certificates) != 1 {
		t.Fatalf("certificates: %+v", last.Response.Certificates)
	}
	for _, c := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"Authority: " + url, "Last check-in:", "Verdict: warning", "[FAIL] firewall", "How to fix:", "Certificate for shop.example, valid until"}},
		{"zh-CN", []string{"健康机构： " + url, "上次签到：", "结论： 警告", "[FAIL] firewall", "未通过", "修复方法：", "证书用于 shop.example，"}},
	} {
		t.Run(c.lang, func(t *testing.T) {
			out, stderr, code := runCmd(t, "status", "--dir", dir, "--lang", c.lang)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("status lacks %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("LANG=zh_CN.UTF-8", func(t *testing.T) {
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", "zh_CN.UTF-8")
		out, _, _ := runCmd(t, "status", "--dir", dir)
		if !strings.Contains(out, "健康机构：") {
			t.Errorf("status under LANG=zh_CN.UTF-8 is not in Chinese:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, _, code := runCmd(t, "status", "--dir", dir, "--json")
		var v struct {
			Verdict      health.Tier      `json:"verdict"`
			Findings     []health.Finding `json:"findings"`
			Certificates []map[string]any `json:"certificates"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Fatalf("status --json (exit %d): %s", code, out)
		}
		if v.Verdict != last.Response.Verdict || len(v.Certificates) != 1 || v.Certificates[0]["aud"] != "shop.example" {
			t.Errorf("status --json: %+v", v)
		}
	})
}

func TestInstallIntoRoot(t *testing.T) {
	root := t.TempDir()
	out, stderr, code := runCmd(t, "install", "--root", root, "--os", "linux", "--authority", "https://health.example")
	if code != 0 {
		t.Fatalf("install exit %d: %s", code, stderr)
	}
	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/herd-agent.service"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(unit), "ExecStart=/usr/local/bin/herd-agent run --authority https://health.example\n") {
		t.Errorf("unit:\n%s", unit)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/local/bin/herd-agent")); err != nil {
		t.Errorf("binary not installed: %v", err)
	}
	if _, stderr, code := runCmd(t, "uninstall", "--root", root, "--os", "linux"); code != 0 {
		t.Fatalf("uninstall exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/systemd/system/herd-agent.service")); !os.IsNotExist(err) {
		t.Errorf("unit still there: %v", err)
	}
	if _, stderr, code := runCmd(t, "install", "--os", "windows"); code != 1 || !strings.Contains(stderr, "--root") {
		t.Errorf("installing a Windows service here without --root: exit %d, %s", code, stderr)
	}
}

// BenchmarkFullCheckLive runs every check once against this machine, as
// `herd-agent check` does.
func BenchmarkFullCheckLive(b *testing.B) {
	a := &agent.Agent{Checks: all.Checks(), Source: source.NewLive()}
	ctx := context.Background()
	for b.Loop() {
		a.RunChecks(ctx)
	}
}
