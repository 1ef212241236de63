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

// What the Linux check reads.
var (
	nftArgv              = []string{"nft", "list", "ruleset"}
	iptablesSaveArgv     = []string{"iptables-save"}
	ufwStatusArgv        = []string{"ufw", "status", "verbose"}
	firewalldStateArgv   = []string{"firewall-cmd", "--state"}
	firewalldZoneArgv    = []string{"firewall-cmd", "--get-default-zone"}
	ufwConfPath          = "/etc/ufw/ufw.conf"
	ufwDefaultPath       = "/etc/default/ufw"
	firewalldConfPath    = "/etc/firewalld/firewalld.conf"
	firewalldDefaultZone = "public" // firewalld's own default when firewalld.conf sets none
)

func linuxProbes() []source.Probe {
	return []source.Probe{
		source.Command(nftArgv...),
		source.Command(iptablesSaveArgv...),
		source.Command(ufwStatusArgv...),
		source.File(ufwConfPath),
		source.File(ufwDefaultPath),
		source.Command(firewalldStateArgv...),
		source.Command(firewalldZoneArgv...),
		source.File(firewalldConfPath),
	}
}

// The Linux remediations, one per firewall tool: advice for the tool that
// is installed, never a second firewall beside it. Each keeps SSH open
// before it blocks incoming connections, so an administrator working
// over SSH is not locked out.
var (
	fixFirewalld = i18n.T(
		"Turn on firewalld with a zone that filters incoming connections: sudo systemctl enable --now firewalld, then sudo firewall-cmd --set-default-zone=public (any zone but trusted, which lets everything in). The public zone keeps SSH reachable; check with sudo firewall-cmd --list-services before you close anything else.",
		"开启 firewalld 并使用会过滤传入连接的区域：运行 sudo systemctl enable --now firewalld，然后运行 sudo firewall-cmd --set-default-zone=public（trusted 以外的任意区域都可以，trusted 会放行所有连接）。public 区域会保留 SSH 访问；在关闭其他服务前，可用 sudo firewall-cmd --list-services 查看。")
	fixUFW = i18n.T(
		"Turn on ufw with incoming connections blocked by default. If you manage this computer over SSH, allow it first, or you will be locked out: sudo ufw allow OpenSSH. Then: sudo ufw default deny incoming, and sudo ufw enable.",
		"开启 ufw，并默认阻止传入连接。如果您通过 SSH 管理这台电脑，请先放行 SSH，否则会被锁在外面：sudo ufw allow OpenSSH。然后运行 sudo ufw default deny incoming 和 sudo ufw enable。")
	fixNft = i18n.T(
		"Give nftables an input chain that drops what you did not allow. In /etc/nftables.conf, in table inet filter, make the input chain read: type filter hook input priority 0; policy drop; ct state established,related accept; iif lo accept; meta l4proto { icmp, ipv6-icmp } accept; tcp dport 22 accept (SSH, so remote administration keeps working; add the other services this computer offers). Then load it and keep it at boot: sudo systemctl enable --now nftables (or sudo nft -f /etc/nftables.conf).",
		"为 nftables 配置一个丢弃未放行流量的 input 链。在 /etc/nftables.conf 的 table inet filter 中，将 input 链写为：type filter hook input priority 0; policy drop; ct state established,related accept; iif lo accept; meta l4proto { icmp, ipv6-icmp } accept; tcp dport 22 accept（放行 SSH，以便继续远程管理；并加上本机提供的其他服务）。然后加载并设为开机生效：sudo systemctl enable --now nftables（或 sudo nft -f /etc/nftables.conf）。")
	fixIptables = i18n.T(
		"Make iptables drop incoming connections you did not allow, in this order so an SSH session is not cut: sudo iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT, sudo iptables -A INPUT -i lo -j ACCEPT, sudo iptables -A INPUT -p tcp --dport 22 -j ACCEPT (SSH; add the other services this computer offers), then sudo iptables -P INPUT DROP. Do the same with ip6tables, and save the rules so they survive a restart (Debian and Ubuntu: sudo apt install iptables-persistent).",
		"让 iptables 丢弃未放行的传入连接，并按以下顺序操作，以免中断 SSH 会话：sudo iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT、sudo iptables -A INPUT -i lo -j ACCEPT、sudo iptables -A INPUT -p tcp --dport 22 -j ACCEPT（放行 SSH；并加上本机提供的其他服务），最后运行 sudo iptables -P INPUT DROP。对 ip6tables 做同样的设置，并保存规则以便重启后仍然有效（Debian 和 Ubuntu：sudo apt install iptables-persistent）。")
	fixLinuxNone = i18n.T(
		"Install and turn on a firewall that blocks incoming connections by default. On Ubuntu or Debian: sudo apt install ufw, then, if you manage this computer over SSH, sudo ufw allow OpenSSH first, then sudo ufw default deny incoming and sudo ufw enable. On Fedora, RHEL or openSUSE: sudo systemctl enable --now firewalld, with a default zone other than trusted (sudo firewall-cmd --set-default-zone=public, which keeps SSH reachable).",
		"安装并开启一个默认阻止传入连接的防火墙。Ubuntu 或 Debian：运行 sudo apt install ufw；如果您通过 SSH 管理这台电脑，请先运行 sudo ufw allow OpenSSH，再运行 sudo ufw default deny incoming 和 sudo ufw enable。Fedora、RHEL 或 openSUSE：运行 sudo systemctl enable --now firewalld，并使用 trusted 以外的默认区域（sudo firewall-cmd --set-default-zone=public，会保留 SSH 访问）。")
)

