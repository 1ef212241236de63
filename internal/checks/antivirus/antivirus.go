// Package antivirus holds two device checks: antivirus (an anti-malware
// product is the active engine and protects in real time) and
// antivirus_signatures (that engine's signatures are recent, measured
// against the moment the system was read).
//
// Windows is judged from Security Center (root/SecurityCenter2
// AntiVirusProduct, productState decoded with masks) and Defender's own
// Get-MpComputerStatus. A product standing down for another (Defender in
// passive mode) is not the active engine; a Security Center row whose
// product executable no longer exists is a leftover of an uninstalled
// product and protects nothing. Windows Server has no Security Center, so
// that part is not applicable there and Defender's status decides.
//
// macOS always has XProtect, which is on whenever System Integrity
// Protection is; the check passes when the XProtect bundle is present and
// names any third-party product it recognises. It fails only on positive
// evidence that XProtect is gone: sw_vers answered, the folder XProtect
// lives in on that release was listed without XProtect.bundle, and the
// running programs were listed without a product herd recognises; a
// bundle that merely could not be found is unknown. Gatekeeper's state
// (`spctl --status`) is evidence beside it, told in the details, never the
// verdict alone. Signatures are as old as the last XProtect data install
// in the install history.
//
// Linux is judged from ClamAV (clamd with on-access scanning through
// clamonacc is real-time protection; a scanner without the daemon, or
// the daemon without on-access scanning, scans only on demand and is not)
// and from the processes of other products herd recognises by name
// (CrowdStrike Falcon, Microsoft Defender for Endpoint, Sophos, ESET, …).
//
// When no product at all is found on Linux, antivirus is unknown, not
// fail: many Linux systems run without one by choice, and herd recognises
// only some products, so absence of evidence is not evidence of absence.
// The reason says so plainly, and policy decides whether that matters.
// antivirus_signatures is then not_applicable: there is no engine whose
// signatures could be stale.
//
// antivirus_signatures judges the active engine: the product in charge,
// even when its real-time protection is off (Defender with real-time
// protection off still scans on a schedule; so does a ClamAV daemon
// without on-access scanning). When the antivirus check found, on what it
// read, that no engine is active — every product turned off, snoozed or
// standing down, XProtect gone, nothing installed — antivirus_signatures
// is not_applicable, pointing at the antivirus check, on every platform:
// the signatures of an engine that is off protect nothing, so they
// neither pass nor fail. When the antivirus state could not be read, it
// is unknown.
package antivirus

