package antivirus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/ossupport"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// XProtect's bundle: since macOS 10.15 under /Library/Apple, before that
// under /System/Library. xprotectDirs are the folders holding it, in the
// same order.
var (
	xprotectPlists = []string{
		"/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist",
		"/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist",
	}
	xprotectDirs = []string{
		"/Library/Apple/System/Library/CoreServices",
		"/System/Library/CoreServices",
	}
)

const xprotectBundle = "XProtect.bundle"

var (
	installHistoryArgv = []string{"system_profiler", "-json", "SPInstallHistoryDataType"}
	swVersArgv         = []string{"sw_vers"}
	spctlStatusArgv    = []string{"spctl", "--status"}
)

func darwinProbes() []source.Probe {
	p := []source.Probe{source.ProcessList(), source.Command(installHistoryArgv...), source.Command("csrutil", "status"),
		source.Command(swVersArgv...), source.Command(spctlStatusArgv...)}
	for _, f := range xprotectPlists {
		p = append(p, source.File(f))
	}
	for _, d := range xprotectDirs {
		p = append(p, source.Dir(d))
	}
	return p
}

// xprotectAbsent reports whether XProtect is known to be missing: sw_vers
// says which macOS this is, and the folder XProtect lives in on that
// release was listed without it. Anything less (sw_vers not answering, the
// folder unreadable) is missing evidence, not evidence of absence.
func xprotectAbsent(ctx context.Context, src source.Source) (bool, string) {
	out, err := src.Run(ctx, swVersArgv...)
	if err != nil || !out.OK() {
		return false, "sw_vers: no answer"
	}
	ver := ossupport.ParseSwVers(out.Stdout)["ProductVersion"]
	major, minor, ok := macOSVersion(ver)
	if !ok {
		return false, fmt.Sprintf("sw_vers: unfamiliar ProductVersion %q", ver)
	}
	dir := xprotectDirs[0]
	if major == 10 && minor < 15 {
		dir = xprotectDirs[1]
	}
	names, err := src.ReadDir(dir)
	if err != nil {
		return false, dir + ": " + err.Error()
	}
	if slices.Contains(names, xprotectBundle) {
		return false, dir + " holds " + xprotectBundle + ", but its Info.plist is missing"
	}
	return true, fmt.Sprintf("macOS %s: %s holds no %s", ver, dir, xprotectBundle)
}

// macOSVersion reads "15.1" or "10.14.6".
func macOSVersion(v string) (major, minor int, ok bool) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	major, err := strconv.Atoi(parts[0])
	if err != nil || major < 10 {
		return 0, 0, false
	}
	if len(parts) > 1 {
		if minor, err = strconv.Atoi(parts[1]); err != nil {
			return 0, 0, false
		}
	}
	return major, minor, true
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
	// Gatekeeper checks apps before they first open: evidence beside
	// XProtect, never the verdict alone.
	gatekeeper := GatekeeperUnknown
	if out, err := src.Run(ctx, spctlStatusArgv...); err == nil {
		gatekeeper = ParseSpctlStatus(out.Stdout + "\n" + out.Stderr).Assessments
		if gatekeeper != GatekeeperUnknown {
			details = append(details, "Gatekeeper: assessments "+gatekeeper.String())
		}
	}

	version, plist := "", ""
	var readErr error
	for _, f := range xprotectPlists {
		b, err := src.ReadFile(f)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && readErr == nil {
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
	withGatekeeper := func(ev health.Evidence) health.Evidence {
		if gatekeeper != GatekeeperUnknown {
			ev.Facts["gatekeeper"] = gatekeeper.String()
		}
		return ev
	}
	gkNote, gkNoteZh := "", ""
	if gatekeeper == GatekeeperDisabled {
		gkNote = " Gatekeeper, which checks apps before they first open, is turned off."
		gkNoteZh = "在应用首次打开前对其进行检查的“门禁”（Gatekeeper）已关闭。"
	}
	var absent bool
	var absentWhy string
	if plist == "" && readErr == nil && len(third) == 0 && perr == nil {
		absent, absentWhy = xprotectAbsent(ctx, src)
		details = append(details, absentWhy)
	}
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
			"XProtect, the malware protection built into macOS, is present and always on."+extra+gkNote,
			"macOS 内置的恶意软件防护 XProtect 已安装并始终开启。"+extraZh+gkNoteZh), withGatekeeper(ev))
	case len(third) > 0:
		ev := checks.Evidence("processes", health.OSReported)
		ev.Facts = map[string]any{"product": third[0]}
		v.av = checks.Pass(i18n.T(
			fmt.Sprintf("%s is running on this device.%s", strings.Join(third, ", "), gkNote),
			fmt.Sprintf("%s 正在本设备上运行。%s", strings.Join(third, "、"), gkNoteZh)), withGatekeeper(ev))
	case readErr != nil:
		v.av = checks.Unknown(i18n.T(
			"herd could not read XProtect's bundle ("+readErr.Error()+"), so it cannot confirm macOS's built-in malware protection.",
			"herd 无法读取 XProtect 组件（"+readErr.Error()+"），因此无法确认 macOS 内置的恶意软件防护。"),
			checks.Evidence(xprotectPlists[0], health.OSReported))
	case absent:
		v.engine = nil
		v.noEngine = noActiveEngine(checks.Evidence(xprotectPlists[0], health.OSReported), nil)
		v.av = checks.Fail(i18n.T(
			"XProtect, the malware protection built into macOS, is missing from this Mac, and no other antivirus product herd recognises is running.",
			"本机缺少 macOS 内置的恶意软件防护 XProtect，且没有运行 herd 能识别的其他防病毒产品。"),
			checks.Evidence(xprotectPlists[0], health.OSReported),
			i18n.T("Update macOS in System Settings > General > Software Update, with “Install Security Responses and system files” turned on; XProtect is restored with the update.",
				"在“系统设置 > 通用 > 软件更新”中更新 macOS，并开启“安装安全响应和系统文件”；更新会恢复 XProtect。"))
	case perr != nil:
		v.av = checks.Unknown(i18n.T(
			"herd could not find XProtect or list the running programs, so it cannot tell which malware protection this Mac has.",
			"herd 找不到 XProtect，也无法列出正在运行的程序，因此无法判断本机有哪种恶意软件防护。"),
			checks.Evidence(xprotectPlists[0], health.OSReported))
	default:
		v.av = checks.Unknown(i18n.T(
			"herd could not find XProtect's bundle, but could not confirm it is missing either (it could not tell the macOS version or list the folder XProtect lives in), so it cannot tell which malware protection this Mac has.",
			"herd 找不到 XProtect 组件，但也无法确认它确实缺失（无法确定 macOS 版本或列出 XProtect 所在的文件夹），因此无法判断本机有哪种恶意软件防护。"),
			checks.Evidence(xprotectPlists[0], health.OSReported))
	}
	v.av.Details = details
	if v.noEngine.Status != "" {
		v.noEngine.Details = details
	} else if eng == nil {
		v.noEngine = withDetails(checks.Unknown(i18n.T(
			"herd found no XProtect data to date the signatures by.",
			"herd 未找到可用于确定病毒特征库日期的 XProtect 数据。"), v.av.Evidence), details)
	}
	return v
}