// linuxRemedy picks the advice for the firewall tool this system has:
// firewalld, else ufw, else iptables when it holds the rules, else
// nftables; with none of them, how to install one.
func linuxRemedy(subs []sub) i18n.Text {
	has := map[string]bool{}
	for _, s := range subs {
		if s.state != absent {
			has[s.name] = true
		}
	}
	iptablesRules := false
	for _, s := range subs {
		if s.name == "iptables" && s.state != absent && s.detail != "no rules loaded" {
			iptablesRules = true
		}
	}
	switch {
	case has["firewalld"]:
		return fixFirewalld
	case has["ufw"]:
		return fixUFW
	case has["iptables"] && (iptablesRules || !has["nftables"]):
		return fixIptables
	case has["nftables"]:
		return fixNft
	}
	return fixLinuxNone
}

func runLinux(ctx context.Context, src source.Source) checks.Result {
	subs := []sub{
		linuxNft(ctx, src),
		linuxIptables(ctx, src),
		linuxUFW(ctx, src),
		linuxFirewalld(ctx, src),
	}
	return judge(subs, linuxRemedy(subs))
}

func linuxNft(ctx context.Context, src source.Source) sub {
	s := sub{name: "nftables", source: argvString(nftArgv), trust: health.OSReported, conclusive: true}
	out, err := src.Run(ctx, nftArgv...)
	switch {
	case err != nil:
		s.state, s.detail = absentOrUnread(err)
		return s
	case permissionDenied(out):
		s.state, s.detail = unread, "needs root to read the ruleset"
		return s
	case !out.OK():
		s.state, s.detail = unread, "nft failed: "+firstLine(out.Stderr+out.Stdout)
		return s
	}
	rs := ParseNft(out.Stdout)
	inputs := rs.InputChains()
	s.facts = map[string]any{"nft_tables": rs.Tables, "nft_input_chains": len(inputs)}
	for _, c := range inputs {
		if c.Blocks() {
			s.state, s.detail = on, c.Describe()
			return s
		}
	}
	s.state = off
	switch {
	case rs.Tables == 0:
		s.detail = "empty ruleset"
	case len(inputs) == 0:
		s.detail = "no chain on the input hook"
	default:
		s.detail = inputs[0].Describe()
	}
	return s
}

func linuxIptables(ctx context.Context, src source.Source) sub {
	s := sub{name: "iptables", source: argvString(iptablesSaveArgv), trust: health.OSReported, conclusive: true}
	out, err := src.Run(ctx, iptablesSaveArgv...)
	switch {
	case err != nil:
		s.state, s.detail = absentOrUnread(err)
		return s
	case permissionDenied(out):
		s.state, s.detail = unread, "needs root to read the rules"
		return s
	case !out.OK():
		s.state, s.detail = unread, "iptables-save failed: "+firstLine(out.Stderr+out.Stdout)
		return s
	}
	d := ParseIptablesSave(out.Stdout)
	if d.Backend != "" {
		s.facts = map[string]any{"iptables_backend": d.Backend}
	}
	if d.Empty() {
		s.state, s.detail = off, "no rules loaded"
		return s
	}
	blocks, why := d.InputBlocks()
	if d.Backend != "" {
		why += " (" + d.Backend + " backend)"
	}
	s.detail = why
	if blocks {
		s.state = on
	} else {
		s.state = off
	}
	return s
}

