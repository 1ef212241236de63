// Package firewall implements the firewall check: is inbound traffic
// filtered by default?
//
// Each platform has several places a firewall can live (on Linux the
// kernel ruleset seen through nft or iptables-save, and the ufw and
// firewalld front ends; on Windows the Windows Defender Firewall profiles
// and third-party firewalls registered with Security Center; on macOS the
// application firewall and pf). Every place is read on its own and becomes
// one sub-result, shown in Details. The check passes when any of them
// filters inbound traffic. It fails only when what could be read shows no
// inbound filtering and nothing that could hide a firewall was unreadable
// (or when the kernel ruleset itself was read and filters nothing). It is
// unknown otherwise: a tool that needs root, or no firewall tool at all, is
// never taken for a firewall that is off.
package firewall

import (
	"context"
	"errors"
	"io/fs"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// New returns the firewall check.
func New() checks.Check {
	return checks.ByOS{
		CheckID: health.Firewall,
		Linux: checks.OSFunc(linuxProbes,
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result { return runLinux(ctx, src) }),
		Windows: checks.OSFunc(windowsProbes,
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result {
				return runWindows(ctx, src)
			}),
		Darwin: checks.OSFunc(darwinProbes,
			func(ctx context.Context, src source.Source, env checks.Env) checks.Result { return runDarwin(ctx, src) }),
	}
}

// state is what one place a firewall can live in says.
type state int

const (
	absent state = iota // not installed or not present here
	off                 // read, and filters no inbound traffic
	on                  // read, and filters inbound traffic by default
	unread              // present, but could not be read or understood
)

// sub is one sub-result: one place a firewall can live in.
type sub struct {
	name   string // "nftables", "ufw", …
	state  state
	detail string // "input policy drop"
	source string // the command or file the reading came from
	trust  health.Trust
	// conclusive marks a source whose reading alone settles the matter
	// when it is off: the Linux kernel ruleset, which every front end
	// writes into.
	conclusive bool
	facts      map[string]any
}

func (s sub) line() string { return s.name + ": " + s.detail }

// lineZh names the sub-result in Chinese for a Chinese reason: the
// firewall's name only, since its detail is English and stays in Details.
func (s sub) lineZh() string {
	name := s.name
	switch name {
	case "application firewall":
		name = "应用程序防火墙"
	case "third-party firewall":
		name = "第三方防火墙"
	}
	return "依据：" + name + "，详见检查明细"
}

// remedy is the platform's advice when no firewall filters inbound traffic.
type remedy = i18n.Text

// judge turns the sub-results into one result.
func judge(subs []sub, fix remedy, extraDetails ...string) checks.Result {
	details := make([]string, 0, len(subs)+len(extraDetails))
	for _, s := range subs {
		details = append(details, s.line())
	}
	details = append(details, extraDetails...)

	var firstOn, firstOff, firstUnread *sub
	conclusiveRead, conclusiveOff := 0, 0
	conclusiveUnread := false
	for i := range subs {
		s := &subs[i]
		switch s.state {
		case on:
			if firstOn == nil {
				firstOn = s
			}
		case off:
			if firstOff == nil {
				firstOff = s
			}
		case unread:
			if firstUnread == nil {
				firstUnread = s
			}
		}
		if s.conclusive {
			switch s.state {
			case off:
				conclusiveRead++
				conclusiveOff++
			case on:
				conclusiveRead++
			case unread:
				conclusiveUnread = true
			}
		}
	}
	ev := func(s *sub) health.Evidence {
		e := checks.Evidence(s.source, s.trust)
		if len(s.facts) > 0 {
			e.Facts = s.facts
		}
		return e
	}
	var r checks.Result
	switch {
	case firstOn != nil:
		r = checks.Pass(i18n.T(
			"A firewall blocks incoming connections by default ("+firstOn.line()+").",
			"防火墙默认阻止传入连接（"+firstOn.lineZh()+"）。"), ev(firstOn))
	case firstOff != nil && (firstUnread == nil || (conclusiveOff > 0 && conclusiveOff == conclusiveRead && !conclusiveUnread)):
		r = checks.Fail(i18n.T(
			"No firewall blocks incoming connections: other devices on the network can reach every service this computer offers ("+firstOff.line()+").",
			"没有防火墙阻止传入连接：网络上的其他设备可以访问本机提供的所有服务（"+firstOff.lineZh()+"）。"),
			ev(firstOff), fix)
	case firstUnread != nil:
		r = checks.Unknown(i18n.T(
			"Could not tell whether a firewall blocks incoming connections ("+firstUnread.line()+").",
			"无法确定是否有防火墙阻止传入连接（"+firstUnread.lineZh()+"）。"), ev(firstUnread))
	default:
		srcName := "firewall tools"
		if len(subs) > 0 {
			srcName = subs[0].source
		}
		r = checks.Unknown(i18n.T(
			"Could not tell whether a firewall blocks incoming connections: none of the firewall tools herd knows is installed.",
			"无法确定是否有防火墙阻止传入连接：未安装 herd 认识的任何防火墙工具。"),
			checks.Evidence(srcName, health.OSReported))
	}
	r.Details = details
	return r
}

// permissionDenied reports whether a command's output says it needs more
// privilege than the agent has.
func permissionDenied(out source.Output) bool {
	t := strings.ToLower(out.Stdout + "\n" + out.Stderr)
	for _, w := range []string{"permission denied", "operation not permitted", "must be root", "need to be root", "you must be root", "access is denied", "access denied", "requires root", "not authorized", "authorization failed"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// runErr describes why a command could not be used, for a detail line.
func runErr(err error) string {
	switch {
	case errors.Is(err, source.ErrNotFound):
		return "not installed"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, source.ErrUnsupported):
		return "not supported here"
	}
	return "could not run: " + err.Error()
}

// firstLine returns the first non-empty line of s, trimmed and shortened.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if r := []rune(l); len(r) > 120 {
				l = string(r[:120]) + "…"
			}
			return l
		}
	}
	return ""
}

// argvString joins argv for an evidence source.
func argvString(argv []string) string { return strings.Join(argv, " ") }
