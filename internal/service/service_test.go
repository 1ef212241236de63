package service

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/checks/all"
	"github.com/herd-health/herd/internal/source"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGenerated(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		gen  func(Config) string
	}{
		{"herd-agent.service", Config{GOOS: "linux"}, Unit},
		{"herd-agent-authority.service", Config{GOOS: "linux", Authority: "https://health.example/herd%20x"}, Unit},
		{"org.herd.agent.plist", Config{GOOS: "darwin"}, Plist},
		{"org.herd.agent-authority.plist", Config{GOOS: "darwin", Authority: "https://health.example/?a=1&b=2"}, Plist},
		{"windows-service.json", Config{GOOS: "windows", Authority: "https://health.example"}, func(c Config) string {
			b, _ := json.MarshalIndent(Windows(c), "", "  ")
			return string(b) + "\n"
		}},
	} {
		t.Run(c.name, func(t *testing.T) { golden(t, c.name, c.gen(c.cfg)) })
	}
}

func TestUnitContract(t *testing.T) {
	u := Unit(Config{GOOS: "linux"})
	for _, line := range []string{
		"Type=simple", "ExecStart=/usr/local/bin/herd-agent run", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ProtectHome=read-only", "StateDirectory=herd-agent",
		"Restart=on-failure", "WantedBy=multi-user.target",
	} {
		if !strings.Contains(u, "\n"+line+"\n") {
			t.Errorf("unit lacks the line %q", line)
		}
	}
	// systemd reads % as a specifier: a URL's % must be doubled.
	if u := Unit(Config{GOOS: "linux", Authority: "https://h.example/a%20b"}); !strings.Contains(u, "ExecStart=/usr/local/bin/herd-agent run --authority https://h.example/a%%20b\n") {
		t.Errorf("percent not escaped:\n%s", u)
	}
}

func TestPlistIsWellFormed(t *testing.T) {
	p := Plist(Config{GOOS: "darwin", Authority: "https://health.example/?a=1&b=2"})
	dec := xml.NewDecoder(strings.NewReader(p))
	dec.Strict = true
	var strs []string
	inString := false
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("plist is not well-formed XML: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			inString = x.Name.Local == "string"
		case xml.CharData:
			if inString {
				strs = append(strs, string(x))
			}
		case xml.EndElement:
			inString = false
		}
	}
	want := []string{LaunchdLabel, DarwinBinary, "run", "--authority", "https://health.example/?a=1&b=2"}
	for i, w := range want {
		if i >= len(strs) || strs[i] != w {
			t.Fatalf("plist strings %q, want them to start with %q", strs, want)
		}
	}
	for _, k := range []string{"<key>RunAtLoad</key>\n\t<true/>", "<key>KeepAlive</key>\n\t<true/>", "<key>StandardErrorPath</key>"} {
		if !strings.Contains(p, k) {
			t.Errorf("plist lacks %q", k)
		}
	}
}