func linuxUFW(ctx context.Context, src source.Source) sub {
	s := sub{name: "ufw", source: argvString(ufwStatusArgv), trust: health.OSReported}
	out, err := src.Run(ctx, ufwStatusArgv...)
	switch {
	case err == nil && out.OK():
		st := ParseUFWStatus(out.Stdout)
		switch {
		case !st.Known:
			s.state, s.detail = unread, "unfamiliar status output: "+firstLine(out.Stdout)
		case !st.Active:
			s.state, s.detail = off, "inactive"
		case st.Blocks():
			s.state, s.detail = on, "active, default "+st.Incoming+" (incoming)"
		case st.Incoming == "":
			s.state, s.detail = unread, "active, but the default for incoming traffic is not shown"
		default:
			s.state, s.detail = off, "active, but default "+st.Incoming+" (incoming)"
		}
		return s
	case err != nil && !errors.Is(err, source.ErrNotFound):
		s.state, s.detail = unread, runErr(err)
		return s
	}
	// The command is missing or refused (it needs root): read the
	// configuration ufw starts from.
	why := "ufw status needs root"
	if err != nil {
		why = "ufw command not installed"
	} else if !permissionDenied(out) {
		why = "ufw status failed: " + firstLine(out.Stderr+out.Stdout)
	}
	conf, cerr := src.ReadFile(ufwConfPath)
	switch {
	case errors.Is(cerr, fs.ErrNotExist) && err != nil:
		s.state, s.detail = absent, "not installed"
		return s
	case cerr != nil:
		s.state, s.detail = unread, why+"; "+ufwConfPath+": "+fileErr(cerr)
		return s
	}
	s.source, s.trust = ufwConfPath, health.OSReported
	enabled := strings.ToLower(ParseShellVars(string(conf))["ENABLED"])
	switch enabled {
	case "no":
		s.state, s.detail = off, "disabled in "+ufwConfPath+" ("+why+")"
		return s
	case "yes":
	default:
		s.state, s.detail = unread, why+"; ENABLED is not set in "+ufwConfPath
		return s
	}
	def, derr := src.ReadFile(ufwDefaultPath)
	if derr != nil {
		s.state, s.detail = unread, "enabled in "+ufwConfPath+", but "+ufwDefaultPath+": "+fileErr(derr)
		return s
	}
	pol := strings.ToUpper(ParseShellVars(string(def))["DEFAULT_INPUT_POLICY"])
	switch pol {
	case "DROP", "REJECT":
		s.state, s.detail = on, "enabled in "+ufwConfPath+", default input policy "+pol+" ("+why+")"
	case "ACCEPT":
		s.state, s.detail = off, "enabled in "+ufwConfPath+", but default input policy ACCEPT ("+why+")"
	default:
		s.state, s.detail = unread, "enabled in "+ufwConfPath+", but DEFAULT_INPUT_POLICY is not set in "+ufwDefaultPath
	}
	return s
}

func linuxFirewalld(ctx context.Context, src source.Source) sub {
	s := sub{name: "firewalld", source: argvString(firewalldStateArgv), trust: health.OSReported}
	out, err := src.Run(ctx, firewalldStateArgv...)
	if err != nil {
		s.state, s.detail = absentOrUnread(err)
		return s
	}
	text := out.Stdout
	if strings.TrimSpace(text) == "" {
		text = out.Stderr
	}
	switch ParseFirewalldState(text, out.Exit) {
	case FirewalldNotRunning:
		s.state, s.detail = off, "not running"
		return s
	case FirewalldUnfamiliar:
		if permissionDenied(out) {
			s.state, s.detail = unread, "not allowed to ask firewalld for its state"
		} else {
			s.state, s.detail = unread, "unfamiliar state output: "+firstLine(out.Stdout+out.Stderr)
		}
		return s
	}
	zone, from := "", ""
	if z, zerr := src.Run(ctx, firewalldZoneArgv...); zerr == nil && z.OK() && strings.TrimSpace(z.Stdout) != "" {
		zone, from = strings.TrimSpace(z.Stdout), "firewall-cmd --get-default-zone"
	} else if conf, cerr := src.ReadFile(firewalldConfPath); cerr == nil {
		if z := ParseShellVars(string(conf))["DefaultZone"]; z != "" {
			zone, from = z, firewalldConfPath
		}
	}
	if zone == "" {
		zone, from = firewalldDefaultZone, "firewalld's built-in default"
	}
	s.facts = map[string]any{"firewalld_default_zone": zone}
	if zone == "trusted" {
		s.state, s.detail = off, "running, but the default zone is trusted, which accepts all incoming traffic (from "+from+")"
		return s
	}
	s.state, s.detail = on, "running, default zone "+zone+" (from "+from+")"
	return s
}

// absentOrUnread turns a command error into a sub-result state.
func absentOrUnread(err error) (state, string) {
	if errors.Is(err, source.ErrNotFound) {
		return absent, "not installed"
	}
	return unread, runErr(err)
}

func fileErr(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}
