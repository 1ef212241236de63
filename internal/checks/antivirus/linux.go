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

const clamDBDir = "/var/lib/clamav"

var clamdConfs = []string{"/etc/clamav/clamd.conf", "/etc/clamd.d/scan.conf", "/etc/clamd.conf", "/usr/local/etc/clamd.conf"}

func linuxProbes() []source.Probe {
	p := []source.Probe{
		source.ProcessList(),
		source.Command("clamscan", "--version"),
		source.Command("clamdscan", "--version"),
		source.Dir(clamDBDir),
	}
	for _, c := range clamdConfs {
		p = append(p, source.File(c))
	}
	for _, n := range []string{"daily", "main", "bytecode"} {
		p = append(p, source.File(clamDBDir+"/"+n+".cld"), source.File(clamDBDir+"/"+n+".cvd"))
	}
	return p
}

var clamFixLinux = i18n.T(
	"Update the ClamAV signatures with `sudo freshclam`, and keep the updater running so they stay current (`sudo systemctl enable --now clamav-freshclam`).",
	"运行 `sudo freshclam` 更新 ClamAV 病毒特征库，并保持更新服务运行以持续更新（`sudo systemctl enable --now clamav-freshclam`）。")

var onAccessFix = i18n.T(
	"Turn on ClamAV real-time scanning: in /etc/clamav/clamd.conf set OnAccessIncludePath to the folders to protect (for example /home) and OnAccessPrevention yes, then start the daemon and the on-access scanner: `sudo systemctl enable --now clamav-daemon clamav-clamonacc`.",
	"开启 ClamAV 实时扫描：在 /etc/clamav/clamd.conf 中将 OnAccessIncludePath 设为需要保护的目录（例如 /home），并设置 OnAccessPrevention yes，然后启动守护进程和访问时扫描程序：`sudo systemctl enable --now clamav-daemon clamav-clamonacc`。")

func linuxView(ctx context.Context, src source.Source) view {
	procs, perr := src.Processes(ctx)
	var details []string
	clamd := running(procs, "clamd")
	onacc := running(procs, "clamonacc")
	fresh := running(procs, "freshclam")

	var onPaths []string
	confSeen := ""
	for _, c := range clamdConfs {
		b, err := src.ReadFile(c)
		if err == nil {
			onPaths, confSeen = ParseClamdConf(string(b)), c
			break
		}
	}

	clamscan, csErr := clamVersion(ctx, src, "clamscan")
	dbFiles := clamDatabases(src)
	installed := clamd || onacc || fresh || csErr == nil || len(dbFiles) > 0 || confSeen != ""
	third := recognise(procs, linuxProducts)

	if perr == nil {
		details = append(details, "clamd: "+runWord(clamd), "clamonacc: "+runWord(onacc), "freshclam: "+runWord(fresh))
	} else {
		details = append(details, "processes: "+perr.Error())
	}
	if confSeen != "" {
		if len(onPaths) > 0 {
			details = append(details, confSeen+": on-access paths "+strings.Join(onPaths, ", "))
		} else {
			details = append(details, confSeen+": no on-access paths")
		}
	}
	for _, t := range third {
		details = append(details, t+": running")
	}

	ev := checks.Evidence("processes", health.OSReported)
	ev.Facts = map[string]any{}
	if clamscan.Engine != "" {
		ev.Facts["clamav_version"] = clamscan.Engine
	}

	var v view
	var clam *engine
	if installed {
		clam = clamEngine(ctx, src, clamd, clamscan, dbFiles)
		clam.Details = append(append([]string(nil), details...), clam.Details...)
	}

	switch {
	case clamd && onacc:
		ev.Facts["product"] = "ClamAV"
		v.av = checks.Pass(i18n.T(
			"ClamAV protects this device in real time: its daemon (clamd) runs with on-access scanning (clamonacc).",
			"ClamAV 正在实时保护本设备：其守护进程（clamd）正在运行，并开启了访问时扫描（clamonacc）。"), ev)
		v.engine = clam
	case len(third) > 0:
		ev.Facts["product"] = third[0]
		v.av = checks.Pass(i18n.T(
			fmt.Sprintf("%s is running on this device.", strings.Join(third, ", ")),
			fmt.Sprintf("%s 正在本设备上运行。", strings.Join(third, "、"))), ev)
		v.noEngine = withDetails(checks.Unknown(i18n.T(
			fmt.Sprintf("herd cannot read how old %s's signatures are.", third[0]),
			fmt.Sprintf("herd 无法读取 %s 的病毒特征库更新时间。", third[0])), ev), details)
	case clamd && len(onPaths) > 0:
		ev.Facts["product"] = "ClamAV"
		v.av = checks.Fail(i18n.T(
			"ClamAV's daemon runs and on-access scanning is configured, but the on-access scanner (clamonacc) is not running, so files are not scanned as they are used.",
			"ClamAV 守护进程正在运行且已配置访问时扫描，但访问时扫描程序（clamonacc）未运行，因此文件在使用时不会被扫描。"),
			ev, i18n.T("Start the ClamAV on-access scanner: `sudo systemctl enable --now clamav-clamonacc`.",
				"启动 ClamAV 访问时扫描程序：`sudo systemctl enable --now clamav-clamonacc`。"))
		v.engine = clam
	case clamd:
		ev.Facts["product"] = "ClamAV"
		v.av = checks.Fail(i18n.T(
			"ClamAV's daemon runs but only scans when asked: on-access (real-time) scanning is not set up, so new files are not checked as they are used.",
			"ClamAV 守护进程正在运行，但只在被请求时扫描：未设置访问时（实时）扫描，因此新文件在使用时不会被检查。"), ev, onAccessFix)
		v.engine = clam
	case installed && perr == nil:
		ev.Facts["product"] = "ClamAV"
		if csErr == nil {
			ev.Source = "processes, clamscan --version"
		}
		v.av = checks.Fail(i18n.T(
			"ClamAV is installed only as an on-demand scanner: no ClamAV daemon runs, so nothing checks files as they are used. A scanner with no daemon is not active protection.",
			"ClamAV 仅作为按需扫描程序安装：没有运行 ClamAV 守护进程，因此文件在使用时不会被检查。没有守护进程的扫描程序不算主动防护。"), ev, onAccessFix)
		v.engine = clam
	case perr != nil:
		v.av = checks.Unknown(i18n.T(
			"herd could not list the running programs, so it cannot tell whether an antivirus daemon runs.",
			"herd 无法列出正在运行的程序，因此无法判断是否有防病毒守护进程在运行。"), ev)
		v.engine = clam
		if clam == nil {
			v.noEngine = v.av
		}
	default:
		v.av = checks.Unknown(i18n.T(
			"No anti-malware product that herd recognises was found. Many Linux systems run without one; if you use a product herd does not know, herd cannot confirm it protects this device.",
			"未发现 herd 能识别的反恶意软件产品。许多 Linux 系统本来就不安装此类软件；如果您使用的产品 herd 不认识，herd 无法确认它在保护本设备。"), ev)
		v.noEngine = checks.NotApplicable(i18n.T(
			"There is no antivirus engine herd recognises on this device, so there are no signatures to check; the antivirus check covers this.",
			"本设备上没有 herd 能识别的防病毒引擎，因此没有可检查的病毒特征库；防病毒检查会涵盖此情况。"), ev)
	}
	v.av.Details = details
	v.noEngine.Details = details
	return v
}

