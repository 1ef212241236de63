// Package ossupport is the os_support check: does the operating system
// release still receive security updates from its vendor?
//
// The answer comes from a table of end-of-life dates shipped inside the
// agent (eol.json, embedded at build time), matched against the release the
// OS reports: /etc/os-release on Linux, the CurrentVersion registry key on
// Windows, sw_vers on macOS. Dates are measured at src.Now(), so a snapshot
// evaluates the same way on any day.
//
// # Rules
//
//   - A release past its end of free security support fails, with a
//     remediation to upgrade. Paid or opt-in extensions (Ubuntu Pro ESM,
//     Windows ESU, RHEL ELS) are shown as a detail, not counted, except that
//     an Ubuntu LTS with the ESM repository configured passes until its ESM
//     end.
//   - Debian counts Debian LTS: it is run by the Debian project, free, and
//     delivered through the same security archive, so Debian 12 passes until
//     2028-06-30 (regular security support ended 2026-06-10; LTS covers
//     amd64, arm64, i386 and armhf).
//   - A date marked approx (estimated from a vendor's rule, e.g. Fedora's
//     "four weeks after N+2", or macOS's "three newest majors") is unknown
//     from 60 days before it to 90 days after it, and fails only later: the
//     check prefers unknown over a wrong fail.
//   - A release newer than the table, a product the table does not cover,
//     or a release with no announced end when the table is over a year
//     old, is unknown, and the reason says the data is older than the OS.
//   - Windows is judged by build number (CurrentBuild; ProductName says
//     "Windows 10" on Windows 11, so build 22000 and later is Windows 11)
//     and servicing channel from EditionID: Home/Pro, Enterprise/Education,
//     LTSC. Windows Server (InstallationType) has its own table.
//   - Rolling releases: Arch Linux passes when pacman.log shows a full
//     system upgrade within the last 90 days and fails when the last one is
//     older; without the log it is unknown. openSUSE Tumbleweed is unknown.
//
// # Updating the data
//
// Edit eol.json: add the new release to its product (release as the OS
// reports it: VERSION_ID, the macOS major version, or the Windows build and
// edition), with eol as the last day of free security updates (YYYY-MM-DD)
// from the vendor's lifecycle page; set approx when the date is estimated;
// put the day you checked in "compiled". Then run
// `go test ./internal/checks/ossupport/` — TestEmbeddedData checks the
// file parses and that every date is a real day. Sources: debian.org/
// releases and wiki.debian.org/LTS, ubuntu.com/about/release-cycle,
// fedorapeople.org/groups/schedule, access.redhat.com/support/policy/
// updates/errata, learn.microsoft.com/lifecycle, support.apple.com
// security releases.
package ossupport

import (
	"fmt"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
)

// New returns the os_support check using the embedded table.
func New() checks.Check { return NewWithData(Embedded()) }

// NewWithData returns the os_support check using another table (tests,
// or an updated table delivered by the authority).
func NewWithData(d *Data) checks.Check {
	c := &check{data: d}
	return checks.ByOS{
		CheckID: health.OSSupport,
		Linux:   checks.OSFunc(linuxProbes, c.linux),
		Windows: checks.OSFunc(windowsProbes, c.windows),
		Darwin:  checks.OSFunc(darwinProbes, c.darwin),
	}
}

// check judges releases against one table; each platform's logic is a
// method on it.
type check struct{ data *Data }

// Window around an approximate date in which the answer is unknown.
const (
	approxBefore = 60 * 24 * time.Hour
	approxAfter  = 90 * 24 * time.Hour
	// staleData is how old the table may be before "no end announced" is
	// no longer trusted.
	staleData = 365 * 24 * time.Hour
)

// verdict is the judgement of one release against the table.
type verdict struct {
	status health.Status
	why    i18n.Text
}

