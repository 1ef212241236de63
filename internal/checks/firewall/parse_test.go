package firewall

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// transcriptOutput returns what followed the prompt line "$ cmd" in a
// captured transcript.
func transcriptOutput(t testing.TB, name, cmd string) string {
	t.Helper()
	var out []string
	in := false
	for _, l := range strings.Split(readTestdata(t, name), "\n") {
		if strings.HasPrefix(l, "$ ") {
			if in {
				break
			}
			in = strings.TrimPrefix(l, "$ ") == cmd
			continue
		}
		if in {
			out = append(out, l)
		}
	}
	if !in {
		t.Fatalf("%s: no command %q", name, cmd)
	}
	return strings.Join(out, "\n")
}

func TestParseNft(t *testing.T) {
	tests := []struct {
		name        string
		text        string
		tables      int
		inputChains int
		blocks      bool
		policy      string
	}{
		{"default deny", readTestdata(t, "linux/nft-list-ruleset-default-deny.txt"), 1, 1, true, "drop"},
		{"debian default accept", readTestdata(t, "linux/nft-list-ruleset-debian-default-accept.txt"), 1, 1, false, "accept"},
		{"empty", readTestdata(t, "linux/nft-list-ruleset-empty.txt"), 0, 0, false, ""},
		{"case-16 native nftables", transcriptOutput(t, "linux/case-16-nftables-native-no-ufw.transcript.txt", "sudo nft list ruleset"), 1, 1, true, "drop"},
		{"accept policy, catch-all reject", "table inet firewalld {\n\tchain filter_INPUT {\n\t\ttype filter hook input priority filter + 10; policy accept;\n\t\tct state { established, related } accept\n\t\tiifname \"lo\" accept\n\t\tjump filter_INPUT_ZONES\n\t\treject with icmpx admin-prohibited\n\t}\n}\n", 1, 1, true, "accept"},
		{"accept policy, rate-limited drop is no catch-all", "table inet f {\n\tchain in {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tlimit rate 5/minute drop\n\t}\n}\n", 1, 1, false, "accept"},
		{"set spread over lines", "table inet f {\n\tset blocked {\n\t\ttype ipv4_addr\n\t\telements = { 192.0.2.1,\n\t\t\t     192.0.2.2 }\n\t}\n\tchain in {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tip saddr @blocked drop\n\t}\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t}\n}\n", 1, 1, true, "drop"},
		{"iptables-nft warning comment", "# Warning: table ip filter is managed by iptables-nft, do not touch!\ntable ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n", 1, 1, true, "drop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := ParseNft(tt.text)
			if rs.Tables != tt.tables {
				t.Errorf("tables = %d, want %d", rs.Tables, tt.tables)
			}
			in := rs.InputChains()
			if len(in) != tt.inputChains {
				t.Fatalf("input chains = %d, want %d (%+v)", len(in), tt.inputChains, rs.Chains)
			}
			if len(in) > 0 {
				if in[0].Blocks() != tt.blocks {
					t.Errorf("Blocks() = %v, want %v (%+v)", in[0].Blocks(), tt.blocks, in[0])
				}
				if in[0].Policy != tt.policy {
					t.Errorf("policy = %q, want %q", in[0].Policy, tt.policy)
				}
			}
		})
	}
	// The forward and output chains of the default-deny ruleset are read too.
	rs := ParseNft(readTestdata(t, "linux/nft-list-ruleset-default-deny.txt"))
	if len(rs.Chains) != 3 || rs.Chains[0].Name != "input" || len(rs.Chains[0].Rules) != 6 || rs.Chains[2].Hook != "output" {
		t.Errorf("chains = %+v", rs.Chains)
	}
}

