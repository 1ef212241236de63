package antivirus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// XProtect's bundle: since macOS 10.15 under /Library/Apple, before that
// under /System/Library.
var xprotectPlists = []string{
	"/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist",
	"/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist",
}

var installHistoryArgv = []string{"system_profiler", "-json", "SPInstallHistoryDataType"}

func darwinProbes() []source.Probe {
	p := []source.Probe{source.ProcessList(), source.Command(installHistoryArgv...), source.Command("csrutil", "status")}
	for _, f := range xprotectPlists {
		p = append(p, source.File(f))
	}
	return p
}

var xprotectFix = i18n.T(
	"Open System Settings > General > Software Update, click the ⓘ next to Automatic Updates and turn on “Install Security Responses and system files”, then check for updates.",
	"打开“系统设置 > 通用 > 软件更新”，点击“自动更新”旁的 ⓘ，开启“安装安全响应和系统文件”，然后检查更新。")

func darwinView(ctx context.Context, src source.Source) view {
	var details []string
	procs, perr := src.Processes(ctx)
	third := recognise(procs, darwinProducts)
	for _, t := range third {
		details = append(details, t+": running")
	}
	if perr != nil {
		details = append(details, "processes: "+perr.Error())
	}
	if out, err := src.Run(ctx, "csrutil", "status"); err == nil {
		switch s := strings.ToLower(out.Stdout); {
		case strings.Contains(s, "status: enabled"):
			details = append(details, "System Integrity Protection: enabled")
		case strings.Contains(s, "status: disabled"):
			details = append(details, "System Integrity Protection: disabled")
		}
	}

	version, plist := "", ""
	var readErr error
	missing := 0
	for _, f := range xprotectPlists {
		b, err := src.ReadFile(f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				missing++
			} else if readErr == nil {
				readErr = err
			}
			continue
		}
		plist = f
		version = ParsePlistString(string(b), "CFBundleShortVersionString")
		if version == "" {
			version = ParsePlistString(string(b), "CFBundleVersion")
		}
		break
	}

	// Signature date from the install history.
	var eng *engine
	hist, herr := src.Run(ctx, installHistoryArgv...)
	var latest Install
	found := false
	if herr == nil {
		if h, err := ParseInstallHistory(hist.Stdout); err == nil {
			latest, found = LatestXProtect(h)
		}
	}
	if plist != "" || found {
		eng = &engine{Name: "XProtect", Source: strings.Join(installHistoryArgv, " "), Trust: health.OSReported, AgeDays: -1, Version: version, Fix: xprotectFix}
		if found {
			eng.Updated = latest.Date
			if latest.Version != "" {
				eng.Version = latest.Version
			}
			details = append(details, fmt.Sprintf("XProtect data %s %s installed %s", latest.Name, latest.Version, latest.Date.Format("2006-01-02")))
		}
		eng.Details = details
	}

	var v view
	v.engine = eng
	switch {
	case plist != "":
		ev := checks.Evidence(plist, health.OSReported)
		ev.Facts = map[string]any{"product": "XProtect"}
		if version != "" {
			ev.Facts["xprotect_version"] = version
		}
		extra, extraZh := "", ""
		if len(third) > 0 {
			extra = " " + strings.Join(third, ", ") + " is also running."
			extraZh = strings.Join(third, "、") + " 也在运行。"
		}
		v.av = checks.Pass(i18n.T(
			"XProtect, the malware protection built into macOS, is present and always on."+extra,
			"macOS 内置的恶意软件防护 XProtect 已安装并始终开启。"+extraZh), ev)
	case len(third) > 0:
		ev := checks.Evidence("processes", health.ProductReported)
		ev.Facts = map[string]any{"product": third[0]}
		v.av = checks.Pass(i18n.T(
			fmt.Sprintf("%s is running on this device.", strings.Join(third, ", ")),
			fmt.Sprintf("%s 正在本设备上运行。", strings.Join(third, "、"))), ev)
	case readErr != nil:
		v.av = checks.Unknown(i18n.T(
			"herd could not read XProtect's bundle ("+readErr.Error()+"), so it cannot confirm macOS's built-in malware protection.",
			"herd 无法读取 XProtect 组件（"+readErr.Error()+"），因此无法确认 macOS 内置的恶意软件防护。"),
			checks.Evidence(xprotectPlists[0], health.OSReported))
	case missing == len(xprotectPlists) && perr == nil:
		v.av = checks.Fail(i18n.T(
			"XProtect, the malware protection built into macOS, is missing from this Mac, and no other antivirus product herd recognises is running.",
			"本机缺少 macOS 内置的恶意软件防护 XProtect，且没有运行 herd 能识别的其他防病毒产品。"),
			checks.Evidence(xprotectPlists[0], health.OSReported),
			i18n.T("Update macOS in System Settings > General > Software Update, with “Install Security Responses and system files” turned on; XProtect is restored with the update.",
				"在“系统设置 > 通用 > 软件更新”中更新 macOS，并开启“安装安全响应和系统文件”；更新会恢复 XProtect。"))
	default:
		v.av = checks.Unknown(i18n.T(
			"herd could not find XProtect or list the running programs, so it cannot tell which malware protection this Mac has.",
			"herd 找不到 XProtect，也无法列出正在运行的程序，因此无法判断本机有哪种恶意软件防护。"),
			checks.Evidence(xprotectPlists[0], health.OSReported))
	}
	v.av.Details = details
	if eng == nil {
		v.noEngine = withDetails(checks.Unknown(i18n.T(
			"herd found no XProtect data to date the signatures by.",
			"herd 未找到可用于确定病毒特征库日期的 XProtect 数据。"), v.av.Evidence), details)
	}
	return v
}
