package firewall

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	checktest.SnapshotsAllOS(t, New(), checks.Env{})
}

func TestProbes(t *testing.T) {
	checktest.ProbesAllOS(t, New())
	if New().ID() != health.Firewall {
		t.Errorf("ID = %s", New().ID())
	}
}

// The Linux advice fits the firewall that is installed, and never locks
// out an administrator working over SSH: it opens SSH before it blocks.
func TestLinuxRemediationFitsTheTool(t *testing.T) {
	for _, tc := range []struct {
		snap    string
		tool    string   // a command only that tool's advice holds
		inOrder []string // these, in this order
		mustNot []string
	}{
		{"firewalld-not-running", "firewall-cmd --set-default-zone=public", []string{"systemctl enable --now firewalld", "--set-default-zone"}, []string{"ufw", "nft "}},
		{"firewalld-running-zone-from-conf-trusted", "firewall-cmd --set-default-zone=public", nil, []string{"ufw"}},
		{"ufw-active-allow-incoming", "ufw allow OpenSSH", []string{"ufw allow OpenSSH", "ufw default deny incoming", "ufw enable"}, []string{"firewall-cmd", "nft"}},
		{"ufw-inactive-nft-empty", "ufw allow OpenSSH", []string{"ufw allow OpenSSH", "ufw enable"}, []string{"firewall-cmd"}},
		{"nft-debian-default-accept", "policy drop", []string{"ct state established,related accept", "tcp dport 22 accept", "systemctl enable --now nftables"}, []string{"ufw", "firewall-cmd"}},
		{"nft-empty", "policy drop", []string{"ipv6-icmp", "tcp dport 22 accept"}, []string{"ufw", "firewall-cmd"}},
		{"iptables-accept-port-drop-only", "iptables -P INPUT DROP", []string{"ESTABLISHED,RELATED", "--dport 22 -j ACCEPT", "iptables -P INPUT DROP"}, []string{"ufw", "firewall-cmd", "nftables.conf"}},
	} {
		t.Run(tc.snap, func(t *testing.T) {
			cs := checktest.Load(t, filepath.Join("testdata", "linux", tc.snap+".json"))
			r := checktest.Run(New(), cs[0].Snapshot, checks.Env{})
			if r.Status != health.Fail {
				t.Fatalf("status %s, want fail", r.Status)
			}
			for _, fix := range []string{r.Remediation.En, r.Remediation.Zh} {
				if !strings.Contains(fix, tc.tool) {
					t.Errorf("remediation does not hold %q: %s", tc.tool, fix)
				}
				at := 0
				for _, s := range tc.inOrder {
					i := strings.Index(fix[at:], s)
					if i < 0 {
						t.Errorf("remediation lacks %q after position %d: %s", s, at, fix)
						break
					}
					at += i + len(s)
				}
				for _, s := range tc.mustNot {
					if strings.Contains(fix, s) {
						t.Errorf("remediation mentions %q, which is not this system's firewall: %s", s, fix)
					}
				}
			}
		})
	}
}