// judgeRelease says whether r is supported at now.
func (c *check) judgeRelease(r Release, label string, now time.Time) verdict {
	if r.EOL == nil {
		if now.Sub(c.data.Compiled.Time) > staleData {
			return verdict{health.Unknown, i18n.T(
				fmt.Sprintf("%s had no announced end of security support when herd's release data was compiled (%s), but that data is over a year old, so herd cannot tell whether it is still supported.", label, c.data.Compiled),
				fmt.Sprintf("herd 的版本数据编制时（%s）%s 尚无公布的安全支持结束日期，但该数据已超过一年，无法判断它是否仍受支持。", c.data.Compiled, label))}
		}
		return verdict{health.Pass, i18n.T(
			fmt.Sprintf("%s still receives security updates (no end of support has been announced).", label),
			fmt.Sprintf("%s 仍在接收安全更新（尚未公布支持结束日期）。", label))}
	}
	end := r.EOL.End()
	if r.Approx {
		switch {
		case now.Before(end.Add(-approxBefore)):
			return verdict{health.Pass, i18n.T(
				fmt.Sprintf("%s still receives security updates, until about %s.", label, r.EOL),
				fmt.Sprintf("%s 仍在接收安全更新，预计持续到 %s 前后。", label, r.EOL))}
		case now.Before(end.Add(approxAfter)):
			return verdict{health.Unknown, i18n.T(
				fmt.Sprintf("%s stops receiving security updates at about %s; herd only has an estimate of that date, so it cannot tell yet whether support has ended.", label, r.EOL),
				fmt.Sprintf("%s 的安全更新预计在 %s 前后结束；herd 只有估计日期，暂时无法判断支持是否已结束。", label, r.EOL))}
		}
		return verdict{health.Fail, i18n.T(
			fmt.Sprintf("%s no longer receives security updates: its support ended around %s.", label, r.EOL),
			fmt.Sprintf("%s 已不再接收安全更新：其支持已于 %s 前后结束。", label, r.EOL))}
	}
	if now.Before(end) {
		return verdict{health.Pass, i18n.T(
			fmt.Sprintf("%s still receives security updates, until %s.", label, r.EOL),
			fmt.Sprintf("%s 仍在接收安全更新，直到 %s。", label, r.EOL))}
	}
	return verdict{health.Fail, i18n.T(
		fmt.Sprintf("%s no longer receives security updates: its support ended on %s.", label, r.EOL),
		fmt.Sprintf("%s 已不再接收安全更新：其支持已于 %s 结束。", label, r.EOL))}
}

// judge turns a lookup into a result. rels holds one release, or several
// when the edition could not be told (they must agree).
func (c *check) judge(p *Product, rels []Release, m match, label string, now time.Time, ev health.Evidence, fix i18n.Text) checks.Result {
	if ev.Facts == nil {
		ev.Facts = map[string]any{}
	}
	ev.Facts["eol_data_compiled"] = c.data.Compiled.String()
	switch m {
	case matchNewer:
		return checks.Unknown(i18n.T(
			fmt.Sprintf("%s is newer than herd's release data (compiled %s), which does not know its end of support yet; update herd-agent.", label, c.data.Compiled),
			fmt.Sprintf("%s 比 herd 的版本数据（编制于 %s）更新，数据中尚无其支持结束日期；请更新 herd-agent。", label, c.data.Compiled)), ev)
	case matchOlder:
		return checks.Fail(i18n.T(
			fmt.Sprintf("%s is older than every %s release herd knows, and all of those have already reached the end of security support.", label, p.Name),
			fmt.Sprintf("%s 比 herd 已知的所有 %s 版本都旧，而这些版本均已结束安全支持。", label, p.Name)), ev, fix)
	case matchNone:
		return checks.Unknown(i18n.T(
			fmt.Sprintf("herd's release data (compiled %s) does not list %s, so it cannot tell whether it still receives security updates.", c.data.Compiled, label),
			fmt.Sprintf("herd 的版本数据（编制于 %s）中没有 %s，无法判断它是否仍在接收安全更新。", c.data.Compiled, label)), ev)
	}
	var details []string
	var v verdict
	for i, r := range rels {
		w := c.judgeRelease(r, label, now)
		if r.EOL != nil {
			ev.Facts["eol"] = r.EOL.String()
			if r.Approx {
				ev.Facts["eol_approx"] = true
			}
		}
		if r.Edition != "" {
			details = append(details, fmt.Sprintf("%s (%s): end of support %s", r.Release, r.Edition, dateOr(r.EOL)))
		}
		if r.Extended != nil {
			details = append(details, fmt.Sprintf("paid or opt-in extended security updates until %s", r.Extended))
		}
		if r.Note != "" {
			details = append(details, r.Note)
		}
		if i == 0 {
			v = w
		} else if w.status != v.status {
			v = verdict{health.Unknown, i18n.T(
				fmt.Sprintf("Whether %s still receives security updates depends on its edition, which herd could not read.", label),
				fmt.Sprintf("%s 是否仍接收安全更新取决于其版本类型，而 herd 无法读取该信息。", label))}
			delete(ev.Facts, "eol")
		}
	}
	var res checks.Result
	switch v.status {
	case health.Pass:
		res = checks.Pass(v.why, ev)
	case health.Fail:
		res = checks.Fail(v.why, ev, fix)
	default:
		res = checks.Unknown(v.why, ev)
	}
	res.Details = details
	return res
}

func dateOr(d *Date) string {
	if d == nil {
		return "not announced"
	}
	return d.String()
}
