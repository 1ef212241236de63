package updates

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

const (
	unattendedBin   = "/usr/bin/unattended-upgrade"
	dpkgStatus      = "/var/lib/dpkg/status"
	aptConfDir      = "/etc/apt/apt.conf.d"
	aptConfMain     = "/etc/apt/apt.conf"
	aptListsDir     = "/var/lib/apt/lists"
	rebootRequired  = "/var/run/reboot-required"
	timersWants     = "/etc/systemd/system/timers.target.wants"
	systemdRunDir   = "/run/systemd/system"
	dnfAutoConf     = "/etc/dnf/automatic.conf"
	dnf5AutoDefault = "/usr/share/dnf5/dnf5-plugins/automatic.conf"
	suseAOU         = "/etc/sysconfig/automatic_online_update"

	keyUpdateLists = "apt::periodic::update-package-lists"
	keyUnattended  = "apt::periodic::unattended-upgrade"
)

var (
	argvAptConfig   = []string{"apt-config", "dump"}
	argvAptTimers   = []string{"systemctl", "is-enabled", "apt-daily.timer", "apt-daily-upgrade.timer"}
	argvAptSim      = []string{"apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"}
	argvRebootStat  = []string{"stat", "-c", "%Y", rebootRequired}
	argvDNFSecurity = []string{"dnf", "-C", "-q", "updateinfo", "list", "--security"}
	argvNeedsRestrt = []string{"needs-restarting", "-r"}
	argvDNFRestart  = []string{"dnf", "needs-restarting", "-r"}
	argvZypperLP    = []string{"zypper", "--non-interactive", "--no-refresh", "list-patches", "--category", "security"}
	argvZypperBoot  = []string{"zypper", "needs-rebooting"}
)

func linuxAutoProbes() []source.Probe {
	return []source.Probe{
		source.File(osReleasePath), source.File(osReleaseFallback), source.File(unattendedBin), source.File(dpkgStatus),
		source.Command(argvAptConfig...), source.Dir(aptConfDir), source.File(aptConfDir + "/*"), source.File(aptConfMain),
		source.Command(argvAptTimers...), source.Dir(systemdRunDir),
		source.Dir(timersWants), source.File(dnfAutoConf), source.File(dnf5AutoDefault), source.File(suseAOU),
	}
}

func linuxPendingProbes() []source.Probe {
	return []source.Probe{
		source.File(osReleasePath), source.File(osReleaseFallback), source.File(dpkgStatus), source.Dir(aptListsDir),
		source.File(aptListsDir + "/*-security_*_Packages*"),
		source.File(aptListsDir + "/*security*_InRelease"), source.File(aptListsDir + "/*security*_Release"),
		source.Command(argvAptSim...),
		source.File(rebootRequired), source.File(rebootRequired + ".pkgs"), source.Command(argvRebootStat...),
		source.Command(argvDNFSecurity...), source.Command(argvNeedsRestrt...), source.Command(argvDNFRestart...),
		source.Command(argvZypperLP...), source.Command(argvZypperBoot...),
	}
}

func unreadable(what string) i18n.Text {
	return i18n.T(fmt.Sprintf("herd could not read %s, so it cannot tell how updates are installed.", what),
		fmt.Sprintf("herd 无法读取 %s，无法判断系统如何安装更新。", what))
}

// linuxAuto judges auto_update on Linux.
func linuxAuto(ctx context.Context, src source.Source, _ checks.Env) checks.Result {
	fam, name, err := linuxFamily(src)
	if err != nil {
		return checks.Unknown(unreadable(osReleasePath), checks.Evidence(osReleasePath, health.OSReported))
	}
	switch fam {
	case famDebian:
		return aptAuto(ctx, src)
	case famFedora:
		return dnfAuto(src)
	case famSUSE:
		return suseAuto(src)
	case famArch:
		return checks.Unknown(i18n.T(
			"Arch Linux does not install updates automatically by design, and herd cannot tell whether this system is updated some other way. Update it regularly with `sudo pacman -Syu`.",
			"Arch Linux 在设计上不会自动安装更新，herd 无法判断此系统是否以其他方式更新。请定期运行 `sudo pacman -Syu` 进行更新。"),
			checks.Evidence(osReleasePath, health.OSReported))
	}
	if name == "" {
		name = "this Linux distribution"
	}
	return checks.Unknown(i18n.T(
		fmt.Sprintf("herd does not know how %s installs updates automatically.", name),
		fmt.Sprintf("herd 不了解 %s 如何自动安装更新。", name)), checks.Evidence(osReleasePath, health.OSReported))
}

