package updates

import (
	"context"
	"fmt"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

const (
	suPlist        = "/Library/Preferences/com.apple.SoftwareUpdate"
	suManagedPlist = "/Library/Managed Preferences/com.apple.SoftwareUpdate"
	commercePlist  = "/Library/Preferences/com.apple.commerce"
)

var (
	argvSU        = []string{"defaults", "read", suPlist}
	argvSUManaged = []string{"defaults", "read", suManagedPlist}
	argvCommerce  = []string{"defaults", "read", commercePlist}
)

func darwinAutoProbes() []source.Probe {
	return []source.Probe{source.Command(argvSU...), source.Command(argvSUManaged...), source.Command(argvCommerce...)}
}

func darwinPendingProbes() []source.Probe { return []source.Probe{source.Command(argvSU...)} }

// readDefaults runs `defaults read` on a domain. A domain that does not
// exist is an empty dictionary (found = false); ok is false when the
// command could not run or printed something unreadable.
func readDefaults(ctx context.Context, src source.Source, argv []string) (m map[string]any, found, ok bool) {
	out, err := src.Run(ctx, argv...)
	if err != nil {
		return nil, false, false
	}
	if !out.OK() {
		if strings.Contains(out.Stderr, "does not exist") {
			return map[string]any{}, false, true
		}
		return nil, false, false
	}
	v, err := ParseDefaults(out.Stdout)
	if err != nil {
		return nil, false, false
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, false, false
	}
	return m, true, true
}

// The settings that make macOS install security fixes by itself; each is
// on when the key is absent (macOS's default).
var macAutoKeys = []struct{ key, label, labelZh string }{
	{"AutomaticCheckEnabled", "Check for updates", "检查更新"},
	{"AutomaticDownload", "Download new updates when available", "有可用的新更新时下载"},
	{"CriticalUpdateInstall", "Install Security Responses and system files", "安装安全响应和系统文件"},
	{"ConfigDataInstall", "Install system data files (XProtect)", "安装系统数据文件（XProtect）"},
}

// darwinAuto judges auto_update on macOS.
func darwinAuto(ctx context.Context, src source.Source, _ checks.Env) checks.Result {
	ev := checks.Evidence("defaults read "+suPlist, health.OSReported)
	local, _, ok := readDefaults(ctx, src, argvSU)
	if !ok {
		return checks.Unknown(i18n.T(
			"herd could not read the Software Update settings (defaults read com.apple.SoftwareUpdate).",
			"herd 无法读取软件更新设置（defaults read com.apple.SoftwareUpdate）。"), ev)
	}
	managed, managedFound, _ := readDefaults(ctx, src, argvSUManaged)
	ev.Facts = map[string]any{}
	var details, off, offZh []string
	for _, k := range macAutoKeys {
		on, set := plistBool(local, k.key)
		where := "local"
		if mv, mset := plistBool(managed, k.key); managedFound && mset {
			on, set, where = mv, true, "managed profile"
		}
		if !set {
			on, where = true, "macOS default"
		}
		ev.Facts[k.key] = on
		details = append(details, fmt.Sprintf("%s (%s): %v, %s", k.label, k.key, on, where))
		if !on {
			off = append(off, k.label)
			offZh = append(offZh, "“"+k.labelZh+"”")
		}
	}
	if v, set := plistBool(local, "AutomaticallyInstallMacOSUpdates"); set {
		details = append(details, fmt.Sprintf("Install macOS updates (AutomaticallyInstallMacOSUpdates): %v", v))
	}
	if c, _, ok := readDefaults(ctx, src, argvCommerce); ok {
		if v, set := plistBool(c, "AutoUpdate"); set {
			details = append(details, fmt.Sprintf("Install application updates from the App Store (AutoUpdate): %v", v))
		}
	}
	if managedFound {
		ev.Facts["managed"] = true
	}
	var r checks.Result
	if len(off) > 0 {
		r = checks.Fail(i18n.T(
			fmt.Sprintf("macOS does not install security fixes automatically: %s is turned off.", strings.Join(off, ", ")),
			fmt.Sprintf("macOS 不会自动安装安全修复：%s已关闭。", strings.Join(offZh, "、"))), ev,
			i18n.T("Open System Settings > General > Software Update, click the info button next to Automatic Updates, and turn on Check for updates, Download new updates when available, and Install Security Responses and system files (turning on Install macOS updates too is recommended). If a management profile turned them off, ask your IT administrator.",
				"打开“系统设置 > 通用 > 软件更新”，点按“自动更新”旁的信息按钮，打开“检查更新”“有可用的新更新时下载”和“安装安全响应和系统文件”（建议同时打开“安装 macOS 更新”）。如果是管理描述文件关闭了这些设置，请联系 IT 管理员。"))
	} else {
		r = checks.Pass(i18n.T(
			"macOS checks for, downloads and installs security responses and system data files automatically.",
			"macOS 会自动检查、下载并安装安全响应和系统数据文件。"), ev)
	}
	r.Details = details
	return r
}

// darwinPending judges pending_updates on macOS.
func darwinPending(ctx context.Context, src source.Source, env checks.Env) checks.Result {
	b := backlog{source: "defaults read " + suPlist, rebootSrc: "defaults read " + suPlist, facts: map[string]any{}}
	// macOS finishes a restart-requiring update during the restart itself;
	// until then the update is still listed as recommended.
	b.rebootKnown = true
	m, _, ok := readDefaults(ctx, src, argvSU)
	now, limit := src.Now(), env.PendingAge()
	if !ok {
		b.unknownReason = i18n.T("herd could not read the Software Update state (defaults read com.apple.SoftwareUpdate).",
			"herd 无法读取软件更新状态（defaults read com.apple.SoftwareUpdate）。")
		return b.judge(now, limit, i18n.Text{})
	}
	last, haveLast := plistDate(m, "LastSuccessfulDate")
	if haveLast {
		b.facts["last_successful_check"] = last.Format("2006-01-02T15:04:05Z")
	}
	var names []string
	if recs, ok := m["RecommendedUpdates"].([]any); ok {
		for _, r := range recs {
			d, _ := r.(map[string]any)
			name, _ := d["Display Name"].(string)
			if v, _ := d["Display Version"].(string); v != "" && !strings.Contains(name, v) {
				name += " " + v
			}
			if name == "" {
				name, _ = d["Identifier"].(string)
			}
			names = append(names, name)
		}
	}
	switch {
	case !haveLast:
		b.unknownReason = i18n.T("Software Update has no record of a successful check for updates, so herd cannot tell whether updates are waiting.",
			"软件更新没有成功检查更新的记录，herd 无法判断是否有更新在等待。")
	case len(names) == 0 && now.Sub(last) > limit:
		b.unknownReason = i18n.T(
			fmt.Sprintf("Software Update last checked for updates successfully %s ago, so herd cannot tell whether updates have come out since.", dayWord(int(now.Sub(last).Hours()/24))),
			fmt.Sprintf("软件更新上次成功检查更新是在 %d 天前，herd 无法判断此后是否有新的更新。", int(now.Sub(last).Hours()/24)))
	default:
		b.updatesKnown = true
		b.updates = len(names)
		if len(names) > 0 {
			b.since, b.sinceIsBound = last, true
			b.details = append(b.details, "recommended updates: "+listShort(names, 10))
		}
	}
	return b.judge(now, limit, i18n.T(
		"Install the waiting updates now: open System Settings > General > Software Update and select Update Now (or run `softwareupdate --install --recommended` in Terminal), then restart when asked.",
		"请立即安装等待中的更新：打开“系统设置 > 通用 > 软件更新”并选择“立即更新”（或在终端中运行 `softwareupdate --install --recommended`），按提示重启。"))
}
