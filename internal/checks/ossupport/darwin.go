package ossupport

import (
	"context"
	"fmt"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

func darwinProbes() []source.Probe { return []source.Probe{source.Command("sw_vers")} }

// darwin judges a macOS release.
func (c *check) darwin(ctx context.Context, src source.Source, _ checks.Env) checks.Result {
	ev := checks.Evidence("sw_vers", health.OSReported)
	out, err := src.Run(ctx, "sw_vers")
	if err != nil || !out.OK() {
		return checks.Unknown(i18n.T(
			"herd could not run sw_vers, so it cannot tell which macOS release this is.",
			"herd 无法运行 sw_vers，无法判断当前的 macOS 版本。"), ev)
	}
	v := ParseSwVers(out.Stdout)
	version := v["ProductVersion"]
	if version == "" {
		return checks.Unknown(i18n.T(
			"sw_vers did not report a macOS version.",
			"sw_vers 没有报告 macOS 版本。"), ev)
	}
	ev.Facts = map[string]any{"os_version": version}
	if b := v["BuildVersion"]; b != "" {
		ev.Facts["build"] = b
	}
	p := c.data.Products["macos"]
	rel := macOSRelease(version)
	r, m := p.lookup(rel)
	label := "macOS " + version
	if r.Codename != "" {
		label = fmt.Sprintf("macOS %s %s", r.Codename, version)
	}
	return c.judge(p, []Release{r}, m, label, src.Now(), ev, i18n.T(
		"Upgrade to a current macOS: open System Settings > General > Software Update and install the newest macOS version offered. If this Mac cannot run a supported version, replace it.",
		"请升级到当前的 macOS：打开“系统设置 > 通用 > 软件更新”，安装提供的最新 macOS 版本。如果这台 Mac 无法运行受支持的版本，请更换设备。"))
}