func runWord(b bool) string {
	if b {
		return "running"
	}
	return "not running"
}

func clamVersion(ctx context.Context, src source.Source, cmd string) (ClamVersion, error) {
	out, err := src.Run(ctx, cmd, "--version")
	if err != nil {
		return ClamVersion{}, err
	}
	return ParseClamVersion(out.Stdout)
}

// clamDatabases lists the database files in ClamAV's directory, the
// daily database first.
func clamDatabases(src source.Source) []string {
	names, err := src.ReadDir(clamDBDir)
	if err != nil {
		return nil
	}
	var out []string
	for _, pref := range []string{"daily.", "main.", "bytecode."} {
		for _, n := range names {
			if strings.HasPrefix(n, pref) && (strings.HasSuffix(n, ".cvd") || strings.HasSuffix(n, ".cld")) {
				out = append(out, n)
			}
		}
	}
	return out
}

// clamEngine finds ClamAV's signature date: from the running daemon
// (clamdscan), else clamscan, else the newest database header.
func clamEngine(ctx context.Context, src source.Source, clamd bool, clamscan ClamVersion, dbFiles []string) *engine {
	e := &engine{Name: "ClamAV", Trust: health.ProductReported, AgeDays: -1, Fix: clamFixLinux}
	if clamd {
		if d, err := clamVersion(ctx, src, "clamdscan"); err == nil && !d.DBTime.IsZero() {
			e.Source, e.Updated, e.Version = "clamdscan --version", d.DBTime, fmt.Sprint(d.DBVersion)
			return e
		}
	}
	if !clamscan.DBTime.IsZero() {
		e.Source, e.Updated, e.Version = "clamscan --version", clamscan.DBTime, fmt.Sprint(clamscan.DBVersion)
		return e
	}
	e.Source = clamDBDir
	for _, n := range dbFiles {
		p := clamDBDir + "/" + n
		b, err := source.ReadHead(src, p, 512) // the header; the databases run to megabytes
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				e.Details = append(e.Details, p+": "+err.Error())
			}
			continue
		}
		h, err := ParseCVDHeader(b)
		if err != nil {
			continue
		}
		if h.Built.After(e.Updated) {
			e.Source, e.Updated, e.Version = p, h.Built, fmt.Sprint(h.Version)
		}
	}
	return e
}