func TestNftCatchAllBlock(t *testing.T) {
	tests := []struct {
		rule string
		want bool
	}{
		{"drop", true},
		{"counter packets 0 bytes 0 drop", true},
		{`log prefix "nft-drop: " counter drop`, true},
		{"reject with icmpx admin-prohibited", true},
		{"counter reject with tcp reset", true},
		{"tcp dport 22 drop", false},
		{"ct state invalid drop", false},
		{`counter packets 0 bytes 0 log prefix "x" limit rate 5/minute burst 5 packets drop`, false},
		{"accept", false},
		{`iifname "drop" accept`, false},
		{"drop comment \"x\"", false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			if got := nftCatchAllBlock(tt.rule); got != tt.want {
				t.Errorf("nftCatchAllBlock(%q) = %v, want %v", tt.rule, got, tt.want)
			}
		})
	}
}

func TestParseIptablesSave(t *testing.T) {
	tests := []struct {
		file, backend string
		blocks        bool
		why           string
	}{
		{"linux/iptables-save-legacy-input-drop.txt", "legacy", true, "INPUT policy DROP"},
		{"linux/iptables-save-nft-final-reject.txt", "nf_tables", true, "last rule REJECTs the rest"},
		{"linux/iptables-save-nft-accept-port-drop.txt", "nf_tables", false, "no catch-all"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d := ParseIptablesSave(readTestdata(t, tt.file))
			if d.Backend != tt.backend {
				t.Errorf("backend = %q, want %q", d.Backend, tt.backend)
			}
			blocks, why := d.InputBlocks()
			if blocks != tt.blocks || !strings.Contains(why, tt.why) {
				t.Errorf("InputBlocks() = %v, %q; want %v, %q", blocks, why, tt.blocks, tt.why)
			}
		})
	}
	if d := ParseIptablesSave(""); !d.Empty() {
		t.Errorf("empty dump is not empty: %+v", d)
	}
	if b, why := ParseIptablesSave("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n").InputBlocks(); b || why != "no filter table" {
		t.Errorf("nat only: %v %q", b, why)
	}
}

func TestIptablesCatchAllBlock(t *testing.T) {
	tests := []struct {
		rule string
		want bool
	}{
		{"-j DROP", true},
		{"-j REJECT --reject-with icmp-host-prohibited", true},
		{`-m comment --comment "drop the rest" -j DROP`, true},
		{"-p tcp -m tcp --dport 23 -j DROP", false},
		{"-i eth0 -j DROP", false},
		{"-j ACCEPT", false},
		{"-j ufw-before-input", false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			if got := iptablesCatchAllBlock(tt.rule); got != tt.want {
				t.Errorf("iptablesCatchAllBlock(%q) = %v, want %v", tt.rule, got, tt.want)
			}
		})
	}
}

func TestParseUFWStatus(t *testing.T) {
	tests := []struct {
		file     string
		active   bool
		incoming string
		blocks   bool
	}{
		{"linux/ufw-status-verbose-active.txt", true, "deny", true},
		{"linux/ufw-status-verbose-active-allow-incoming.txt", true, "allow", false},
		{"linux/ufw-status-verbose-inactive.txt", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := ParseUFWStatus(readTestdata(t, tt.file))
			if !s.Known || s.Active != tt.active || s.Incoming != tt.incoming || s.Blocks() != tt.blocks {
				t.Errorf("got %+v (blocks %v), want active %v incoming %q blocks %v", s, s.Blocks(), tt.active, tt.incoming, tt.blocks)
			}
		})
	}
	if s := ParseUFWStatus("ERROR: You need to be root to run this script\n"); s.Known {
		t.Errorf("error text parsed as a status: %+v", s)
	}
	if s := ParseUFWStatus("Status: active\nDefault: reject (incoming), allow (outgoing), disabled (routed)\n"); !s.Blocks() {
		t.Errorf("reject (incoming) does not block: %+v", s)
	}
}

