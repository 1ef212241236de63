// Package updates holds two checks about operating-system updates:
// auto_update (the OS installs security updates by itself) and
// pending_updates (no security update, or restart to finish one, has waited
// longer than the policy allows, env.PendingAge(), measured at src.Now()).
//
// # auto_update rules
//
//   - Debian/Ubuntu: unattended-upgrades is installed (/usr/bin/unattended-upgrade
//     or the dpkg status file) and APT::Periodic::Update-Package-Lists and
//     APT::Periodic::Unattended-Upgrade are non-zero (from `apt-config dump`,
//     else /etc/apt/apt.conf.d/* in order, later files overriding earlier
//     ones, then /etc/apt/apt.conf). Other options, such as
//     Unattended-Upgrade::OnlyOnACPower "0", are not read: they tune the
//     job, they do not turn it off. On a system booted with systemd, a
//     masked or disabled apt-daily-upgrade.timer fails.
//   - Fedora/RHEL family: a dnf-automatic timer is enabled
//     (/etc/systemd/system/timers.target.wants): dnf-automatic-install.timer
//     installs by itself; dnf-automatic.timer and dnf5-automatic.timer
//     install only with apply_updates = yes in /etc/dnf/automatic.conf (for
//     dnf5, falling back to the shipped /usr/share/dnf5/dnf5-plugins/automatic.conf).
//   - openSUSE: transactional-update.timer or os-update.timer enabled, or
//     YaST's automatic online update (AOU_ENABLE_CRONJOB="true" in
//     /etc/sysconfig/automatic_online_update).
//   - Arch Linux has no automatic updates by design, and herd cannot tell
//     whether the owner updates some other way, so it is unknown (never a
//     guessed fail); pending updates and os_support cover a neglected Arch.
//   - Windows: the Windows Update service (wuauserv) must not be disabled
//     (Start = 4); the AU policy must not set NoAutoUpdate = 1 or
//     AUOptions = 2 (notify only). AUOptions 3, 4 and 7 download
//     automatically and pass; 5 (local administrator chooses) is unknown.
//     No policy key is Windows' default: automatic updates, a pass.
//   - macOS: AutomaticCheckEnabled, AutomaticDownload, CriticalUpdateInstall
//     (security responses and system data files) and ConfigDataInstall in
//     com.apple.SoftwareUpdate must not be off, a managed profile (/Library/
//     Managed Preferences) winning over the local file. A missing key is
//     macOS's default, which is on for all four. AutomaticallyInstallMacOSUpdates
//     and the App Store's AutoUpdate are reported as details only.
//
// # pending_updates rules
//
// Only local data is read, never the network. An age is how long an update
// is known to have been available; when only a lower bound is known and it
// is within the policy, the answer is unknown, not pass.
//
// On the device (not on a snapshot) the agent also remembers, in its state
// directory (checks-state.json, through checks.Env.State), when it first
// saw each pending update — an APT package and the version it would
// install, a dnf advisory or zypper patch — and the reading before, which
// did not list it. First seen is a lower bound on the age, which keeps
// growing on a machine that refreshes its lists every day but never
// installs (where the lists' own dates stay fresh), so such a machine fails
// once the policy's days have passed. The reading before is an upper bound:
// updates the device saw appear within the policy's days pass. A package
// whose older fix is still not installed keeps its first sighting when a
// newer fix replaces it; one installed is forgotten.
//
//   - Debian/Ubuntu: `apt-get -s -o Debug::NoLocking=1 dist-upgrade` lines
//     whose origin is a -security suite. Packages lists carry no dates, so
//     the age is bounded below by the Date of the security suite's
//     InRelease/Release file in /var/lib/apt/lists (the update was
//     published no later than that): older than the policy fails, otherwise
//     unknown. /var/run/reboot-required is a pending restart, dated by its
//     modification time (`stat -c %Y`), which the update hooks rewrite each
//     time a package asks for a restart.
//   - Fedora/RHEL: `dnf -C -q updateinfo list --security` (cached metadata
//     only). dnf 5 prints an Issued date per advisory, which is the age;
//     dnf 4 prints none, so pending advisories there are unknown.
//     `needs-restarting -r` exit 1 is a pending restart of unknown age.
//   - openSUSE: `zypper --non-interactive --no-refresh list-patches
//     --category security`, needed patches; an Issued/Since column when
//     present gives the age. `zypper needs-rebooting` exit 102 is a pending
//     restart of unknown age.
//   - Arch: there is no security metadata and `checkupdates` needs the
//     network: unknown.
//   - Windows: a restart is pending when the key WindowsUpdate\Auto
//     Update\RebootRequired or Component Based Servicing\RebootPending
//     exists; PendingFileRenameOperations alone is not an update restart
//     (any installer uses it). Pending updates and their release dates come
//     from the Windows Update Agent's cached search (Microsoft.Update.Session
//     COM object through PowerShell, Online = false, so no network); the
//     restart is dated by WindowsUpdate\Auto Update\Results\Install
//     LastSuccessTime, or else the newest entry of the update history.
//   - macOS: com.apple.SoftwareUpdate's RecommendedUpdates is the list
//     found at the last successful check (LastSuccessfulDate), which bounds
//     the age below; `softwareupdate --list` needs the network and is not run.
package updates

