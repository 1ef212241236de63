package main

import (
	"fmt"
	"io"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/i18n"
)

// statusCheck is one check as `herd-agent status --json` prints it: the
// result, and for a failing or unknown one the authority's public page
// about it.
type statusCheck struct {
	health.Result
	LearnMore string `json:"learn_more,omitempty"`
}

// needsGuide reports whether a result is one a person may want to fix.
func needsGuide(r health.Result) bool {
	return r.Status == health.Fail || r.Status == health.Unknown
}

// withLearnMore adds the learn-more links of issuer to results.
func withLearnMore(results []health.Result, issuer string) []statusCheck {
	out := make([]statusCheck, len(results))
	for i, r := range results {
		out[i] = statusCheck{Result: r}
		if needsGuide(r) && issuer != "" {
			out[i].LearnMore = guide.LearnURL(issuer, r.ID)
		}
	}
	return out
}

// printLearnMore prints a "Learn more:" line per failing or unknown check.
func printLearnMore(w io.Writer, results []health.Result, issuer string, lang i18n.Lang) {
	if issuer == "" {
		return
	}
	label := i18n.T("Learn more:", "了解更多：").In(lang)
	first := true
	for _, r := range results {
		if !needsGuide(r) {
			continue
		}
		if first {
			fmt.Fprintln(w)
			first = false
		}
		fmt.Fprintf(w, "  %s %s %s\n", label, r.ID, guide.LearnURL(issuer, r.ID))
	}
}
