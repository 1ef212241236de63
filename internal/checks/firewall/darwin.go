package firewall

import (
	"context"
	"strconv"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// What the macOS check reads.
var (
	socketfilterfwArgv = []string{"/usr/libexec/ApplicationFirewall/socketfilterfw",
		"--getglobalstate", "--getblockall", "--getallowsigned", "--getstealthmode"}
	alfDefaultsArgv = []string{"defaults", "read", "/Library/Preferences/com.apple.alf", "globalstate"}
	pfInfoArgv      = []string{"pfctl", "-s", "info"}
	pfRulesArgv     = []string{"pfctl", "-s", "rules"}
)

func darwinProbes() []source.Probe {
	return []source.Probe{
		source.Command(socketfilterfwArgv...),
		source.Command(alfDefaultsArgv...),
		source.Command(pfInfoArgv...),
		source.Command(pfRulesArgv...),
	}
}

var darwinFix = i18n.T(
	"Turn on the firewall: open System Settings > Network > Firewall (System Preferences > Security & Privacy > Firewall on older macOS) and switch it on, or run: sudo /usr/libexec/ApplicationFirewall/socketfilterfw --setglobalstate on",
	"开启防火墙：打开“系统设置 > 网络 > 防火墙”（旧版 macOS 为“系统偏好设置 > 安全性与隐私 > 防火墙”）并将其打开，或运行：sudo /usr/libexec/ApplicationFirewall/socketfilterfw --setglobalstate on")

func runDarwin(ctx context.Context, src source.Source) checks.Result {
	alf, extra := darwinALF(ctx, src)
	return judge([]sub{alf, darwinPf(ctx, src)}, darwinFix, extra...)
}

// darwinALF reads the application firewall: socketfilterfw first, the
// alf preferences file next (gone on macOS 15). A missing source means
// trying the next one. Stealth mode and block-all are details only.
func darwinALF(ctx context.Context, src source.Source) (sub, []string) {
	s := sub{name: "application firewall", source: "socketfilterfw --getglobalstate", trust: health.OSReported}
	var extra []string
	why := ""
	out, err := src.Run(ctx, socketfilterfwArgv...)
	if err == nil {
		st := ParseSocketfilterfw(out.Stdout + "\n" + out.Stderr)
		switch {
		case st.Stealth != "":
			extra = append(extra, "stealth mode: "+st.Stealth)
		case len(st.Errors) > 0:
			extra = append(extra, "stealth mode: unknown ("+firstLine(st.Errors[0])+")")
		}
		if st.BlockAll != "" {
			extra = append(extra, "block all incoming: "+st.BlockAll)
		}
		if st.State >= 0 {
			s.facts = map[string]any{"alf_state": st.State}
			if st.Stealth != "" {
				s.facts["stealth_mode"] = st.Stealth
			}
			return alfFromState(s, st.State), extra
		}
		why = "socketfilterfw gave no state"
		if len(st.Errors) > 0 {
			why += " (" + firstLine(st.Errors[0]) + ")"
		}
	} else {
		why = "socketfilterfw " + runErr(err)
	}
	out, err = src.Run(ctx, alfDefaultsArgv...)
	if err == nil && out.OK() {
		if n, ok := ParseDefaultsInt(out.Stdout); ok {
			s.source = "defaults read /Library/Preferences/com.apple.alf globalstate"
			s.facts = map[string]any{"alf_state": n}
			return alfFromState(s, n), extra
		}
	}
	// Neither source says anything: an unknown, never an off.
	if err == nil && !out.OK() {
		why += "; com.apple.alf preferences not present"
	}
	s.state, s.detail = unread, why
	return s, extra
}

func alfFromState(s sub, n int) sub {
	switch {
	case n == 0:
		s.state, s.detail = off, "off (State = 0)"
	case n == 2:
		s.state, s.detail = on, "on, blocking all incoming connections (State = 2)"
	case n >= 1:
		s.state, s.detail = on, "on (State = "+strconv.Itoa(n)+")"
	default:
		s.state, s.detail = unread, "unfamiliar state "+strconv.Itoa(n)
	}
	return s
}

// darwinPf reads the packet filter: enabled, with rules that block
// inbound traffic.
func darwinPf(ctx context.Context, src source.Source) sub {
	s := sub{name: "pf", source: argvString(pfInfoArgv), trust: health.OSReported}
	out, err := src.Run(ctx, pfInfoArgv...)
	switch {
	case err != nil:
		s.state, s.detail = absentOrUnread(err)
		return s
	case permissionDenied(out):
		s.state, s.detail = unread, "needs root to read its status"
		return s
	}
	switch ParsePfInfo(out.Stdout) {
	case "disabled":
		s.state, s.detail = off, "disabled"
		return s
	case "":
		s.state, s.detail = unread, "unfamiliar status output: "+firstLine(out.Stdout+out.Stderr)
		return s
	}
	rules, rerr := src.Run(ctx, pfRulesArgv...)
	switch {
	case rerr != nil:
		s.state, s.detail = unread, "enabled; rules: "+runErr(rerr)
		return s
	case permissionDenied(rules):
		s.state, s.detail = unread, "enabled; reading its rules needs root"
		return s
	case !rules.OK():
		s.state, s.detail = unread, "enabled; pfctl -s rules failed"
		return s
	}
	s.source = argvString(pfRulesArgv)
	blocks := PfInboundBlockRules(rules.Stdout)
	if len(blocks) == 0 {
		s.state, s.detail = off, "enabled, but no rule blocks incoming traffic"
		return s
	}
	s.state, s.detail = on, "enabled, "+checks.Count(len(blocks), "rule blocks", "rules block")+" incoming traffic (first: "+firstLine(blocks[0])+")"
	return s
}
