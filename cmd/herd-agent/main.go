// Command herd-agent runs on a device: it checks the device's security
// settings, tells its user what to fix, checks in with a health authority
// and hands health certificates to the relying parties the user visits.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/all"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/indicators"
	"github.com/herd-health/herd/internal/service"
	"github.com/herd-health/herd/internal/source"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"check", "check this device now and show what to fix: check [--snapshot FILE [--indicators FILE]] [--json]", runCheck},
	{"status", "show the latest verdict, findings and how to fix them", runStatus},
	{"enroll", "enroll this device with a health authority: enroll URL", runEnroll},
	{"run", "check in on a schedule and serve certificates on the loopback endpoint", runRun},
	{"trust", "get certificates for a relying party: trust --audience AUD [--origin ORIGIN]", runTrust},
	{"untrust", "stop getting certificates for a relying party: untrust --audience AUD", runUntrust},
	{"collect", "record what the checks read as a snapshot (for support)", runCollect},
	{"probes", "list everything each check reads", runProbes},
	{"install", "install and start the agent as a system service: install [--root DIR] [--authority URL]", runInstall},
	{"uninstall", "stop and remove the system service (the device key stays): uninstall [--root DIR]", runUninstall},
	{"version", "print the version", func(_ context.Context, _ []string, out, _ io.Writer) int {
		fmt.Fprintln(out, "herd-agent", version)
		return 0
	}},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: herd-agent COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'herd-agent COMMAND -h' for a command's flags.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "herd-agent: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// common flags
type flags struct {
	*flag.FlagSet
	dir  *string
	lang *string
}

func newFlags(name string, stderr io.Writer) flags {
	fs := flag.NewFlagSet("herd-agent "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return flags{
		FlagSet: fs,
		dir:     fs.String("dir", agent.DefaultDir(), "the agent's state directory"),
		lang:    fs.String("lang", "", "language: en or zh-CN (default from the environment)"),
	}
}

func (f flags) parse(args []string, stderr io.Writer) (i18n.Lang, bool) {
	if err := f.Parse(args); err != nil {
		return "", false
	}
	if *f.lang == "" {
		return i18n.FromEnv(), true
	}
	l, ok := i18n.Parse(*f.lang)
	if !ok {
		fmt.Fprintf(stderr, "%s: language %q is not supported (en, zh-CN)\n", f.Name(), *f.lang)
		return "", false
	}
	return l, true
}

func newAgent(dir string, src source.Source, log *slog.Logger) *agent.Agent {
	a := &agent.Agent{
		Store:   agent.Store{Dir: dir},
		Checks:  all.Checks(),
		Source:  src,
		Log:     log,
		Version: version,
	}
	// What the checks remember between runs (when a pending update was
	// first seen) belongs to this device: a snapshot is judged without it.
	if _, live := src.(*source.Live); live {
		a.Env.State = checks.NewFileState(filepath.Join(dir, checkStateFile))
	}
	return a
}

// checkStateFile is the file in the state directory where the checks keep
// what they remember between runs.
const checkStateFile = "checks-state.json"

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("check", stderr)
	snapshot := f.String("snapshot", "", "evaluate the snapshot `FILE` (recorded by herd-agent collect) instead of this device")
	bundle := f.String("indicators", "", "judge the malware check against the indicator bundle `FILE` (indicators.bin from an agent's state directory: the one a user sent with a snapshot, to replay it as it was judged) instead of the one this agent keeps")
	asJSON := f.Bool("json", false, "print JSON")
	lang, ok := f.parse(args, stderr)
	if !ok {
		return 2
	}
	if f.NArg() > 0 {
		fmt.Fprintf(stderr, "herd-agent check: unexpected argument %q\n", f.Arg(0))
		return 2
	}
	var src source.Source = source.NewLive()
	if *snapshot != "" {
		snap, err := source.LoadSnapshot(*snapshot)
		if err != nil {
			fmt.Fprintf(stderr, "herd-agent check: %v\n", err)
			return 1
		}
		src = source.NewReplay(snap)
	}
	a := newAgent(*f.dir, src, nil)
	if *bundle != "" {
		set, err := readBundle(*bundle)
		if err != nil {
			fmt.Fprintf(stderr, "herd-agent check: %v\n", err)
			return 1
		}
		a.Env.Indicators = set
	} else {
		loadIndicators(a, "check", stderr)
	}
	outcomes := a.RunChecks(ctx)
	report := health.Report{
		OS:          src.OS(),
		OSVersion:   agent.OSVersion(ctx, src),
		CollectedAt: src.Now().UTC(),
		Language:    string(lang),
		Checks:      checks.Render(outcomes, lang),
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(report); err != nil {
			return 1
		}
		return 0
	}
	title := i18n.T("Security checks on this device", "本设备的安全检查").In(lang)
	if *snapshot != "" {
		title = i18n.T("Security checks on the snapshot ", "快照的安全检查：").In(lang) + *snapshot
	}
	fmt.Fprintf(stdout, "%s (%s)\n\n", title, strings.TrimSpace(report.OS+" "+report.OSVersion))
	agent.PrintResults(stdout, report.Checks, lang)
	return 0
}

