package ossupport

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
	osReleasePath    = "/etc/os-release"
	osReleaseFallbck = "/usr/lib/os-release"
	pacmanLogPath    = "/var/log/pacman.log"
	// rollingMaxAge is how long a rolling release may go without a full
	// upgrade before it counts as no longer receiving security fixes.
	rollingMaxAge = 90 * 24 * time.Hour
)

// esmSources are the apt sources Ubuntu Pro writes when ESM is enabled.
var esmSources = []string{
	"/etc/apt/sources.list.d/ubuntu-esm-infra.sources",
	"/etc/apt/sources.list.d/ubuntu-esm-infra.list",
}

func linuxProbes() []source.Probe {
	p := []source.Probe{source.File(osReleasePath), source.File(osReleaseFallbck), source.File(pacmanLogPath)}
	for _, f := range esmSources {
		p = append(p, source.File(f))
	}
	return p
}

// linuxProducts maps os-release ID to the table's product.
var linuxProducts = map[string]string{
	"debian": "debian", "ubuntu": "ubuntu", "fedora": "fedora",
	"rhel": "rhel", "centos": "centos", "rocky": "rocky", "almalinux": "almalinux",
	"opensuse-leap": "opensuse-leap",
}

// linux judges a Linux release.
func (c *check) linux(_ context.Context, src source.Source, _ checks.Env) checks.Result {
	path := osReleasePath
	b, err := src.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		path = osReleaseFallbck
		b, err = src.ReadFile(path)
	}
	ev := checks.Evidence(path, health.OSReported)
	if err != nil {
		return checks.Unknown(i18n.T(
			fmt.Sprintf("herd could not read the OS release file (%s), so it cannot tell which release this is.", osReleasePath),
			fmt.Sprintf("herd 无法读取系统版本文件（%s），无法判断当前版本。", osReleasePath)), ev)
	}
	osr := ParseOSRelease(string(b))
	id, version := osr["ID"], osr["VERSION_ID"]
	label := osr["PRETTY_NAME"]
	if label == "" {
		label = strings.TrimSpace(osr["NAME"] + " " + version)
	}
	if label == "" {
		label = "this Linux distribution"
	}
	ev.Facts = map[string]any{"os_id": id, "os_version": version}
	now := src.Now()

	switch id {
	case "arch":
		return c.rolling(src, label, ev)
	case "opensuse-tumbleweed":
		return checks.Unknown(i18n.T(
			fmt.Sprintf("%s is a rolling release: it stays supported as long as it is upgraded, and herd does not read its upgrade history yet.", label),
			fmt.Sprintf("%s 是滚动发行版：只要持续升级就受支持，而 herd 目前尚不读取其升级记录。", label)), ev)
	}

	prodID, ok := linuxProducts[id]
	if !ok {
		// Derivatives that use Ubuntu's archive name their base.
		if cn := osr["UBUNTU_CODENAME"]; cn != "" {
			p := c.data.Products["ubuntu"]
			for _, r := range p.Releases {
				if r.Codename == cn {
					ev.Facts["base"] = "ubuntu " + r.Release
					res := c.judgeUbuntu(src, p, r, label+" (based on Ubuntu "+r.Release+")", now, ev)
					return res
				}
			}
		}
		return checks.Unknown(i18n.T(
			fmt.Sprintf("herd's release data (compiled %s) does not cover %s, so it cannot tell whether it still receives security updates.", c.data.Compiled, label),
			fmt.Sprintf("herd 的版本数据（编制于 %s）不包含 %s，无法判断它是否仍在接收安全更新。", c.data.Compiled, label)), ev)
	}
	p := c.data.Products[prodID]
	if p == nil {
		return checks.Unknown(i18n.T(
			fmt.Sprintf("herd's release data has no entry for %s.", label),
			fmt.Sprintf("herd 的版本数据中没有 %s。", label)), ev)
	}
	if version == "" {
		return checks.Unknown(i18n.T(
			fmt.Sprintf("%s does not state a release number (a testing or development branch?), and such branches have no security support schedule herd can judge.", label),
			fmt.Sprintf("%s 未标明版本号（可能是测试或开发分支），herd 无法判断其安全支持周期。", label)), ev)
	}
	switch prodID {
	case "rhel", "centos", "rocky", "almalinux":
		version, _, _ = strings.Cut(version, ".")
	}
	r, m := p.lookup(version)
	if prodID == "ubuntu" && m == matchFound {
		return c.judgeUbuntu(src, p, r, label, now, ev)
	}
	return c.judge(p, []Release{r}, m, label, now, ev, linuxFix(prodID, c.newest(p, now)))
}

// judgeUbuntu judges an Ubuntu release, letting an LTS with Ubuntu Pro
// ESM configured pass until the ESM end.
func (c *check) judgeUbuntu(src source.Source, p *Product, r Release, label string, now time.Time, ev health.Evidence) checks.Result {
	res := c.judge(p, []Release{r}, matchFound, label, now, ev, linuxFix("ubuntu", c.newest(p, now)))
	if res.Status != health.Fail || r.Extended == nil || !now.Before(r.Extended.End()) {
		return res
	}
	for _, f := range esmSources {
		if b, err := src.ReadFile(f); err == nil && strings.Contains(string(b), "esm") {
			res.Evidence.Facts["esm"] = true
			res.Evidence.Source = f
			pass := checks.Pass(i18n.T(
				fmt.Sprintf("%s is past its standard support, but Ubuntu Pro Expanded Security Maintenance is enabled and provides security updates until %s.", label, r.Extended),
				fmt.Sprintf("%s 已过标准支持期，但已启用 Ubuntu Pro 扩展安全维护（ESM），可获得安全更新直到 %s。", label, r.Extended)), res.Evidence)
			pass.Details = res.Details
			return pass
		}
	}
	return res
}