var aptFix = i18n.T(
	"Turn on automatic security updates: run `sudo apt install unattended-upgrades` and then `sudo dpkg-reconfigure -plow unattended-upgrades` and answer Yes. This writes APT::Periodic::Update-Package-Lists \"1\" and APT::Periodic::Unattended-Upgrade \"1\" to /etc/apt/apt.conf.d/20auto-upgrades.",
	"请开启自动安全更新：运行 `sudo apt install unattended-upgrades`，再运行 `sudo dpkg-reconfigure -plow unattended-upgrades` 并选择“是”。这会在 /etc/apt/apt.conf.d/20auto-upgrades 中写入 APT::Periodic::Update-Package-Lists \"1\" 和 APT::Periodic::Unattended-Upgrade \"1\"。")

// aptConfigFiles lists the files APT reads, in its order: the parts
// directory in ascending name order, then apt.conf. Backup files and names
// APT ignores are skipped.
func aptConfigFiles(names []string) []string {
	var out []string
	for _, n := range names {
		ok := n != ""
		for _, c := range n {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				ok = false
			}
		}
		for _, bad := range []string{".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-tmp", ".ucf-old", ".ucf-dist", ".ucf-new", ".save", ".orig", ".bak", ".disabled", ".distUpgrade"} {
			if strings.HasSuffix(n, bad) {
				ok = false
			}
		}
		if ok {
			out = append(out, aptConfDir+"/"+n)
		}
	}
	return out
}

