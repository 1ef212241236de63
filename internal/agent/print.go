package agent

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/i18n"
)

var marks = map[health.Status]string{
	health.Pass:          "ok  ",
	health.Fail:          "FAIL",
	health.Unknown:       " ?  ",
	health.NotApplicable: " -  ",
}

var statusWords = map[health.Status]i18n.Text{
	health.Pass:          i18n.T("pass", "通过"),
	health.Fail:          i18n.T("fail", "未通过"),
	health.Unknown:       i18n.T("unknown", "无法确定"),
	health.NotApplicable: i18n.T("n/a", "不适用"),
}

// PrintResults writes check results as a table a person can read: one
// line per check with its status and reason, and for each failure how to
// fix it.
func PrintResults(w io.Writer, results []health.Result, lang i18n.Lang) {
	fixLabel := i18n.T("How to fix:", "修复方法：").In(lang)
	for _, r := range results {
		fmt.Fprintf(w, "  [%s] %s %s %s\n", marks[r.Status], pad(string(r.ID), 21), pad(statusWords[r.Status].In(lang), 8), r.Reason)
		if r.Status == health.Fail && r.Remediation != "" {
			fmt.Fprintf(w, "         %s %s\n", fixLabel, wrap(r.Remediation, 100, "         "+strings.Repeat(" ", width(fixLabel)+1)))
		}
	}
}

// width is how many terminal columns s takes: East Asian wide characters
// take two.
func width(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) ||
			(r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) || (r >= 0xffe0 && r <= 0xffe6)):
			n += 2
		default:
			n++
		}
	}
	return n
}

// pad pads s with spaces to w columns.
func pad(s string, w int) string {
	if n := width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// DecisionText names a relying party's decision.
func DecisionText(d string) i18n.Text {
	switch d {
	case "allow":
		return i18n.T("allow", "允许")
	case "warn":
		return i18n.T("warn (the user sees the findings and may continue)", "警告（用户会看到问题，可以继续）")
	case "restrict":
		return i18n.T("restrict (only help and account pages stay open)", "限制（只开放帮助和账户页面）")
	case "block":
		return i18n.T("block", "阻止")
	}
	return i18n.T(d, d)
}

// TimeLayout is how the agent shows a time, in every language: an
// unambiguous date, the minute and the zone.
const TimeLayout = "2006-01-02 15:04 MST"

// FormatTime shows t in the local zone with TimeLayout.
func FormatTime(t time.Time) string { return t.Local().Format(TimeLayout) }

// noLineStart are the closing marks that never begin a line in Chinese
// text; they stay with the character before them.
const noLineStart = "，。、；：！？）」』》】〉”’…%,.;:!?)]}"

// token is a piece of text wrap never breaks inside.
type token struct {
	text  string
	space bool // a space stood before it
}

// tokens splits s into the pieces a line may break between: words
// separated by spaces, each wide (CJK) character on its own, and a
// backticked command whole.
func tokens(s string) []token {
	var out []token
	var cur strings.Builder
	space := false
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, token{cur.String(), space})
			cur.Reset()
			space = false
		}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '`':
			// A command stays whole, with what is attached to it.
			j := i + 1
			for j < len(rs) && rs[j] != '`' {
				j++
			}
			if j == len(rs) {
				cur.WriteString(string(rs[i:]))
				i = j
				continue
			}
			if cur.Len() > 0 && width(string(rs[i-1])) == 2 {
				flush()
			}
			cur.WriteString(string(rs[i : j+1]))
			i = j
		case r == ' ' || r == '\t' || r == '\n':
			flush()
			space = len(out) > 0
		case strings.ContainsRune(noLineStart, r):
			if cur.Len() == 0 && len(out) > 0 && !space {
				out[len(out)-1].text += string(r)
				continue
			}
			cur.WriteRune(r)
		case width(string(r)) == 2:
			flush()
			cur.WriteRune(r)
			flush()
		default:
			if cur.Len() > 0 {
				if last := []rune(cur.String()); width(string(last[len(last)-1])) == 2 {
					flush()
				}
			}
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// wrap breaks long text to lines of at most max columns (by display
// width, wide characters counting two): at spaces, and between Chinese
// characters, never inside a backticked command; lines after the first
// start with indent.
func wrap(s string, max int, indent string) string {
	var b strings.Builder
	line := 0
	for _, t := range tokens(s) {
		w := width(t.text)
		sep := 0
		if t.space {
			sep = 1
		}
		if line > 0 && line+sep+w > max {
			b.WriteString("\n" + indent)
			line = 0
		} else if line > 0 && t.space {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(t.text)
		line += w
	}
	return b.String()
}

// VerdictText explains a verdict in a sentence.
func VerdictText(t health.Tier) i18n.Text {
	switch t {
	case health.Affirming:
		return i18n.T("healthy: this device meets the policy", "健康：此设备符合策略要求")
	case health.Warning:
		return i18n.T("warning: a required check failed or could not be read", "警告：有必需的检查未通过或无法读取")
	case health.Contraindicated:
		return i18n.T("contraindicated: this device shows signs of infection", "禁忌：此设备有感染迹象")
	}
	return i18n.T("none: nothing could be appraised", "无：无法评估任何内容")
}

// PrintNotice writes a verified notice so it stands out at the top of
// the agent's output: its title between rules, the message, and the
// numbered steps.
func PrintNotice(w io.Writer, n *UserNotice, lang i18n.Lang) {
	rule := strings.Repeat("=", 72)
	fmt.Fprintf(w, "!! %s\n!! %s\n!! %s\n", rule, n.Title, rule)
	fmt.Fprintf(w, "   %s\n", wrap(n.Message, 72, "   "))
	if len(n.Steps) > 0 {
		fmt.Fprintf(w, "\n   %s\n", i18n.T("What to do:", "怎么做：").In(lang))
		for i, s := range n.Steps {
			fmt.Fprintf(w, "   %2d. %s\n", i+1, wrap(s, 68, "       "))
		}
	}
	fmt.Fprintf(w, "\n   %s %s\n!! %s\n\n", i18n.T("Signed by your health authority on", "由你的健康认证机构签发于").In(lang),
		FormatTime(n.IssuedAt), rule)
}
