package firewall

import (
	"bufio"
	"strings"
)

// IptablesDump is a parsed `iptables-save`.
type IptablesDump struct {
	// Backend is "nf_tables" or "legacy" when the header names it.
	Backend string
	// Tables maps a table name ("filter") to its chains.
	Tables map[string]*IptablesTable
}

// IptablesTable is one table of an iptables-save dump.
type IptablesTable struct {
	Policies map[string]string   // chain → ACCEPT, DROP, or "-" for a user chain
	Rules    map[string][]string // chain → its rules, without "-A CHAIN"
}

// ParseIptablesSave reads the output of `iptables-save` (legacy or
// nf_tables backend). Unknown lines are skipped.
func ParseIptablesSave(text string) IptablesDump {
	d := IptablesDump{Tables: map[string]*IptablesTable{}}
	var cur *IptablesTable
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			if d.Backend == "" {
				switch {
				case strings.Contains(line, "(nf_tables)"):
					d.Backend = "nf_tables"
				case strings.Contains(line, "(legacy)"):
					d.Backend = "legacy"
				}
			}
		case strings.HasPrefix(line, "*"):
			name := strings.TrimSpace(line[1:])
			cur = d.Tables[name]
			if cur == nil {
				cur = &IptablesTable{Policies: map[string]string{}, Rules: map[string][]string{}}
				d.Tables[name] = cur
			}
		case line == "COMMIT":
			cur = nil
		case cur == nil:
		case strings.HasPrefix(line, ":"):
			f := strings.Fields(line[1:])
			if len(f) >= 2 {
				cur.Policies[f[0]] = f[1]
			}
		case strings.HasPrefix(line, "-A "):
			f := strings.SplitN(line[3:], " ", 2)
			rest := ""
			if len(f) == 2 {
				rest = strings.TrimSpace(f[1])
			}
			cur.Rules[f[0]] = append(cur.Rules[f[0]], rest)
		}
	}
	return d
}

// Empty reports whether the dump holds no table at all.
func (d IptablesDump) Empty() bool { return len(d.Tables) == 0 }

// InputBlocks reports whether the filter table's INPUT chain drops inbound
// traffic by default, and describes it.
func (d IptablesDump) InputBlocks() (bool, string) {
	t := d.Tables["filter"]
	if t == nil {
		return false, "no filter table"
	}
	pol, ok := t.Policies["INPUT"]
	if !ok {
		return false, "no INPUT chain"
	}
	if pol == "DROP" || pol == "REJECT" {
		return true, "INPUT policy " + pol
	}
	rules := t.Rules["INPUT"]
	if n := len(rules); n > 0 && iptablesCatchAllBlock(rules[n-1]) {
		return true, "INPUT policy " + pol + ", last rule " + iptablesTarget(rules[n-1]) + "s the rest"
	}
	return false, "INPUT policy " + pol + " with no catch-all DROP or REJECT rule"
}

// iptablesCatchAllBlock reports whether a rule (without "-A CHAIN") drops
// or rejects every packet: its target is DROP or REJECT and its only other
// options are a comment or the reject type.
func iptablesCatchAllBlock(rule string) bool {
	t := iptablesTarget(rule)
	if t != "DROP" && t != "REJECT" {
		return false
	}
	f := fieldsOutsideQuotes(rule)
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "-j", "--reject-with", "--comment":
			i++ // skip its value
		case "-m":
			if i+1 < len(f) && f[i+1] == "comment" {
				i++
				continue
			}
			return false
		default:
			return false
		}
	}
	return true
}

// iptablesTarget returns the rule's -j target.
func iptablesTarget(rule string) string {
	f := strings.Fields(rule)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "-j" {
			return f[i+1]
		}
	}
	return ""
}