// newest is the latest listed release that is still supported at now.
func (c *check) newest(p *Product, now time.Time) string {
	best := ""
	for _, r := range p.Releases {
		if r.EOL != nil && !now.Before(r.EOL.End()) {
			continue
		}
		if best == "" {
			best = r.Release
			continue
		}
		if cmp, ok := compareVersions(r.Release, best); ok && cmp > 0 {
			best = r.Release
		}
	}
	return best
}

func linuxFix(prod, newest string) i18n.Text {
	to, toZh := "a release that still receives security updates", "仍在接收安全更新的版本"
	if newest != "" {
		to, toZh = "release "+newest+" or another supported release", newest+" 或其他受支持的版本"
	}
	switch prod {
	case "debian":
		return i18n.T("Upgrade Debian to "+to+", following the release notes for that release at https://www.debian.org/releases/ (point /etc/apt/sources.list at the new codename, then run `sudo apt update && sudo apt full-upgrade`).",
			"请按照 https://www.debian.org/releases/ 上对应版本的发行说明，将 Debian 升级到 "+toZh+"（把 /etc/apt/sources.list 改为新的代号，然后运行 `sudo apt update && sudo apt full-upgrade`）。")
	case "ubuntu":
		return i18n.T("Upgrade Ubuntu to "+to+": run `sudo do-release-upgrade` (or use Software Updater). An LTS release can also get security updates through Ubuntu Pro's Expanded Security Maintenance.",
			"请将 Ubuntu 升级到 "+toZh+"：运行 `sudo do-release-upgrade`（或使用“软件更新器”）。LTS 版本也可以通过 Ubuntu Pro 的扩展安全维护获得安全更新。")
	case "fedora":
		return i18n.T("Upgrade Fedora to "+to+": run `sudo dnf system-upgrade download --releasever=N` then `sudo dnf system-upgrade reboot` (or use GNOME Software).",
			"请将 Fedora 升级到 "+toZh+"：运行 `sudo dnf system-upgrade download --releasever=N`，然后运行 `sudo dnf system-upgrade reboot`（或使用 GNOME 软件）。")
	case "opensuse-leap":
		return i18n.T("Upgrade openSUSE Leap to "+to+" (see the openSUSE system upgrade guide; `sudo zypper dup` after switching repositories to the new release).",
			"请将 openSUSE Leap 升级到 "+toZh+"（参阅 openSUSE 系统升级指南；将软件源切换到新版本后运行 `sudo zypper dup`）。")
	}
	return i18n.T("Upgrade the operating system to "+to+" (for Red Hat-family systems, an in-place upgrade with `leapp` or a fresh install of the next major release).",
		"请将操作系统升级到 "+toZh+"（红帽系系统可使用 `leapp` 原地升级，或全新安装下一个主版本）。")
}

// rolling judges Arch Linux by its last full system upgrade.
func (c *check) rolling(src source.Source, label string, ev health.Evidence) checks.Result {
	b, err := src.ReadFile(pacmanLogPath)
	ev.Source = pacmanLogPath
	last, ok := time.Time{}, false
	if err == nil {
		last, ok = ParsePacmanLog(string(b))
	}
	if !ok {
		return checks.Unknown(i18n.T(
			fmt.Sprintf("%s is a rolling release that stays supported only while it is upgraded, and herd found no record of a full system upgrade in %s.", label, pacmanLogPath),
			fmt.Sprintf("%s 是滚动发行版，只有持续升级才受支持，而 herd 在 %s 中没有找到完整系统升级的记录。", label, pacmanLogPath)), ev)
	}
	ev.Facts["last_full_upgrade"] = last.UTC().Format(time.RFC3339)
	age := src.Now().Sub(last)
	days := int(age.Hours() / 24)
	if age <= rollingMaxAge {
		return checks.Pass(i18n.T(
			fmt.Sprintf("%s is a rolling release and was fully upgraded %s ago, so it receives security fixes.", label, checks.Count(days, "day", "days")),
			fmt.Sprintf("%s 是滚动发行版，%d 天前进行过完整升级，因此能获得安全修复。", label, days)), ev)
	}
	return checks.Fail(i18n.T(
		fmt.Sprintf("%s is a rolling release that has not been fully upgraded for %s; it only gets security fixes by upgrading.", label, checks.Count(days, "day", "days")),
		fmt.Sprintf("%s 是滚动发行版，已有 %d 天未进行完整升级；它只能通过升级获得安全修复。", label, days)), ev,
		i18n.T("Upgrade the whole system now with `sudo pacman -Syu`, and keep doing so at least every few weeks.",
			"请立即运行 `sudo pacman -Syu` 升级整个系统，并至少每隔几周升级一次。"))
}
