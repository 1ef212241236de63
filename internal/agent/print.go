package agent

import (
	"fmt"
	"io"
	"strings"

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
		fmt.Fprintf(w, "  [%s] %-21s %-8s %s\n", marks[r.Status], r.ID, statusWords[r.Status].In(lang), r.Reason)
		if r.Status == health.Fail && r.Remediation != "" {
			fmt.Fprintf(w, "         %s %s\n", fixLabel, wrap(r.Remediation, 100, "         "+strings.Repeat(" ", len([]rune(fixLabel))+1)))
		}
	}
}

// wrap breaks long text at spaces; Chinese text without spaces is left as is.
func wrap(s string, width int, indent string) string {
	words := strings.Fields(s)
	var b strings.Builder
	line := 0
	for i, w := range words {
		if i > 0 {
			if line+1+len([]rune(w)) > width {
				b.WriteString("\n" + indent)
				line = 0
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(w)
		line += len([]rune(w))
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
