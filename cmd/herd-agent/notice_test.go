package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/source"
)

// c2Check is a malware check that finds a connection to a C2 server.
type c2Check struct{}

func (c2Check) ID() health.CheckID           { return health.Malware }
func (c2Check) Probes(string) []source.Probe { return nil }
func (c2Check) Run(context.Context, source.Source, checks.Env) checks.Result {
	return checks.Fail(i18n.T("Connected to a botnet server at 192.0.2.7:443.", "连接到了位于 192.0.2.7:443 的僵尸网络服务器。"),
		checks.Evidence("connections", health.OSReported),
		i18n.T("Stop the program that opened the connection.", "停止打开该连接的程序。"))
}

type statusJSON struct {
	Verdict health.Tier `json:"verdict"`
	Notice  *struct {
		Title    string    `json:"title"`
		Message  string    `json:"message"`
		Steps    []string  `json:"steps"`
		IssuedAt time.Time `json:"issued_at"`
	} `json:"notice"`
}

func TestStatusShowsVerifiedNotice(t *testing.T) {
	url := startNode(t)
	dir := t.TempDir()
	if _, stderr, code := runCmd(t, "enroll", "--dir", dir, url); code != 0 {
		t.Fatalf("enroll: %s", stderr)
	}
	snap := source.NewSnapshot("linux", time.Now().UTC(), "USER", "")
	snap.Files["/etc/os-release"] = source.FileEntry{Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")}
	a := newAgent(dir, source.NewReplay(snap), nil)
	a.Checks = []checks.Check{c2Check{}}
	before := time.Now().Add(-time.Second)
	last, err := a.CheckIn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last.Response.Verdict != health.Contraindicated || last.Response.Notice == "" {
		t.Fatalf("verdict %s, notice %q", last.Response.Verdict, last.Response.Notice)
	}

	// The steps are the guide's cleaning steps for this (Linux) device.
	for _, c := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"!! This device appears to be infected", "Your health authority found signs", "What to do:",
			" 1. Disconnect the machine from the network if you can.", " 3. Scan with an up-to-date scanner",
			"Signed by your health authority on", "Verdict: contraindicated"}},
		{"zh-CN", []string{"!! 此设备似乎已被感染", "僵尸网络", "怎么做：", " 1. 如有可能，先断开计算机的网络连接。",
			"由你的健康认证机构签发于", "结论： 禁忌"}},
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
			if !strings.HasPrefix(out, "!! ====") {
				t.Errorf("the notice is not at the top:\n%s", out)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		out, _, code := runCmd(t, "status", "--dir", dir, "--json", "--lang", "zh-CN")
		var v statusJSON
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Notice == nil {
			t.Fatalf("status --json (exit %d): %s", code, out)
		}
		if v.Notice.Title != "此设备似乎已被感染" || !strings.Contains(v.Notice.Message, "僵尸网络") ||
			len(v.Notice.Steps) != 4 || v.Notice.Steps[0] != "如有可能，先断开计算机的网络连接。" {
			t.Errorf("notice %+v", v.Notice)
		}
		if v.Notice.IssuedAt.Before(before) || v.Notice.IssuedAt.After(time.Now()) {
			t.Errorf("issued_at %v, want about now", v.Notice.IssuedAt)
		}
	})

	// A notice signed by another key under the authority's kid, left in
	// the state directory, is shown neither in text nor in JSON.
	jwks, err := os.ReadFile(filepath.Join(dir, "jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := healthcert.ParseJWKS(jwks)
	if err != nil || len(set.Keys) == 0 {
		t.Fatalf("kept key set: %v", err)
	}
	_, forger, _ := ed25519.GenerateKey(nil)
	var st struct {
		DeviceID  string             `json:"device_id"`
		Discovery protocol.Discovery `json:"discovery"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	json.Unmarshal(b, &st)
	n := protocol.Notice{Issuer: st.Discovery.Issuer, DeviceID: st.DeviceID, IssuedAt: time.Now().Unix(), Expiry: time.Now().Add(time.Hour).Unix(),
		Verdict: "contraindicated", Title: protocol.Localized{EN: "Pay here to clean your device", ZH: "付款清理设备"}}
	payload, _ := json.Marshal(n)
	jws, err := healthcert.SignCompact(forger, set.Keys[0].Kid, protocol.NoticeType, payload)
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := json.Marshal(map[string]any{"notice": n, "jws": jws})
	if err := os.WriteFile(filepath.Join(dir, "notice.json"), kept, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code := runCmd(t, "status", "--dir", dir, "--lang", "en")
	if code != 0 || strings.Contains(out, "Pay here") || strings.Contains(out, "!! ") || !strings.Contains(out, "Verdict: contraindicated") {
		t.Errorf("status with a forged notice (exit %d):\n%s", code, out)
	}
	out, _, _ = runCmd(t, "status", "--dir", dir, "--json")
	var v statusJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Notice != nil || v.Verdict != health.Contraindicated {
		t.Errorf("status --json with a forged notice: %+v (%v)\n%s", v, err, out)
	}
}