func aptAuto(ctx context.Context, src source.Source) checks.Result {
	ev := checks.Evidence(unattendedBin, health.OSReported)
	ev.Facts = map[string]any{}
	var details []string

	// Is unattended-upgrades installed?
	installed := false
	if _, err := src.ReadFile(unattendedBin); err == nil {
		installed = true
	} else {
		b, err := src.ReadFile(dpkgStatus)
		if err != nil {
			return checks.Unknown(i18n.T("herd could not read whether unattended-upgrades is installed ("+dpkgStatus+"), so it cannot tell how updates are installed.",
				"herd 无法从 "+dpkgStatus+" 读取 unattended-upgrades 是否已安装，无法判断系统如何安装更新。"), checks.Evidence(dpkgStatus, health.OSReported))
		}
		ev.Source = dpkgStatus
		installed = strings.HasSuffix(ParseDpkgStatus(string(b))["unattended-upgrades"], " installed")
	}
	ev.Facts["unattended_upgrades_installed"] = installed
	if !installed {
		return checks.Fail(i18n.T(
			"Automatic security updates are off: the unattended-upgrades package is not installed.",
			"自动安全更新未开启：未安装 unattended-upgrades 软件包。"), ev, aptFix)
	}

	// The two APT::Periodic settings.
	conf := map[string]string{}
	if out, err := src.Run(ctx, argvAptConfig...); err == nil && out.OK() {
		ParseAPTConfig(out.Stdout, conf)
		ev.Source = "apt-config dump"
	} else {
		names, err := src.ReadDir(aptConfDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return checks.Unknown(unreadable(aptConfDir), checks.Evidence(aptConfDir, health.OSReported))
		}
		for _, f := range append(aptConfigFiles(names), aptConfMain) {
			b, err := src.ReadFile(f)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return checks.Unknown(unreadable(f), checks.Evidence(f, health.OSReported))
			}
			ParseAPTConfig(string(b), conf)
		}
		ev.Source = aptConfDir
	}
	var off []string
	for _, k := range []struct{ key, name string }{
		{keyUpdateLists, "APT::Periodic::Update-Package-Lists"},
		{keyUnattended, "APT::Periodic::Unattended-Upgrade"},
	} {
		v := conf[k.key]
		on, ok := APTPeriodicEnabled(v)
		if !ok {
			ev.Facts[k.key] = v
			return checks.Unknown(i18n.T(
				fmt.Sprintf("herd does not understand the value %q of %s.", v, k.name),
				fmt.Sprintf("herd 无法理解 %s 的取值 %q。", k.name, v)), ev)
		}
		ev.Facts[k.key] = on
		if v == "" {
			v = "unset"
		}
		details = append(details, fmt.Sprintf("%s: %s", k.name, v))
		if !on {
			off = append(off, k.name)
		}
	}
	if len(off) > 0 {
		r := checks.Fail(i18n.T(
			fmt.Sprintf("Automatic security updates are off: %s is 0 or unset, so unattended-upgrades never runs.", strings.Join(off, " and ")),
			fmt.Sprintf("自动安全更新未开启：%s 为 0 或未设置，因此 unattended-upgrades 不会运行。", strings.Join(off, " 和 "))), ev, aptFix)
		r.Details = details
		return r
	}

	// On a systemd system the daily job runs from apt-daily-upgrade.timer.
	if _, err := src.ReadDir(systemdRunDir); err == nil {
		if out, err := src.Run(ctx, argvAptTimers...); err == nil {
			lines := strings.Fields(out.Stdout)
			if len(lines) == 2 {
				details = append(details, "apt-daily.timer: "+lines[0], "apt-daily-upgrade.timer: "+lines[1])
				for _, l := range lines {
					if l == "masked" || l == "disabled" {
						ev.Source = "systemctl is-enabled"
						r := checks.Fail(i18n.T(
							"unattended-upgrades is configured, but the systemd timers that run it (apt-daily.timer, apt-daily-upgrade.timer) are "+l+", so it never runs.",
							"unattended-upgrades 已配置，但运行它的 systemd 定时器（apt-daily.timer、apt-daily-upgrade.timer）处于 "+l+" 状态，因此它不会运行。"), ev,
							i18n.T("Turn the timers back on: `sudo systemctl unmask apt-daily.timer apt-daily-upgrade.timer` and `sudo systemctl enable --now apt-daily.timer apt-daily-upgrade.timer`.",
								"请重新启用定时器：运行 `sudo systemctl unmask apt-daily.timer apt-daily-upgrade.timer` 和 `sudo systemctl enable --now apt-daily.timer apt-daily-upgrade.timer`。"))
						r.Details = details
						return r
					}
				}
			}
		}
	}
	r := checks.Pass(i18n.T(
		"Security updates are installed automatically by unattended-upgrades (package lists are refreshed and upgrades run periodically).",
		"安全更新由 unattended-upgrades 自动安装（定期刷新软件包列表并执行升级）。"), ev)
	r.Details = details
	return r
}

var dnfFix = i18n.T(
	"Turn on automatic updates: run `sudo dnf install dnf-automatic` (on Fedora 41 and later: `sudo dnf install dnf5-plugin-automatic`), set `apply_updates = yes` under [commands] in /etc/dnf/automatic.conf, then run `sudo systemctl enable --now dnf-automatic.timer`.",
	"请开启自动更新：运行 `sudo dnf install dnf-automatic`（Fedora 41 及更高版本：`sudo dnf install dnf5-plugin-automatic`），在 /etc/dnf/automatic.conf 的 [commands] 部分设置 `apply_updates = yes`，然后运行 `sudo systemctl enable --now dnf-automatic.timer`。")

func enabledTimers(src source.Source) (map[string]bool, error) {
	names, err := src.ReadDir(timersWants)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m, nil
}

