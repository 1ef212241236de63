package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/checks/all"
	"github.com/herd-health/herd/internal/demo"
	"github.com/herd-health/herd/internal/i18n"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("herd demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	once := fs.Bool("once", false, "check in once, print the result and exit")
	asJSON := fs.Bool("json", false, "print one JSON object (with --once)")
	langFlag := fs.String("lang", "", "language of findings: en or zh-CN (default from the environment)")
	shopAddr := fs.String("addr", "127.0.0.1:0", "where the demo shop listens")
	authAddr := fs.String("authority-addr", "127.0.0.1:0", "where the authority listens")
	agentAddr := fs.String("agent-addr", "127.0.0.1:0", "where the agent's loopback endpoint listens")
	interval := fs.Duration("interval", time.Minute, "how often the agent checks in while the demo runs")
	verbose := fs.Bool("v", false, "log what each part does")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "herd demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *asJSON && !*once {
		fmt.Fprintln(stderr, "herd demo: --json goes with --once")
		return 2
	}
	lang := i18n.FromEnv()
	if *langFlag != "" {
		l, ok := i18n.Parse(*langFlag)
		if !ok {
			fmt.Fprintf(stderr, "herd demo: language %q is not supported (en, zh-CN)\n", *langFlag)
			return 2
		}
		lang = l
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = newLogger(stderr, "text")
	}
	d, err := demo.Start(ctx, demo.Options{
		AuthorityAddr: *authAddr, ShopAddr: *shopAddr, AgentAddr: *agentAddr,
		Lang: lang, Checks: all.Checks(), Version: version, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "herd demo: %v\n", err)
		return 1
	}
	defer d.Close()
	if *once {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(d.Result); err != nil {
				fmt.Fprintf(stderr, "herd demo: %v\n", err)
				return 1
			}
			return 0
		}
		printDemo(stdout, d.Result, lang, false)
		return 0
	}
	printDemo(stdout, d.Result, lang, true)
	d.Run(ctx, *interval, func(r demo.Result) {
		fmt.Fprintf(stdout, "%s  checked in again: %s, shop decides %s\n", time.Now().Format("15:04:05"), r.Verdict, r.Decision)
	})
	fmt.Fprintln(stdout, "stopped.")
	return 0
}

func printDemo(w io.Writer, r demo.Result, lang i18n.Lang, running bool) {
	zh := lang == i18n.Chinese
	pick := func(en, cn string) string {
		if zh {
			return cn
		}
		return en
	}
	fmt.Fprintln(w, pick("herd demo: this machine, checked and certified", "herd 演示：检查并认证本机"))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s %s\n", pick("Verdict:", "结论："), agent.VerdictText(r.Verdict).In(lang))
	fmt.Fprintf(w, "%s %s\n", pick("Policy: ", "策略："), r.PolicyID)
	fmt.Fprintf(w, "%s %s\n\n", pick("The demo shop decides:", "示例商店的决定："), agent.DecisionText(string(r.Decision)).In(lang))
	fmt.Fprintln(w, pick("Checks on this machine:", "本机检查结果："))
	agent.PrintResults(w, r.Checks, lang)
	fmt.Fprintln(w)
	if running {
		fmt.Fprintln(w, pick("Open in a browser:", "在浏览器中打开："))
		fmt.Fprintf(w, "  %-12s %s/\n", pick("Demo shop", "示例商店"), r.URLs.Shop)
		fmt.Fprintf(w, "  %-12s %s/.well-known/herd-configuration\n", pick("Authority", "健康机构"), r.URLs.Authority)
		fmt.Fprintf(w, "  %-12s %s/v1/certificate?aud=%s\n\n", pick("Agent", "代理"), r.URLs.Agent, url.QueryEscape(r.Audience))
	}
	if !running {
		fmt.Fprintf(w, "%s %s:\n  %s\n\n", pick("Health certificate for", "健康证书，用于"), r.Audience, r.Certificate)
		fmt.Fprintln(w, pick("The authority has stopped. To verify the certificate yourself, run `herd demo` (it keeps running) or take the JWKS from `herd demo --once --json`.",
			"健康机构已停止。如需自行验证证书，请运行 `herd demo`（持续运行），或从 `herd demo --once --json` 的输出中取得 JWKS。"))
		return
	}
	fmt.Fprintln(w, pick("Verify the certificate yourself:", "自行验证证书："))
	fmt.Fprintf(w, "  herd verify --jwks %s/v1/jwks.json --aud %s %s\n", r.URLs.Authority, r.Audience, r.Certificate)
	{
		fmt.Fprintln(w)
		fmt.Fprintln(w, pick("Running until interrupted (Ctrl-C).", "持续运行，按 Ctrl-C 停止。"))
	}
}