import (
	"context"
	"fmt"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// NewAntivirus returns the antivirus check.
func NewAntivirus() checks.Check {
	return byOS(health.Antivirus, func(_ source.Source, _ checks.Env, v view) checks.Result { return v.av })
}

// NewSignatures returns the antivirus_signatures check.
func NewSignatures() checks.Check {
	return byOS(health.AntivirusSignatures, func(src source.Source, env checks.Env, v view) checks.Result {
		if v.engine == nil {
			return v.noEngine
		}
		return judgeSignatures(src.Now(), env.SignatureAge(), v.engine)
	})
}

// byOS makes check id of every platform's reading, judged by pick: both
// checks read the same places and differ only in what they conclude.
func byOS(id health.CheckID, pick func(source.Source, checks.Env, view) checks.Result) checks.ByOS {
	on := func(probes func() []source.Probe, look func(context.Context, source.Source) view) checks.OSCheck {
		return checks.OSFunc(probes, func(ctx context.Context, src source.Source, env checks.Env) checks.Result {
			return pick(src, env, look(ctx, src))
		})
	}
	return checks.ByOS{
		CheckID: id,
		Linux:   on(linuxProbes, linuxView),
		Windows: on(windowsProbes, windowsView),
		Darwin:  on(darwinProbes, darwinView),
	}
}

// view is what one platform's reading found: the antivirus verdict and
// the engine whose signatures antivirus_signatures judges.
type view struct {
	av       checks.Result
	engine   *engine
	noEngine checks.Result // the signature result when engine is nil
}

// engine is an anti-malware engine's signature facts.
type engine struct {
	Name    string
	Source  string
	Trust   health.Trust
	Updated time.Time      // when the signatures were built or installed
	AgeDays int            // a reported age in days; -1 when not given
	State   SignatureState // a product's own up-to-date flag, when no date is known
	Version string
	Fix     i18n.Text // how to update them
	Details []string
}

func judgeSignatures(now time.Time, limit time.Duration, e *engine) checks.Result {
	ev := checks.Evidence(e.Source, e.Trust)
	ev.Facts = map[string]any{"product": e.Name}
	if e.Version != "" {
		ev.Facts["signature_version"] = e.Version
	}
	limitDays := int(limit.Hours() / 24)
	var age time.Duration
	switch {
	case !e.Updated.IsZero():
		age = max(now.Sub(e.Updated), 0)
		ev.Facts["signatures_updated"] = e.Updated.UTC().Format(time.RFC3339)
	case e.AgeDays >= 0:
		age = time.Duration(e.AgeDays) * 24 * time.Hour
	case e.State == SignaturesUpToDate:
		r := checks.Pass(i18n.T(
			fmt.Sprintf("%s reports its signatures are up to date.", e.Name),
			fmt.Sprintf("%s 报告其病毒特征库是最新的。", e.Name)), ev)
		r.Details = e.Details
		return r
	case e.State == SignaturesOutOfDate:
		r := checks.Fail(i18n.T(
			fmt.Sprintf("%s reports its signatures are out of date, so it may miss recent malware.", e.Name),
			fmt.Sprintf("%s 报告其病毒特征库已过期，可能无法识别最新的恶意软件。", e.Name)), ev, e.Fix)
		r.Details = e.Details
		return r
	default:
		r := checks.Unknown(i18n.T(
			fmt.Sprintf("herd could not tell how old %s's signatures are.", e.Name),
			fmt.Sprintf("herd 无法确定 %s 的病毒特征库有多旧。", e.Name)), ev)
		r.Details = e.Details
		return r
	}
	days := int(age.Hours() / 24)
	ev.Facts["signature_age_days"] = days
	ev.Facts["max_age_days"] = limitDays
	var r checks.Result
	if age > limit {
		r = checks.Fail(i18n.T(
			fmt.Sprintf("%s's signatures are %s old, older than the %s allowed, so it may miss recent malware.", e.Name, checks.Count(days, "day", "days"), checks.Count(limitDays, "day", "days")),
			fmt.Sprintf("%s 的病毒特征库已有 %d 天未更新，超过允许的 %d 天，可能无法识别最新的恶意软件。", e.Name, days, limitDays)),
			ev, e.Fix)
	} else {
		r = checks.Pass(i18n.T(
			fmt.Sprintf("%s's signatures are %s old (at most %s allowed).", e.Name, checks.Count(days, "day", "days"), checks.Count(limitDays, "day", "days")),
			fmt.Sprintf("%s 的病毒特征库为 %d 天前更新（最多允许 %d 天）。", e.Name, days, limitDays)), ev)
	}
	r.Details = e.Details
	return r
}

// noActiveEngine is antivirus_signatures when the antivirus check found,
// on what it read, that no engine is active (every product off, or none
// installed): there are no signatures in use, and the antivirus check is
// the finding.
func noActiveEngine(ev health.Evidence, details []string) checks.Result {
	return withDetails(checks.NotApplicable(i18n.T(
		"No antivirus engine is active on this device, so there are no signatures in use to check; the antivirus check reports this.",
		"本设备上没有处于活动状态的防病毒引擎，因此没有正在使用的病毒特征库可检查；防病毒检查会报告此问题。"), ev), details)
}

// withDetails sets r's details and returns it.
func withDetails(r checks.Result, details []string) checks.Result {
	r.Details = details
	return r
}