func dnfAuto(src source.Source) checks.Result {
	ev := checks.Evidence(timersWants, health.OSReported)
	timers, err := enabledTimers(src)
	if err != nil {
		return checks.Unknown(unreadable(timersWants), ev)
	}
	if timers["dnf-automatic-install.timer"] {
		r := checks.Pass(i18n.T("Updates are installed automatically by dnf-automatic-install.timer.",
			"更新由 dnf-automatic-install.timer 自动安装。"), ev)
		r.Details = []string{"dnf-automatic-install.timer: enabled"}
		return r
	}
	timer := ""
	for _, t := range []string{"dnf-automatic.timer", "dnf5-automatic.timer"} {
		if timers[t] {
			timer = t
		}
	}
	if timer == "" {
		return checks.Fail(i18n.T(
			"Automatic updates are off: no dnf-automatic timer is enabled.",
			"自动更新未开启：没有启用任何 dnf-automatic 定时器。"), ev, dnfFix)
	}
	details := []string{timer + ": enabled"}
	confPath := dnfAutoConf
	b, err := src.ReadFile(confPath)
	if errors.Is(err, fs.ErrNotExist) && timer == "dnf5-automatic.timer" {
		confPath = dnf5AutoDefault
		b, err = src.ReadFile(confPath)
	}
	ev.Source = confPath
	if err != nil {
		return checks.Unknown(unreadable(confPath), ev)
	}
	cmd := ParseINI(string(b))["commands"]
	apply, ok := parseBool(cmd["apply_updates"])
	if cmd["apply_updates"] == "" {
		apply, ok = false, true // dnf-automatic's default is not to apply
	}
	if !ok {
		return checks.Unknown(i18n.T(
			fmt.Sprintf("herd does not understand apply_updates = %q in %s.", cmd["apply_updates"], confPath),
			fmt.Sprintf("herd 无法理解 %s 中的 apply_updates = %q。", confPath, cmd["apply_updates"])), ev)
	}
	ev.Facts = map[string]any{"apply_updates": apply}
	if t := cmd["upgrade_type"]; t != "" {
		ev.Facts["upgrade_type"] = t
		details = append(details, "upgrade_type: "+t)
	}
	details = append(details, fmt.Sprintf("apply_updates: %v", apply))
	var r checks.Result
	if apply {
		r = checks.Pass(i18n.T(
			fmt.Sprintf("Updates are installed automatically by dnf-automatic (%s with apply_updates = yes).", timer),
			fmt.Sprintf("更新由 dnf-automatic 自动安装（%s，apply_updates = yes）。", timer)), ev)
	} else {
		r = checks.Fail(i18n.T(
			fmt.Sprintf("dnf-automatic runs (%s) but only downloads or reports updates: apply_updates is not set to yes in %s.", timer, confPath),
			fmt.Sprintf("dnf-automatic 正在运行（%s），但只下载或报告更新：%s 中的 apply_updates 未设为 yes。", timer, confPath)), ev,
			i18n.T("Set `apply_updates = yes` under [commands] in /etc/dnf/automatic.conf (or enable dnf-automatic-install.timer instead: `sudo systemctl enable --now dnf-automatic-install.timer`).",
				"请在 /etc/dnf/automatic.conf 的 [commands] 部分设置 `apply_updates = yes`（或改为启用 dnf-automatic-install.timer：`sudo systemctl enable --now dnf-automatic-install.timer`）。"))
	}
	r.Details = details
	return r
}

func suseAuto(src source.Source) checks.Result {
	ev := checks.Evidence(timersWants, health.OSReported)
	timers, err := enabledTimers(src)
	if err != nil {
		return checks.Unknown(unreadable(timersWants), ev)
	}
	for _, t := range []string{"transactional-update.timer", "os-update.timer"} {
		if timers[t] {
			r := checks.Pass(i18n.T(
				fmt.Sprintf("Updates are installed automatically by %s.", t),
				fmt.Sprintf("更新由 %s 自动安装。", t)), ev)
			r.Details = []string{t + ": enabled"}
			return r
		}
	}
	b, err := src.ReadFile(suseAOU)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return checks.Unknown(unreadable(suseAOU), checks.Evidence(suseAOU, health.OSReported))
	}
	if err == nil {
		ev.Source = suseAOU
		if on, _ := parseBool(ParseINI(string(b))[""]["aou_enable_cronjob"]); on {
			return checks.Pass(i18n.T("Updates are installed automatically by YaST's automatic online update.",
				"更新由 YaST 的自动在线更新自动安装。"), ev)
		}
	}
	return checks.Fail(i18n.T(
		"Automatic updates are off: neither transactional-update.timer, os-update.timer nor YaST's automatic online update is enabled.",
		"自动更新未开启：transactional-update.timer、os-update.timer 和 YaST 的自动在线更新均未启用。"), ev,
		i18n.T("Turn on automatic updates: in YaST open Online Update Configuration and tick Automatic Online Update, or run `sudo zypper install os-update` and `sudo systemctl enable --now os-update.timer`.",
			"请开启自动更新：在 YaST 中打开“在线更新配置”并勾选“自动在线更新”，或运行 `sudo zypper install os-update` 和 `sudo systemctl enable --now os-update.timer`。"))
}