func TestInstallUninstallRoot(t *testing.T) {
	for _, c := range []struct {
		goos   string
		files  []string // relative to the root
		binary string   // empty: another OS than this one, copied by hand
		link   string   // the enabling symlink
	}{
		// This machine is Linux: the binary is copied for Linux only.
		{"linux", []string{"etc/systemd/system/herd-agent.service"}, "usr/local/bin/herd-agent", "etc/systemd/system/multi-user.target.wants/herd-agent.service"},
		{"darwin", []string{"Library/LaunchDaemons/org.herd.agent.plist"}, "", ""},
		{"windows", []string{WindowsConfigFile}, "", ""},
	} {
		t.Run(c.goos, func(t *testing.T) {
			root := t.TempDir()
			exe := filepath.Join(t.TempDir(), "agent")
			if err := os.WriteFile(exe, []byte("#!/bin/sh\necho agent\n"), 0o700); err != nil {
				t.Fatal(err)
			}
			cfg := Config{GOOS: c.goos, Root: root, Authority: "https://health.example", Executable: exe}
			var out bytes.Buffer
			if err := Install(cfg, &out); err != nil {
				t.Fatal(err)
			}
			check := func(rel string, mode fs.FileMode) []byte {
				t.Helper()
				p := filepath.Join(root, filepath.FromSlash(rel))
				st, err := os.Stat(p)
				if err != nil {
					t.Fatalf("not installed: %v", err)
				}
				if st.Mode().Perm() != mode {
					t.Errorf("%s mode %v, want %v", rel, st.Mode().Perm(), mode)
				}
				b, _ := os.ReadFile(p)
				return b
			}
			if c.binary != "" {
				if b := check(c.binary, 0o755); string(b) != "#!/bin/sh\necho agent\n" {
					t.Errorf("binary not copied: %q", b)
				}
			} else if !strings.Contains(out.String(), "by hand") {
				t.Errorf("install for another OS did not say the binary is copied by hand: %s", out.String())
			}
			if c.link != "" {
				target, err := os.Readlink(filepath.Join(root, filepath.FromSlash(c.link)))
				if err != nil || target != UnitPath {
					t.Errorf("unit not enabled: link to %q (%v)", target, err)
				}
			}
			for _, f := range c.files {
				b := check(f, 0o644)
				if !bytes.Contains(b, []byte("https://health.example")) {
					t.Errorf("%s does not carry the authority", f)
				}
				if !strings.Contains(out.String(), filepath.Join(root, filepath.FromSlash(f))) {
					t.Errorf("install did not tell it wrote %s: %s", f, out.String())
				}
			}
			// Nothing else is written: no temporary files left behind.
			var all []string
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(root, p)
					all = append(all, filepath.ToSlash(rel))
				}
				return nil
			})
			want := len(c.files)
			for _, x := range []string{c.binary, c.link} {
				if x != "" {
					want++
				}
			}
			if len(all) != want {
				t.Errorf("files in root: %q", all)
			}
			// Installing again replaces the files in place.
			if err := Install(cfg, &out); err != nil {
				t.Fatalf("second install: %v", err)
			}
			out.Reset()
			if err := Uninstall(cfg, &out); err != nil {
				t.Fatal(err)
			}
			for _, f := range append(c.files, c.binary, c.link) {
				if f == "" {
					continue
				}
				if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(f))); !os.IsNotExist(err) {
					t.Errorf("%s still there after uninstall (%v)", f, err)
				}
			}
			// Uninstalling what is not installed is not an error.
			if err := Uninstall(cfg, &out); err != nil {
				t.Errorf("second uninstall: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"linux into root", Config{GOOS: "linux", Root: "/tmp/x"}, true},
		{"windows into root", Config{GOOS: "windows", Root: "/tmp/x"}, true},
		{"windows without root on linux", Config{GOOS: "windows"}, false},
		{"plan9", Config{GOOS: "plan9", Root: "/tmp/x"}, false},
		{"authority not a URL", Config{GOOS: "linux", Root: "/tmp/x", Authority: "health.example"}, false},
		{"authority ftp", Config{GOOS: "linux", Root: "/tmp/x", Authority: "ftp://health.example"}, false},
		{"authority with a quote", Config{GOOS: "linux", Root: "/tmp/x", Authority: `https://h.example/"x`}, false},
		{"authority with a newline", Config{GOOS: "linux", Root: "/tmp/x", Authority: "https://h.example/\nExecStartPre=/bin/sh"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.cfg.Validate(); (err == nil) != c.ok {
				t.Errorf("Validate = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// unitService reads the [Service] directives of a unit file.
func unitService(u string) map[string][]string {
	out := map[string][]string{}
	in := false
	for _, line := range strings.Split(u, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "["):
			in = line == "[Service]"
		case in && line != "" && !strings.HasPrefix(line, "#"):
			k, v, _ := strings.Cut(line, "=")
			out[k] = append(out[k], v)
		}
	}
	return out
}

// hidden reports whether the unit's sandbox keeps path from the agent:
// a private /tmp or /var/tmp that no bind mount brings the path into, an
// inaccessible path, or a home directory ProtectHome=yes takes away.
func hidden(svc map[string][]string, path string) bool {
	under := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	for _, key := range []string{"BindPaths", "BindReadOnlyPaths"} {
		for _, v := range svc[key] {
			for _, f := range strings.Fields(v) {
				src, _, _ := strings.Cut(strings.TrimPrefix(f, "-"), ":")
				if under(path, src) {
					return false
				}
			}
		}
	}
	for _, v := range svc["InaccessiblePaths"] {
		for _, f := range strings.Fields(v) {
			if under(path, strings.TrimPrefix(f, "-")) {
				return true
			}
		}
	}
	if slices.Contains(svc["PrivateTmp"], "yes") && (under(path, "/tmp") || under(path, "/var/tmp")) {
		return true
	}
	if slices.Contains(svc["ProtectHome"], "yes") || slices.Contains(svc["ProtectHome"], "tmpfs") {
		if under(path, "/home") || under(path, "/root") || under(path, "/run/user") {
			return true
		}
	}
	return slices.Contains(svc["PrivateDevices"], "yes") && under(path, "/dev")
}

// Every path a Linux check reads is visible to the service: the sandbox
// hardens the agent without blinding a check (a private /tmp once hid the
// X display sockets screen_lock looks for).
func TestUnitHidesNothingTheChecksRead(t *testing.T) {
	svc := unitService(Unit(Config{GOOS: "linux"}))
	if !hidden(map[string][]string{"PrivateTmp": {"yes"}}, "/tmp/.X11-unix") {
		t.Fatal("the sandbox model does not see that a private /tmp hides /tmp/.X11-unix")
	}
	n := 0
	for _, c := range all.Checks() {
		for _, p := range c.Probes("linux") {
			if p.Kind != source.KindFile && p.Kind != source.KindDir || !strings.HasPrefix(p.Path, "/") {
				continue
			}
			n++
			if hidden(svc, p.Path) {
				t.Errorf("the unit hides %s, which %s reads", p.Path, c.ID())
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d paths checked", n)
	}
	if !slices.Contains(svc["BindReadOnlyPaths"], "-/tmp/.X11-unix") {
		t.Errorf("the X11 socket directory is not bound read-only: %v", svc["BindReadOnlyPaths"])
	}
}

// systemd itself accepts the unit, when systemd-analyze is installed.
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "herd-agent")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(Unit(Config{GOOS: "linux"}), "/usr/local/bin/herd-agent", bin)
	p := filepath.Join(dir, "herd-agent.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, "verify", p).CombinedOutput()
	// Complaints about the machine (no running systemd, no dbus) are not
	// the unit's; complaints naming the unit file are.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "herd-agent.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	if err != nil && len(out) == 0 {
		t.Errorf("systemd-analyze verify: %v", err)
	}
}