// readBundle reads an indicator bundle file as an agent keeps it. It is
// used as given: the one who names it vouches for it (its seal is the
// device key of the agent that kept it).
func readBundle(name string) (*indicators.Set, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	set, err := indicators.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s is not an indicator bundle as the agent keeps it (indicators.bin): %w", name, err)
	}
	return set, nil
}

// loadIndicators loads the indicator bundle the agent downloaded and
// verified, as run does; a bundle that does not verify is never used.
func loadIndicators(a *agent.Agent, cmd string, stderr io.Writer) {
	if err := a.LoadIndicators(); err != nil {
		fmt.Fprintf(stderr, "herd-agent %s: the kept indicator bundle is not used: %v\n", cmd, err)
	}
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("status", stderr)
	asJSON := f.Bool("json", false, "print JSON")
	lang, ok := f.parse(args, stderr)
	if !ok {
		return 2
	}
	a := newAgent(*f.dir, source.NewLive(), nil)
	fail := func(err error) int {
		if *asJSON {
			code := "error"
			if errors.Is(err, agent.ErrNotEnrolled) {
				code = "not_enrolled"
			}
			writeJSON(stdout, map[string]any{"error": err.Error(), "code": code})
		} else {
			fmt.Fprintf(stderr, "herd-agent status: %v\n", err)
		}
		return 1
	}
	st, err := a.Store.LoadState()
	if err != nil {
		return fail(err)
	}
	cerr := a.Store.LoadCheckinError()
	last, err := a.Store.LoadLast()
	if errors.Is(err, fs.ErrNotExist) {
		if *asJSON {
			writeJSON(stdout, map[string]any{"authority": st.Authority, "device_id": st.DeviceID, "checked_at": nil, "last_error": cerr})
			return 0
		}
		fmt.Fprintf(stdout, "%s %s\n", i18n.T("Enrolled with", "已注册到").In(lang), st.Authority)
		printCheckinError(stdout, cerr, lang)
		fmt.Fprintln(stdout, i18n.T("No check-in yet: run `herd-agent run`.", "尚未签到：请运行 `herd-agent run`。").In(lang))
		return 0
	} else if err != nil {
		return fail(err)
	}
	// Only a notice whose signature verifies against the authority's
	// keys, for this device and unexpired, is shown.
	goos := last.OS
	if goos == "" {
		goos = a.Source.OS()
	}
	notice, _ := a.NoticeFor(goos, lang)
	// A verdict resting on a confirmed outside sighting shows that as the
	// malware result, so the list agrees with the notice.
	sighting, _ := a.SightingFor(lang)
	results := agent.WithSighting(checks.Render(last.Outcomes, lang), sighting, lang)
	if *asJSON {
		out := map[string]any{
			"authority": st.Authority, "device_id": st.DeviceID, "checked_at": last.CheckedAt,
			"verdict": last.Response.Verdict, "policy_id": last.Response.PolicyID,
			"findings": last.Response.Findings, "certificates": certSummary(a, last),
			"checks": withLearnMore(results, st.Authority), "notice": notice,
			"last_error": cerr,
		}
		if sighting != nil {
			out["sighting"] = sighting
		}
		writeJSON(stdout, out)
		return 0
	}
	if notice != nil {
		agent.PrintNotice(stdout, notice, lang)
	}
	fmt.Fprintf(stdout, "%s %s\n", i18n.T("Authority:", "健康机构：").In(lang), st.Authority)
	fmt.Fprintf(stdout, "%s %s\n", i18n.T("Last check-in:", "上次签到：").In(lang), agent.FormatTime(last.CheckedAt))
	printCheckinError(stdout, cerr, lang)
	fmt.Fprintf(stdout, "%s %s\n\n", i18n.T("Verdict:", "结论：").In(lang), agent.VerdictText(last.Response.Verdict).In(lang))
	agent.PrintResults(stdout, results, lang)
	printLearnMore(stdout, results, st.Authority, lang)
	if len(last.Response.Certificates) > 0 {
		fmt.Fprintln(stdout)
		for _, c := range last.Response.Certificates {
			state := i18n.T("valid until", "有效期至")
			switch a.CertificateState(c) {
			case agent.CertRevoked:
				state = i18n.T("revoked by the authority; it was to expire", "已被认证机构吊销；原到期时间")
			case agent.CertExpired:
				state = i18n.T("expired", "已过期")
			}
			fmt.Fprintf(stdout, "%s %s%s%s %s\n", i18n.T("Certificate for", "证书用于").In(lang), c.Audience,
				i18n.T(", ", "，").In(lang), state.In(lang), agent.FormatTime(c.ExpiresAt))
		}
	}
	return 0
}