func TestParseFirewalldState(t *testing.T) {
	tests := []struct {
		name string
		text string
		exit int
		want FirewalldState
	}{
		{"running", readTestdata(t, "linux/firewall-cmd-state-running.txt"), 0, FirewalldRunning},
		{"not running exit 252", readTestdata(t, "linux/firewall-cmd-state-not-running.txt"), 252, FirewalldNotRunning},
		// "not running" contains "running": a grep would call it running.
		{"not running, exit 0", readTestdata(t, "linux/firewall-cmd-state-not-running.txt"), 0, FirewalldNotRunning},
		{"case-15 transcript", transcriptOutput(t, "linux/case-15-firewalld-running.transcript.txt", "sudo firewall-cmd --state"), 0, FirewalldRunning},
		{"running but failed", "running\n", 1, FirewalldUnfamiliar},
		{"dbus error", "Error: something else\n", 2, FirewalldUnfamiliar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseFirewalldState(tt.text, tt.exit); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseShellVars(t *testing.T) {
	m := ParseShellVars("# comment\nENABLED=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDefaultZone=public # trailing\nexport X='y'\nnot a var\n")
	want := map[string]string{"ENABLED": "yes", "DEFAULT_INPUT_POLICY": "DROP", "DefaultZone": "public", "X": "y"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("got %v", m)
	}
}

func TestParseNetshProfiles(t *testing.T) {
	got := ParseNetshProfiles(readTestdata(t, "windows/netsh-advfirewall-allprofiles-state.txt"))
	want := []Profile{{Name: "Domain", Enabled: "on"}, {Name: "Private", Enabled: "on"}, {Name: "Public", Enabled: "off"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if p := ParseNetshProfiles("Profil Domaine:\nÉtat   ACTIVÉ\n"); len(p) != 0 {
		t.Errorf("another language gave %+v", p)
	}
}

func TestParseNetFirewallProfiles(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Profile
	}{
		{"numbers", `[{"Name":"Domain","Enabled":1,"DefaultInboundAction":0},{"Name":"Public","Enabled":0,"DefaultInboundAction":4}]`,
			[]Profile{{Name: "Domain", Enabled: "on"}, {Name: "Public", Enabled: "off"}}},
		{"names", `[{"Name":"Private","Enabled":"True","DefaultInboundAction":"Allow"},{"Name":"Public","Enabled":"NotConfigured","DefaultInboundAction":"Block"}]`,
			[]Profile{{Name: "Private", Enabled: "on", InboundAllowed: true}, {Name: "Public", Enabled: ""}}},
		{"single object with BOM", "\ufeff{\"Name\":\"Public\",\"Enabled\":true,\"DefaultInboundAction\":2}",
			[]Profile{{Name: "Public", Enabled: "on", InboundAllowed: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNetFirewallProfiles(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	for _, bad := range []string{"", "not json", "[1,2]x"} {
		if _, err := ParseNetFirewallProfiles(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestDecodeProductState(t *testing.T) {
	// Rows of wsc-productstate-decoding.md.
	tests := []struct {
		v        uint32
		fw, av   bool
		state    string
		upToDate bool
	}{
		{262144, false, true, "off", true},
		{262160, false, true, "off", false},
		{266240, false, true, "on", true},
		{393472, false, true, "off", true},
		{397568, false, true, "on", true},
		{397584, false, true, "on", false},
		{401664, false, true, "snoozed", true},
		{69632, true, false, "on", true},
		{65536, true, false, "off", true},
		{0x013000, true, false, "expired", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_%#06x", tt.v, tt.v), func(t *testing.T) {
			p := DecodeProductState(tt.v)
			if (p.Providers&ProviderFirewall != 0) != tt.fw || (p.Providers&ProviderAntivirus != 0) != tt.av || p.State != tt.state || p.UpToDate != tt.upToDate {
				t.Errorf("DecodeProductState(%d) = %+v", tt.v, p)
			}
		})
	}
	// The captured FirewallProduct row.
	text := readTestdata(t, "windows/wsc-firewallproduct-get-ciminstance.txt")
	if !strings.Contains(text, "productState             : 69632") {
		t.Fatal("fixture changed")
	}
	if v, err := productStateValue(float64(69632)); err != nil || !DecodeProductState(v).On() {
		t.Errorf("69632 from JSON: %v %v", v, err)
	}
	for _, bad := range []any{-1.0, 1.5, "x", nil, int64(-3), uint64(1 << 40)} {
		if _, err := productStateValue(bad); err == nil {
			t.Errorf("productStateValue(%v): no error", bad)
		}
	}
}

func TestParseSocketfilterfw(t *testing.T) {
	tests := []struct {
		file              string
		state             int
		stealth, blockAll string
		errors            int
	}{
		{"darwin/socketfilterfw-getglobalstate-on.txt", 1, "", "", 0},
		{"darwin/socketfilterfw-getglobalstate-off.txt", 0, "", "", 0},
		{"darwin/socketfilterfw-multi-get-new-wording.txt", 1, "on", "off", 0},
		{"darwin/socketfilterfw-multi-get-old-wording.txt", 1, "on", "off", 0},
		// An ALF error line is not "off".
		{"darwin/case-03-socketfilterfw-stealth-type-error.txt", 1, "", "off", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := ParseSocketfilterfw(readTestdata(t, tt.file))
			if s.State != tt.state || s.Stealth != tt.stealth || s.BlockAll != tt.blockAll || len(s.Errors) != tt.errors {
				t.Errorf("got %+v", s)
			}
		})
	}
	got := ParseSocketfilterfw(transcriptOutput(t, "darwin/case-02-macos15-alf-plist-missing.transcript.txt", "/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate"))
	if got.State != 1 {
		t.Errorf("case-02: %+v", got)
	}
	// Words alone are not a state.
	if s := ParseSocketfilterfw("Firewall is enabled.\n"); s.State != -1 {
		t.Errorf("state from words: %+v", s)
	}
	defaults := transcriptOutput(t, "darwin/case-02-macos15-alf-plist-missing.transcript.txt", "defaults read /Library/Preferences/com.apple.alf globalstate")
	if _, ok := ParseDefaultsInt(defaults); ok {
		t.Errorf("missing domain parsed as a value: %q", defaults)
	}
	if n, ok := ParseDefaultsInt("2\n"); !ok || n != 2 {
		t.Errorf("ParseDefaultsInt(2) = %d %v", n, ok)
	}
}

func TestPf(t *testing.T) {
	if got := ParsePfInfo("Status: Enabled for 0 days 02:13:41           Debug: Urgent\n"); got != "enabled" {
		t.Errorf("enabled: %q", got)
	}
	if got := ParsePfInfo("Status: Disabled for 0 days 00:00:00           Debug: Urgent\n"); got != "disabled" {
		t.Errorf("disabled: %q", got)
	}
	if got := ParsePfInfo("pfctl: /dev/pf: Permission denied\n"); got != "" {
		t.Errorf("error: %q", got)
	}
	rules := "scrub-anchor \"com.apple/*\" all fragments reassemble\nblock drop in all\nblock return out quick on en0 all\nblock all\nblock drop log (all) quick from <bruteforce> to any\npass out all flags S/SA keep state\nanchor \"com.apple/*\" all\n"
	got := PfInboundBlockRules(rules)
	want := []string{"block drop in all", "block all", "block drop log (all) quick from <bruteforce> to any"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCase08Capture reads the captured Windows Server answer of the
// Security Center (every column "Error") and holds the check to the
// fixtures' answer: the Security Center part is not applicable, and the
// Windows Firewall profiles decide.
func TestCase08Capture(t *testing.T) {
	rows, err := checktest.ParseOsqueryTable(readTestdata(t, "windows/case-08-wsc-windows-server-error.txt"))
	if err != nil || len(rows) != 1 || rows[0]["firewall"] != "Error" || rows[0]["windows_security_center_service"] != "Error" {
		t.Fatalf("rows %v, %v", rows, err)
	}
	for _, tc := range []struct {
		snap string
		want health.Status
	}{{"case08-server-no-security-center", health.Pass}, {"case08-server-firewall-off", health.Fail}} {
		cs := checktest.Load(t, "testdata/windows/"+tc.snap+".json")
		r := checktest.Run(New(), cs[0].Snapshot, checks.Env{})
		checktest.Assert(t, health.Firewall, r, checktest.Want{Status: tc.want, Details: "third-party firewall: Security Center not available (Windows Server has none)"})
		if strings.Contains(r.Evidence.Source, "SecurityCenter") {
			t.Errorf("%s: decided by %s, not by the firewall profiles", tc.snap, r.Evidence.Source)
		}
	}
}
