package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/source"
)

func TestStatusLinksFindingsToGuides(t *testing.T) {
	url := startNode(t)
	dir := t.TempDir()
	if _, stderr, code := runCmd(t, "enroll", "--dir", dir, url); code != 0 {
		t.Fatalf("enroll: %s", stderr)
	}
	snap := source.NewSnapshot("linux", time.Now().UTC(), "USER", "")
	snap.Files["/etc/os-release"] = source.FileEntry{Data: []byte("ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")}
	snap.Commands = []source.CommandEntry{{Argv: []string{"nft", "list", "ruleset"}, Stdout: "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n"}}
	if _, err := newAgent(dir, source.NewReplay(snap), nil).CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCmd(t, "status", "--dir", dir, "--json")
	if code != 0 {
		t.Fatalf("status --json: %s", stderr)
	}
	var st struct {
		Checks []struct {
			ID        string `json:"id"`
			Status    string `json:"status"`
			LearnMore string `json:"learn_more"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	var sawFirewall bool
	for _, c := range st.Checks {
		switch c.Status {
		case "fail", "unknown":
			if c.LearnMore != url+"/learn/"+c.ID {
				t.Errorf("%s (%s): learn_more %q, want %s/learn/%s", c.ID, c.Status, c.LearnMore, url, c.ID)
			}
		default:
			if c.LearnMore != "" {
				t.Errorf("%s (%s) has a learn_more link", c.ID, c.Status)
			}
		}
		sawFirewall = sawFirewall || (c.ID == "firewall" && c.Status == "fail")
	}
	if !sawFirewall {
		t.Fatalf("the firewall check does not fail: %s", out)
	}
	for _, tc := range []struct{ lang, label string }{{"en", "Learn more:"}, {"zh-CN", "了解更多："}} {
		out, _, _ := runCmd(t, "status", "--dir", dir, "--lang", tc.lang)
		if want := tc.label + " firewall " + url + "/learn/firewall"; !strings.Contains(out, want) {
			t.Errorf("%s: status lacks %q:\n%s", tc.lang, want, out)
		}
	}
}
