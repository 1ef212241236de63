package firewall

import (
	"bufio"
	"strings"
)

// UFWStatus is a parsed `ufw status verbose`.
type UFWStatus struct {
	// Known is false when the text has no "Status:" line.
	Known  bool
	Active bool
	// Incoming is the default for incoming traffic: deny, reject, allow
	// or limit; empty when not shown (ufw shows it only when active).
	Incoming string
}

// ParseUFWStatus reads the output of `ufw status verbose`.
func ParseUFWStatus(text string) UFWStatus {
	var s UFWStatus
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "Status":
			switch val {
			case "active":
				s.Known, s.Active = true, true
			case "inactive":
				s.Known, s.Active = true, false
			}
		case "Default":
			// "deny (incoming), allow (outgoing), disabled (routed)"
			for _, part := range strings.Split(val, ",") {
				f := strings.Fields(part)
				if len(f) == 2 && f[1] == "(incoming)" {
					s.Incoming = strings.ToLower(f[0])
				}
			}
		}
	}
	return s
}

// Blocks reports whether ufw filters inbound traffic by default.
func (s UFWStatus) Blocks() bool {
	return s.Known && s.Active && (s.Incoming == "deny" || s.Incoming == "reject")
}

// ParseShellVars reads KEY=value lines as in /etc/ufw/ufw.conf,
// /etc/default/ufw and /etc/firewalld/firewalld.conf: comments and blank
// lines are skipped, surrounding quotes removed.
func ParseShellVars(text string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		v = strings.TrimSpace(v)
		if i := strings.Index(v, " #"); i >= 0 && !strings.HasPrefix(v, `"`) && !strings.HasPrefix(v, "'") {
			v = strings.TrimSpace(v[:i])
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out
}

// FirewalldState is what `firewall-cmd --state` says.
type FirewalldState int

const (
	FirewalldUnfamiliar FirewalldState = iota
	FirewalldRunning
	FirewalldNotRunning
)

// firewalldNotRunningExit is firewall-cmd's exit code when the daemon is
// not running (NOT_RUNNING).
const firewalldNotRunningExit = 252

// ParseFirewalldState reads `firewall-cmd --state`'s output and exit
// code. Only the whole word "running" on its own is running: "not
// running" contains it too.
func ParseFirewalldState(stdout string, exit int) FirewalldState {
	t := strings.TrimSpace(stdout)
	switch {
	case t == "running" && exit == 0:
		return FirewalldRunning
	case t == "not running" || exit == firewalldNotRunningExit:
		return FirewalldNotRunning
	}
	return FirewalldUnfamiliar
}