// ---- pending_updates ----

// linuxPending judges pending_updates on Linux.
func linuxPending(ctx context.Context, src source.Source, env checks.Env) checks.Result {
	fam, name, err := linuxFamily(src)
	if err != nil {
		return checks.Unknown(unreadable(osReleasePath), checks.Evidence(osReleasePath, health.OSReported))
	}
	now, limit := src.Now(), env.PendingAge()
	switch fam {
	case famDebian:
		return aptPending(ctx, src, env).judge(now, limit, i18n.T(
			"Install the waiting security updates now: `sudo apt update && sudo apt upgrade` (or use Software Updater), then restart if asked. Turning on automatic updates keeps this from happening again.",
			"请立即安装等待中的安全更新：运行 `sudo apt update && sudo apt upgrade`（或使用“软件更新器”），如有提示请重启。开启自动更新可避免再次出现这种情况。"))
	case famFedora:
		return dnfPending(ctx, src, env).judge(now, limit, i18n.T(
			"Install the waiting security updates now: `sudo dnf upgrade --security` (or use GNOME Software), then restart if asked.",
			"请立即安装等待中的安全更新：运行 `sudo dnf upgrade --security`（或使用 GNOME 软件），如有提示请重启。"))
	case famSUSE:
		return zypperPending(ctx, src, env).judge(now, limit, i18n.T(
			"Install the waiting security patches now: `sudo zypper patch --category security` (on transactional systems: `sudo transactional-update patch`), then restart if asked.",
			"请立即安装等待中的安全补丁：运行 `sudo zypper patch --category security`（事务型系统：`sudo transactional-update patch`），如有提示请重启。"))
	case famArch:
		return checks.Unknown(i18n.T(
			"Arch Linux publishes no security classification for updates that herd can read offline, and listing updates needs the network, so herd cannot tell whether security updates are waiting.",
			"Arch Linux 没有可离线读取的更新安全分类，而列出更新需要联网，因此 herd 无法判断是否有安全更新在等待。"),
			checks.Evidence(osReleasePath, health.OSReported))
	}
	if name == "" {
		name = "this Linux distribution"
	}
	return checks.Unknown(i18n.T(
		fmt.Sprintf("herd does not know how to list pending security updates on %s.", name),
		fmt.Sprintf("herd 不了解如何在 %s 上列出待安装的安全更新。", name)), checks.Evidence(osReleasePath, health.OSReported))
}

// aptLocalSource names the evidence of the local-metadata method.
const aptLocalSource = "/var/lib/dpkg/status + /var/lib/apt/lists (security Packages)"

// aptUpdate is one installed package a security suite offers a newer
// version of.
type aptUpdate struct {
	name, version, installed string
}

// aptLocalPending finds the installed packages for which a security
// suite's Packages index offers a newer version: what APT would upgrade
// from that suite, read from APT's local metadata in a few milliseconds
// instead of the seconds `apt-get -s dist-upgrade` takes to build its
// dependency solution. ok is false when the metadata cannot be read (no
// security index, an index compressed in a form herd cannot read), and
// the caller asks APT instead.
func aptLocalPending(src source.Source) (updates []aptUpdate, ok bool) {
	status, err := src.ReadFile(dpkgStatus)
	if err != nil {
		return nil, false
	}
	installed := ParseDpkgInstalled(string(status))
	if len(installed) == 0 {
		return nil, false
	}
	files, err := src.ReadDir(aptListsDir)
	if err != nil {
		return nil, false
	}
	keep := newerThanInstalled(installed)
	seen := map[string]bool{}
	found := false
	for _, f := range files {
		if !isSecurityPackagesList(f) {
			continue
		}
		found = true
		stanzas, err := source.ReadStanzas(src, aptListsDir+"/"+f, keep)
		if err != nil {
			return nil, false
		}
		for _, st := range stanzas {
			p := ParseDebStanza(st)
			if k := installedKey(p.Name, p.Arch); !seen[k] {
				seen[k] = true
				updates = append(updates, aptUpdate{name: p.Name, version: p.Version, installed: installed[k]})
			}
		}
	}
	return updates, found
}

