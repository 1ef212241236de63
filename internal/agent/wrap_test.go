package agent

import (
	"strings"
	"testing"
	"time"
)

func TestWrap(t *testing.T) {
	zh := "打开“设置”>“隐私和安全性”>“防火墙”，然后打开防火墙。也可以在终端运行 `sudo /usr/libexec/ApplicationFirewall/socketfilterfw --setglobalstate on` 来开启它，完成后重新运行检查以确认结果已经改变。"
	en := "Turn on the firewall in System Settings, then run `herd-agent check` again to see the result."
	for _, c := range []struct {
		name  string
		in    string
		max   int
		whole []string // pieces that must stay on one line
	}{
		{"chinese", zh, 40, []string{"`sudo /usr/libexec/ApplicationFirewall/socketfilterfw --setglobalstate on`"}},
		{"english", en, 30, []string{"`herd-agent check`"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := wrap(c.in, c.max, "")
			lines := strings.Split(got, "\n")
			if len(lines) < 2 {
				t.Fatalf("not wrapped:\n%s", got)
			}
			for _, l := range lines {
				if width(l) > c.max && !strings.Contains(l, "`") {
					t.Errorf("line %q is %d columns wide, over %d", l, width(l), c.max)
				}
				if r := []rune(l); len(r) > 0 && strings.ContainsRune("，。、；：！？）", r[0]) {
					t.Errorf("line starts with closing punctuation: %q", l)
				}
			}
			for _, w := range c.whole {
				if !strings.Contains(got, w) {
					t.Errorf("%q was broken:\n%s", w, got)
				}
			}
			// Nothing is lost or added but the breaks.
			if strings.ReplaceAll(strings.ReplaceAll(got, "\n", " "), " ", "") != strings.ReplaceAll(c.in, " ", "") {
				t.Errorf("text changed:\n%s", got)
			}
			// Chinese lines are broken between characters, not only at spaces.
			if c.name == "chinese" && width(lines[0]) < c.max-4 {
				t.Errorf("first line %q is %d columns, want close to %d", lines[0], width(lines[0]), c.max)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	t.Setenv("TZ", "UTC")
	loc := time.Local
	time.Local = time.UTC
	defer func() { time.Local = loc }()
	if got := FormatTime(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)); got != "2026-03-04 05:06 UTC" {
		t.Errorf("FormatTime = %q", got)
	}
}