import (
	"fmt"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/ossupport"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// NewAutoUpdate returns the auto_update check.
func NewAutoUpdate() checks.Check {
	return checks.ByOS{
		CheckID: health.AutoUpdate,
		Linux:   checks.OSFunc(linuxAutoProbes, linuxAuto),
		Windows: checks.OSFunc(windowsAutoProbes, windowsAuto),
		Darwin:  checks.OSFunc(darwinAutoProbes, darwinAuto),
	}
}

// NewPending returns the pending_updates check.
func NewPending() checks.Check {
	return checks.ByOS{
		CheckID: health.PendingUpdates,
		Linux:   checks.OSFunc(linuxPendingProbes, linuxPending),
		Windows: checks.OSFunc(windowsPendingProbes, windowsPending),
		Darwin:  checks.OSFunc(darwinPendingProbes, darwinPending),
	}
}

// family is a Linux distribution family, from /etc/os-release.
type family string

const (
	famDebian  family = "debian"
	famFedora  family = "fedora"
	famSUSE    family = "suse"
	famArch    family = "arch"
	famUnknown family = ""
)

const (
	osReleasePath     = "/etc/os-release"
	osReleaseFallback = "/usr/lib/os-release"
)

// linuxFamily reads /etc/os-release and returns the family and a name.
func linuxFamily(src source.Source) (family, string, error) {
	b, err := src.ReadFile(osReleasePath)
	if err != nil {
		b, err = src.ReadFile(osReleaseFallback)
	}
	if err != nil {
		return famUnknown, "", err
	}
	osr := ossupport.ParseOSRelease(string(b))
	name := osr["PRETTY_NAME"]
	if name == "" {
		name = osr["NAME"]
	}
	ids := append([]string{osr["ID"]}, strings.Fields(osr["ID_LIKE"])...)
	for _, id := range ids {
		switch {
		case id == "debian" || id == "ubuntu":
			return famDebian, name, nil
		case id == "fedora" || id == "rhel" || id == "centos":
			return famFedora, name, nil
		case id == "suse" || strings.HasPrefix(id, "opensuse") || id == "sles":
			return famSUSE, name, nil
		case id == "arch":
			return famArch, name, nil
		}
	}
	return famUnknown, name, nil
}

// backlog is what pending_updates found on one system.
type backlog struct {
	source string // evidence source

	updatesKnown bool
	updates      int       // pending security updates
	since        time.Time // when the oldest was available; zero if unknown
	sinceIsBound bool      // since is only a lower bound on the age
	// pendingAfter is a time none of the pending updates was waiting yet
	// (from the device's memory of earlier readings): an upper bound on
	// their age; zero when unknown.
	pendingAfter time.Time

	rebootKnown   bool
	reboot        bool
	rebootSince   time.Time // zero if unknown
	rebootSrc     string
	details       []string
	facts         map[string]any
	unknownReason i18n.Text // why a source could not be read
}

// judge turns a backlog into a result against the policy's limit.
func (b backlog) judge(now time.Time, limit time.Duration, fix i18n.Text) checks.Result {
	ev := checks.Evidence(b.source, health.OSReported)
	ev.Facts = b.facts
	if ev.Facts == nil {
		ev.Facts = map[string]any{}
	}
	limitDays := int(limit.Hours() / 24)
	ev.Facts["policy_max_days"] = limitDays
	if b.updatesKnown {
		ev.Facts["security_updates_pending"] = b.updates
	}
	days := func(t time.Time) int { return int(now.Sub(t).Hours() / 24) }
	with := func(r checks.Result) checks.Result { r.Details = b.details; return r }

	if b.updates > 0 && !b.since.IsZero() && now.Sub(b.since) > limit {
		ev.Facts["oldest_pending_since"] = b.since.Format(time.RFC3339)
		atLeast, atLeastZh := "", ""
		if b.sinceIsBound {
			atLeast, atLeastZh = "at least ", "至少"
		}
		return with(checks.Fail(i18n.T(
			fmt.Sprintf("%s %s been waiting to be installed for %s%s; the policy allows %d.", securityUpdates(b.updates), hasHave(b.updates), atLeast, dayWord(days(b.since)), limitDays),
			fmt.Sprintf("有 %d 个安全更新已等待安装%s %d 天；策略允许的上限为 %d 天。", b.updates, atLeastZh, days(b.since), limitDays)), ev, fix))
	}
	if b.reboot && !b.rebootSince.IsZero() && now.Sub(b.rebootSince) > limit {
		ev.Source = b.rebootSrc
		ev.Facts["reboot_pending_since"] = b.rebootSince.Format(time.RFC3339)
		return with(checks.Fail(i18n.T(
			fmt.Sprintf("A restart to finish installing updates has been pending for %s; the policy allows %d. Until the restart, the old, vulnerable code keeps running.", dayWord(days(b.rebootSince)), limitDays),
			fmt.Sprintf("为完成更新安装所需的重启已等待 %d 天；策略允许的上限为 %d 天。重启之前，旧的、有漏洞的代码仍在运行。", days(b.rebootSince), limitDays)), ev,
			i18n.T("Save your work and restart the computer to finish installing the updates.",
				"请保存工作并重启计算机，以完成更新安装。")))
	}
	if !b.updatesKnown || !b.rebootKnown {
		why := b.unknownReason
		if why.IsZero() {
			why = i18n.T("herd could not read whether security updates are waiting on this system.",
				"herd 无法读取此系统上是否有等待安装的安全更新。")
		}
		return with(checks.Unknown(why, ev))
	}
	// How long the longest-waiting update has waited at most.
	waited := b.since
	if b.updates > 0 {
		if b.since.IsZero() {
			return with(checks.Unknown(i18n.T(
				fmt.Sprintf("%s %s waiting to be installed, and herd cannot tell from local data how long %s waited.", securityUpdates(b.updates), isAre(b.updates), itThey(b.updates, "it has", "they have")),
				fmt.Sprintf("有 %d 个安全更新正在等待安装，herd 无法从本地数据判断它们已等待多久。", b.updates)), ev))
		}
		ev.Facts["oldest_pending_since"] = b.since.Format(time.RFC3339)
		if b.sinceIsBound && !b.pendingAfter.IsZero() && now.Sub(b.pendingAfter) <= limit {
			// Remembered: none of them was waiting at pendingAfter.
			waited = b.pendingAfter
			ev.Facts["none_pending_at"] = b.pendingAfter.Format(time.RFC3339)
		} else if b.sinceIsBound {
			return with(checks.Unknown(i18n.T(
				fmt.Sprintf("%s %s waiting to be installed; %s waited at least %s, and herd cannot tell from local data whether it is longer than the %s the policy allows.", securityUpdates(b.updates), isAre(b.updates), itThey(b.updates, "it has", "they have"), dayWord(days(b.since)), dayWord(limitDays)),
				fmt.Sprintf("有 %d 个安全更新正在等待安装，已至少等待 %d 天；herd 无法从本地数据判断是否超过了策略允许的 %d 天。", b.updates, days(b.since), limitDays)), ev))
		}
	}
	if b.reboot && b.rebootSince.IsZero() {
		ev.Source = b.rebootSrc
		return with(checks.Unknown(i18n.T(
			"A restart is needed to finish installing updates, and herd cannot tell how long it has been pending.",
			"需要重启才能完成更新安装，herd 无法判断它已等待多久。"), ev))
	}
	switch {
	case b.updates > 0 && b.reboot:
		return with(checks.Pass(i18n.T(
			fmt.Sprintf("%s and a restart are waiting, for at most %s so far, within the %s the policy allows.", securityUpdates(b.updates), dayWord(max(days(waited), days(b.rebootSince))), dayWord(limitDays)),
			fmt.Sprintf("有 %d 个安全更新和一次重启正在等待，至今最多 %d 天，在策略允许的 %d 天之内。", b.updates, max(days(waited), days(b.rebootSince)), limitDays)), ev))
	case b.updates > 0:
		return with(checks.Pass(i18n.T(
			fmt.Sprintf("%s %s waiting, for at most %s so far, within the %s the policy allows.", securityUpdates(b.updates), isAre(b.updates), dayWord(days(waited)), dayWord(limitDays)),
			fmt.Sprintf("有 %d 个安全更新正在等待，至今最多 %d 天，在策略允许的 %d 天之内。", b.updates, days(waited), limitDays)), ev))
	case b.reboot:
		ev.Source = b.rebootSrc
		return with(checks.Pass(i18n.T(
			fmt.Sprintf("A restart to finish installing updates has been pending for %s, within the %s the policy allows.", dayWord(days(b.rebootSince)), dayWord(limitDays)),
			fmt.Sprintf("为完成更新安装所需的重启已等待 %d 天，在策略允许的 %d 天之内。", days(b.rebootSince), limitDays)), ev))
	}
	return with(checks.Pass(i18n.T(
		"No security update or restart is waiting to be installed.",
		"没有等待安装的安全更新或重启。"), ev))
}

// dayWord writes a number of days in English: "1 day", "3 days".
func dayWord(n int) string { return checks.Count(n, "day", "days") }

// securityUpdates writes "1 security update", "3 security updates".
func securityUpdates(n int) string {
	return checks.Count(n, "security update", "security updates")
}

func isAre(n int) string   { return itThey(n, "is", "are") }
func hasHave(n int) string { return itThey(n, "has", "have") }

// itThey picks the singular or plural form of a phrase for n things.
func itThey(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