func certSummary(a *agent.Agent, l *agent.Last) []map[string]any {
	out := []map[string]any{}
	for _, c := range l.Response.Certificates {
		out = append(out, map[string]any{"aud": c.Audience, "expires_at": c.ExpiresAt, "state": a.CertificateState(c)})
	}
	return out
}

// printCheckinError tells when the last check-in failed and why.
func printCheckinError(w io.Writer, e *agent.CheckinError, lang i18n.Lang) {
	if e == nil {
		return
	}
	fmt.Fprintf(w, "%s %s: %s\n", i18n.T("Last check-in failed at", "上次签到失败于").In(lang), agent.FormatTime(e.At), e.Error)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func runEnroll(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("enroll", stderr)
	token := f.String("token", os.Getenv("HERD_ENROLLMENT_TOKEN"), "enrollment token, for authorities that need one")
	if _, ok := f.parse(args, stderr); !ok {
		return 2
	}
	if f.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: herd-agent enroll [--dir DIR] [--token TOKEN] AUTHORITY_URL")
		return 2
	}
	a := newAgent(*f.dir, source.NewLive(), nil)
	st, err := a.Enroll(ctx, f.Arg(0), *token)
	if err != nil {
		fmt.Fprintf(stderr, "herd-agent enroll: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "enrolled with %s as device %s (state in %s)\n", st.Authority, st.DeviceID, *f.dir)
	return 0
}

func runTrust(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("trust", stderr)
	aud := f.String("audience", "", "the relying party's audience (required)")
	var origins multiFlag
	f.Var(&origins, "origin", "a web origin allowed to fetch this audience's certificate (repeatable)")
	if _, ok := f.parse(args, stderr); !ok {
		return 2
	}
	if *aud == "" || f.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: herd-agent trust --audience AUD [--origin https://site.example]...")
		return 2
	}
	if err := agent.ValidAudience(*aud); err != nil {
		fmt.Fprintf(stderr, "herd-agent trust: %v\n", err)
		return 2
	}
	for _, o := range origins {
		if !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") || strings.Count(o, "/") != 2 {
			fmt.Fprintf(stderr, "herd-agent trust: %q is not an origin like https://site.example\n", o)
			return 2
		}
	}
	s := agent.Store{Dir: *f.dir}
	st, err := s.LoadState()
	if err != nil {
		fmt.Fprintf(stderr, "herd-agent trust: %v\n", err)
		return 1
	}
	st.Trust(*aud, origins...)
	if err := s.SaveState(st); err != nil {
		fmt.Fprintf(stderr, "herd-agent trust: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "certificates for %s will be requested at the next check-in\n", *aud)
	return 0
}

func runUntrust(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("untrust", stderr)
	aud := f.String("audience", "", "the relying party's audience to forget (required)")
	if _, ok := f.parse(args, stderr); !ok {
		return 2
	}
	if *aud == "" || f.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: herd-agent untrust --audience AUD")
		return 2
	}
	s := agent.Store{Dir: *f.dir}
	st, err := s.LoadState()
	if err != nil {
		fmt.Fprintf(stderr, "herd-agent untrust: %v\n", err)
		return 1
	}
	if !st.Untrust(*aud) {
		fmt.Fprintf(stderr, "herd-agent untrust: %q is not a trusted audience (trusted: %s)\n", *aud, strings.Join(st.Audiences(), ", "))
		return 1
	}
	if err := s.SaveState(st); err != nil {
		fmt.Fprintf(stderr, "herd-agent untrust: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "certificates for %s will no longer be requested\n", *aud)
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("run", stderr)
	addr := f.String("endpoint", agent.DefaultEndpointAddr, "loopback address for relying parties to fetch certificates ('' to disable)")
	interval := f.Duration("interval", time.Hour, "check-in interval when the authority names none")
	watch := f.Duration("watch", 45*time.Second, "how often the cheap checks are re-run between check-ins to catch a change (0 turns it off)")
	intelEvery := f.Duration("indicator-updates", agent.DefaultIndicatorEvery, "how often, between check-ins, indicator updates are asked for; a new bundle re-runs the malware check at once (0 turns it off; needs --watch)")
	authorityURL := f.String("authority", "", "enroll with this authority first if this device is not enrolled (for services)")
	logFormat := f.String("log-format", "text", "log format: text or json")
	if _, ok := f.parse(args, stderr); !ok {
		return 2
	}
	var log *slog.Logger
	if *logFormat == "json" {
		log = slog.New(slog.NewJSONHandler(stderr, nil))
	} else {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	a := newAgent(*f.dir, source.NewLive(), log)
	if _, err := a.Store.LoadState(); errors.Is(err, agent.ErrNotEnrolled) && *authorityURL != "" {
		if err := enrollUntilDone(ctx, a, *authorityURL, log); err != nil {
			return 0 // stopped while waiting
		}
	} else if err != nil {
		fmt.Fprintf(stderr, "herd-agent run: %v\n", err)
		return 1
	}
	if *addr != "" {
		host, _, err := net.SplitHostPort(*addr)
		if err != nil || !agent.LoopbackHost(host) {
			fmt.Fprintf(stderr, "herd-agent run: the endpoint must be on a loopback address, not %q\n", *addr)
			return 2
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			fmt.Fprintf(stderr, "herd-agent run: %v\n", err)
			return 1
		}
		srv := &http.Server{Handler: &agent.Endpoint{Agent: a}, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		log.Info("serving certificates", "endpoint", "http://"+ln.Addr().String())
	}
	w := *watch
	if w == 0 {
		w = -1
	}
	err := service.Run(ctx, func(ctx context.Context) error {
		ie := *intelEvery
		if ie == 0 {
			ie = -1
		}
		return a.Run(ctx, agent.RunOptions{Interval: *interval, Watch: w, IndicatorEvery: ie})
	})
	if err != nil {
		fmt.Fprintf(stderr, "herd-agent run: %v\n", err)
		return 1
	}
	return 0
}

// enrollUntilDone enrolls, retrying with backoff while the authority
// cannot be reached (a service starting before the network is up).
func enrollUntilDone(ctx context.Context, a *agent.Agent, authority string, log *slog.Logger) error {
	for failures := 1; ; failures++ {
		_, err := a.Enroll(ctx, authority, os.Getenv("HERD_ENROLLMENT_TOKEN"))
		if err == nil {
			return nil
		}
		wait := agent.Backoff(failures, 30*time.Second, 30*time.Minute, rand.Float64())
		log.Warn("enrollment failed", "err", err, "retry_in", wait.Round(time.Second))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func runInstall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("herd-agent install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "write the files under this directory and load nothing (images, tests)")
	authority := fs.String("authority", "", "the health authority the service enrolls with on its first start")
	goos := fs.String("os", "", "with --root: the OS to install for (linux, darwin, windows)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "herd-agent install: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := service.Install(service.Config{GOOS: *goos, Root: *root, Authority: *authority}, stdout); err != nil {
		fmt.Fprintf(stderr, "herd-agent install: %v\n", err)
		return 1
	}
	return 0
}

func runUninstall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("herd-agent uninstall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "remove the files from under this directory")
	goos := fs.String("os", "", "with --root: the OS the files were installed for")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "herd-agent uninstall: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := service.Uninstall(service.Config{GOOS: *goos, Root: *root}, stdout); err != nil {
		fmt.Fprintf(stderr, "herd-agent uninstall: %v\n", err)
		return 1
	}
	return 0
}

func runCollect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("collect", stderr)
	out := f.String("o", "-", "write the snapshot to this file")
	if _, ok := f.parse(args, stderr); !ok {
		return 2
	}
	live := source.NewLive()
	a := newAgent(*f.dir, live, nil)
	loadIndicators(a, "collect", stderr)
	snap := checks.Collect(ctx, live, all.Checks(), a.Env)
	w := stdout
	if *out != "-" {
		file, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "herd-agent collect: %v\n", err)
			return 1
		}
		defer file.Close()
		w = file
	}
	if err := snap.Write(w); err != nil {
		fmt.Fprintf(stderr, "herd-agent collect: %v\n", err)
		return 1
	}
	return 0
}

func runProbes(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("probes", stderr)
	goos := f.String("os", "", "list the probes of another OS: linux, windows or darwin")
	if _, ok := f.parse(args, stderr); !ok {
		return 2
	}
	target := *goos
	if target == "" {
		target = source.NewLive().OS()
	}
	switch target {
	case "linux", "windows", "darwin":
	default:
		fmt.Fprintf(stderr, "herd-agent probes: unknown OS %q (linux, windows, darwin)\n", target)
		return 2
	}
	for _, p := range checks.AllProbes(all.Checks(), target) {
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", p.Check, p.Kind, p.Describe(target))
	}
	return 0
}