func aptNames(us []aptUpdate) []string {
	var names []string
	for _, u := range us {
		names = append(names, u.name)
	}
	return names
}

func aptPending(ctx context.Context, src source.Source, env checks.Env) backlog {
	return aptPendingBy(ctx, src, true, env)
}

// aptPendingBy reads the backlog from APT's local metadata when local is
// set and it can be read, and from `apt-get -s dist-upgrade` otherwise.
func aptPendingBy(ctx context.Context, src source.Source, local bool, env checks.Env) backlog {
	b := backlog{source: aptLocalSource, rebootSrc: rebootRequired, facts: map[string]any{}}
	var updates []aptUpdate
	ok := false
	if local {
		updates, ok = aptLocalPending(src)
	}
	if !ok {
		b.source = "apt-get -s dist-upgrade"
		updates = nil
		out, err := src.Run(ctx, argvAptSim...)
		if err != nil || !out.OK() {
			b.unknownReason = i18n.T("herd could not ask APT which updates are waiting (apt-get -s dist-upgrade did not run).",
				"herd 无法向 APT 查询等待中的更新（apt-get -s dist-upgrade 未能运行）。")
		} else {
			ok = true
			for _, u := range ParseAptSimulate(out.Stdout) {
				if u.Security {
					updates = append(updates, aptUpdate{name: u.Package, version: u.To, installed: u.From})
				}
			}
		}
	}
	if ok {
		b.updatesKnown = true
		names := aptNames(updates)
		b.updates = len(names)
		if len(names) > 0 {
			b.details = append(b.details, "security updates: "+listShort(names, 10))
			// The newest security index that lists them bounds their age.
			var newest time.Time
			files, _ := src.ReadDir(aptListsDir)
			for _, f := range files {
				if !strings.Contains(f, "security") || !(strings.HasSuffix(f, "_InRelease") || strings.HasSuffix(f, "_Release")) {
					continue
				}
				data, err := src.ReadFile(aptListsDir + "/" + f)
				if err != nil {
					continue
				}
				if rel, err := ParseRelease(string(data)); err == nil && rel.Date.After(newest) {
					newest = rel.Date
				}
			}
			if !newest.IsZero() {
				b.since, b.sinceIsBound = newest, true
				b.details = append(b.details, "security index published "+newest.Format(time.RFC3339))
			}
		}
		// The device's memory of when each was first seen: a package
		// keeps waiting while a version newer than the installed one is
		// offered, even when a later fix replaces the first.
		items := make([]pendingItem, 0, len(updates))
		installed := map[string]string{}
		for _, u := range updates {
			if _, dup := installed[u.name]; !dup {
				items = append(items, pendingItem{Key: u.name, Version: u.version})
			}
			installed[u.name] = u.installed
		}
		b.withMemory(env, "apt", src.Now(), items, func(key, version string) bool {
			have, ok := installed[key]
			return ok && have != "" && CompareDebVersions(version, have) > 0
		})
	}
	// A restart asked for by an update.
	_, err := src.ReadFile(rebootRequired)
	switch {
	case err == nil:
		b.rebootKnown, b.reboot = true, true
		if pk, err := src.ReadFile(rebootRequired + ".pkgs"); err == nil {
			b.details = append(b.details, "restart requested by: "+listShort(strings.Fields(string(pk)), 10))
		}
		if st, err := src.Run(ctx, argvRebootStat...); err == nil && st.OK() {
			if t, ok := ParseStatMtime(st.Stdout); ok {
				b.rebootSince = t
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		b.rebootKnown = true
	default:
		if b.unknownReason.IsZero() {
			b.unknownReason = unreadable(rebootRequired)
		}
	}
	return b
}

// advisoryItems makes pending items of advisory or patch ids, each its
// own update.
func advisoryItems(ids []string) []pendingItem {
	items := make([]pendingItem, len(ids))
	for i, id := range ids {
		items[i] = pendingItem{Key: id}
	}
	return items
}

func listShort(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

func dnfPending(ctx context.Context, src source.Source, env checks.Env) backlog {
	b := backlog{source: "dnf updateinfo list --security", rebootSrc: "needs-restarting -r", facts: map[string]any{}}
	out, err := src.Run(ctx, argvDNFSecurity...)
	if err != nil || !out.OK() {
		b.unknownReason = i18n.T("herd could not list security advisories from dnf's cached metadata (dnf -C updateinfo did not run).",
			"herd 无法从 dnf 的缓存元数据中列出安全公告（dnf -C updateinfo 未能运行）。")
	} else {
		b.updatesKnown = true
		var ids []string
		seen := map[string]bool{}
		allDated := true
		var oldest time.Time
		for _, a := range ParseDNFUpdateInfo(out.Stdout) {
			if !seen[a.ID] {
				seen[a.ID] = true
				ids = append(ids, a.ID)
			}
			if a.Issued.IsZero() {
				allDated = false
			} else if oldest.IsZero() || a.Issued.Before(oldest) {
				oldest = a.Issued
			}
		}
		b.updates = len(ids)
		if len(ids) > 0 {
			b.details = append(b.details, "security advisories: "+listShort(ids, 10))
			// With every advisory dated, the oldest date is the age; an
			// undated one could be older, so the oldest dated is a bound.
			b.since, b.sinceIsBound = oldest, !allDated
		}
		b.withMemory(env, "dnf", src.Now(), advisoryItems(ids), nil)
	}
	for _, argv := range [][]string{argvNeedsRestrt, argvDNFRestart} {
		o, err := src.Run(ctx, argv...)
		if err != nil || (o.Exit != 0 && o.Exit != 1) {
			continue
		}
		b.rebootSrc = strings.Join(argv, " ")
		b.rebootKnown, b.reboot = true, o.Exit == 1
		break
	}
	if !b.rebootKnown && b.unknownReason.IsZero() {
		b.unknownReason = i18n.T("herd could not tell whether a restart is needed to finish updates (needs-restarting is not available).",
			"herd 无法判断是否需要重启以完成更新（needs-restarting 不可用）。")
	}
	return b
}

func zypperPending(ctx context.Context, src source.Source, env checks.Env) backlog {
	b := backlog{source: "zypper list-patches --category security", rebootSrc: "zypper needs-rebooting", facts: map[string]any{}}
	out, err := src.Run(ctx, argvZypperLP...)
	// zypper exits 100 when patches are available, 101 when security ones are.
	if err != nil || (out.Exit != 0 && out.Exit != 100 && out.Exit != 101) {
		b.unknownReason = i18n.T("herd could not list security patches from zypper's cached metadata.",
			"herd 无法从 zypper 的缓存元数据中列出安全补丁。")
	} else {
		b.updatesKnown = true
		var ids []string
		allDated, oldest := true, time.Time{}
		for _, p := range ParseZypperPatches(out.Stdout) {
			if !strings.EqualFold(p.Category, "security") || !strings.EqualFold(p.Status, "needed") {
				continue
			}
			ids = append(ids, p.ID)
			if p.Issued.IsZero() {
				allDated = false
			} else if oldest.IsZero() || p.Issued.Before(oldest) {
				oldest = p.Issued
			}
		}
		b.updates = len(ids)
		if len(ids) > 0 {
			b.details = append(b.details, "security patches: "+listShort(ids, 10))
			b.since, b.sinceIsBound = oldest, !allDated
		}
		b.withMemory(env, "zypper", src.Now(), advisoryItems(ids), nil)
	}
	if o, err := src.Run(ctx, argvZypperBoot...); err == nil && (o.Exit == 0 || o.Exit == 102) {
		b.rebootKnown, b.reboot = true, o.Exit == 102
	} else if b.unknownReason.IsZero() {
		b.unknownReason = i18n.T("herd could not tell whether a restart is needed to finish updates (zypper needs-rebooting did not run).",
			"herd 无法判断是否需要重启以完成更新（zypper needs-rebooting 未能运行）。")
	}
	return b
}
