package ossupport

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

const winVersionKey = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`

// WindowsEdition maps an EditionID to the servicing channel the table
// uses: home_pro, enterprise, ltsc, iot_ltsc, or "" when unfamiliar.
func WindowsEdition(editionID string) string {
	e := strings.ToLower(editionID)
	switch {
	case strings.HasPrefix(e, "iotenterprises"):
		return "iot_ltsc"
	case strings.HasPrefix(e, "enterprises"):
		return "ltsc"
	case strings.HasPrefix(e, "enterprise"), strings.HasPrefix(e, "education"),
		strings.HasPrefix(e, "iotenterprise"), e == "serverrdsh":
		return "enterprise"
	case strings.HasPrefix(e, "core"), strings.HasPrefix(e, "professional"):
		return "home_pro"
	}
	return ""
}

// regString reads a registry value as text (REG_SZ or a number).
func regString(vals map[string]source.RegValue, name string) string {
	v, ok := vals[name]
	if !ok {
		return ""
	}
	switch x := v.Value.(type) {
	case string:
		return strings.TrimSpace(x)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return ""
}

func windowsProbes() []source.Probe {
	return []source.Probe{source.RegistryKey(winVersionKey, "CurrentBuild", "CurrentBuildNumber", "UBR",
		"EditionID", "DisplayVersion", "ReleaseId", "InstallationType", "ProductName")}
}

// windows judges a Windows release.
func (c *check) windows(_ context.Context, src source.Source, _ checks.Env) checks.Result {
	ev := checks.Evidence(`registry: `+winVersionKey, health.OSReported)
	vals, err := src.Registry(winVersionKey)
	if err != nil {
		return checks.Unknown(i18n.T(
			"herd could not read the Windows version from the registry, so it cannot tell which release this is.",
			"herd 无法从注册表读取 Windows 版本，无法判断当前版本。"), ev)
	}
	buildStr := regString(vals, "CurrentBuild")
	if buildStr == "" {
		buildStr = regString(vals, "CurrentBuildNumber")
	}
	build, err := strconv.Atoi(buildStr)
	if err != nil || build <= 0 {
		return checks.Unknown(i18n.T(
			"The Windows build number is missing from the registry, so herd cannot tell which release this is.",
			"注册表中缺少 Windows 内部版本号，herd 无法判断当前版本。"), ev)
	}
	editionID := regString(vals, "EditionID")
	display := regString(vals, "DisplayVersion")
	if display == "" {
		display = regString(vals, "ReleaseId")
	}
	server := strings.Contains(strings.ToLower(regString(vals, "InstallationType")), "server") ||
		strings.HasPrefix(strings.ToLower(editionID), "server") && !strings.EqualFold(editionID, "ServerRdsh")
	ev.Facts = map[string]any{"build": build, "edition_id": editionID}
	if ubr := regString(vals, "UBR"); ubr != "" {
		ev.Facts["ubr"] = ubr
	}
	if display != "" {
		ev.Facts["display_version"] = display
	}

	var label string
	var p *Product
	var rels []Release
	var m match
	if server {
		p = c.data.Products["windows-server"]
		label = regString(vals, "ProductName")
		if label == "" {
			label = "Windows Server"
		}
		label = fmt.Sprintf("%s (build %d)", label, build)
		rels, m = p.lookupBuild(build, "")
	} else {
		p = c.data.Products["windows"]
		// ProductName says "Windows 10" on Windows 11; the build decides.
		name := "Windows 10"
		switch {
		case build >= 22000:
			name = "Windows 11"
		case build < 10240:
			name = "Windows"
		}
		edition := WindowsEdition(editionID)
		label = strings.TrimSpace(fmt.Sprintf("%s %s", name, display))
		if editionID != "" {
			label += " " + editionID
		}
		label = fmt.Sprintf("%s (build %d)", label, build)
		if edition != "" {
			ev.Facts["servicing"] = edition
		}
		rels, m = p.lookupBuild(build, edition)
	}
	if p == nil {
		return checks.Unknown(i18n.T("herd's release data has no Windows table.", "herd 的版本数据中没有 Windows 表。"), ev)
	}
	return c.judge(p, rels, m, label, src.Now(), ev, i18n.T(
		"Install the latest Windows feature update: open Settings > Windows Update and select Check for updates (or use the Windows 11 Installation Assistant from microsoft.com). If the device cannot run a supported release, replace it or move it to an edition with longer support.",
		"请安装最新的 Windows 功能更新：打开“设置 > Windows 更新”，选择“检查更新”（或使用 microsoft.com 上的 Windows 11 安装助手）。如果设备无法运行受支持的版本，请更换设备或改用支持期更长的版本。"))
}
