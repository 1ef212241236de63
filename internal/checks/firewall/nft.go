package firewall

import (
	"bufio"
	"strings"
)

// NftChain is one chain of an nftables ruleset as `nft list ruleset`
// prints it.
type NftChain struct {
	Family string // ip, ip6, inet, arp, bridge, netdev
	Table  string
	Name   string
	Type   string // filter, nat, route; empty for a regular chain
	Hook   string // input, forward, output, …; empty for a regular chain
	Policy string // accept or drop; empty for a regular chain
	Rules  []string
}

// Blocks reports whether the chain drops inbound traffic by default: it is
// a filter chain on the input hook whose policy is drop, or whose last rule
// drops or rejects everything that reached it.
func (c NftChain) Blocks() bool {
	if c.Hook != "input" || (c.Type != "" && c.Type != "filter") {
		return false
	}
	if c.Policy == "drop" || c.Policy == "reject" {
		return true
	}
	return len(c.Rules) > 0 && nftCatchAllBlock(c.Rules[len(c.Rules)-1])
}

// Describe tells what the chain does with inbound traffic, for a detail.
func (c NftChain) Describe() string {
	where := "table " + c.Family + " " + c.Table + " chain " + c.Name
	pol := c.Policy
	if pol == "" {
		pol = "accept"
	}
	switch {
	case pol == "drop" || pol == "reject":
		return "input policy " + pol + " (" + where + ")"
	case c.Blocks():
		return "input policy " + pol + ", last rule drops the rest (" + where + ")"
	}
	return "input policy " + pol + " with no catch-all drop rule (" + where + ")"
}

// NftRuleset is a parsed `nft list ruleset`.
type NftRuleset struct {
	Tables int
	Chains []NftChain
}

// InputChains returns the base chains on the input hook.
func (r NftRuleset) InputChains() []NftChain {
	var out []NftChain
	for _, c := range r.Chains {
		if c.Hook == "input" {
			out = append(out, c)
		}
	}
	return out
}

// ParseNft reads the output of `nft list ruleset`. It is forgiving: lines
// it does not understand are skipped, and an empty input is an empty
// ruleset.
func ParseNft(text string) NftRuleset {
	var rs NftRuleset
	var family, table string
	var cur *NftChain
	depth := 0
	pending := "" // a rule spread over several lines
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		opens, closes := braceCount(line)
		switch {
		case pending != "":
			pending += " " + line
			if d := depth + opens - closes; d <= 2 {
				if cur != nil {
					cur.Rules = append(cur.Rules, pending)
				}
				pending = ""
			}
		case depth == 0 && strings.HasPrefix(line, "table "):
			f := strings.Fields(strings.TrimSuffix(line, "{"))
			family, table = "", ""
			if len(f) >= 3 {
				family, table = f[1], f[2]
			} else if len(f) == 2 {
				family, table = "ip", f[1]
			}
			rs.Tables++
		case depth == 1 && strings.HasPrefix(line, "chain "):
			f := strings.Fields(strings.TrimSuffix(line, "{"))
			name := ""
			if len(f) >= 2 {
				name = f[1]
			}
			rs.Chains = append(rs.Chains, NftChain{Family: family, Table: table, Name: name})
			cur = &rs.Chains[len(rs.Chains)-1]
		case depth == 2 && cur != nil && strings.HasPrefix(line, "type "):
			parseNftChainHead(cur, line)
		case depth == 2 && cur != nil && strings.HasPrefix(line, "policy "):
			parseNftChainHead(cur, line)
		case depth == 2 && cur != nil && (strings.HasPrefix(line, "comment ") || line == "}"):
		case depth == 2 && cur != nil:
			if opens > closes {
				pending = line
			} else {
				cur.Rules = append(cur.Rules, line)
			}
		}
		depth += opens - closes
		if depth < 0 {
			depth = 0
		}
		if depth < 2 {
			cur = nil
		}
	}
	return rs
}

// parseNftChainHead reads "type filter hook input priority filter; policy drop;".
func parseNftChainHead(c *NftChain, line string) {
	for _, part := range strings.Split(line, ";") {
		f := strings.Fields(part)
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "type":
				if c.Type == "" {
					c.Type = f[i+1]
				}
			case "hook":
				c.Hook = f[i+1]
			case "policy":
				c.Policy = f[i+1]
			}
		}
	}
}

// braceCount counts braces outside double-quoted strings.
func braceCount(line string) (opens, closes int) {
	inQuote := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			inQuote = !inQuote
		case '{':
			if !inQuote {
				opens++
			}
		case '}':
			if !inQuote {
				closes++
			}
		}
	}
	return
}

// nftCatchAllBlock reports whether a rule drops or rejects every packet
// that reaches it: its verdict is drop or reject and everything before
// the verdict only counts or logs (no match on addresses, ports, states or
// rates).
func nftCatchAllBlock(rule string) bool {
	words := fieldsOutsideQuotes(rule)
	verdict := -1
	for i, w := range words {
		if w == "drop" || w == "reject" {
			verdict = i
			break
		}
	}
	if verdict < 0 {
		return false
	}
	if words[verdict] == "drop" && verdict != len(words)-1 {
		return false
	}
	for i := 0; i < verdict; i++ {
		w := words[i]
		switch w {
		case "counter", "packets", "bytes", "log", "prefix", "level", "flags", "comment",
			"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit",
			"group", "snaplen", "queue-threshold":
			continue
		}
		if isNumber(w) || strings.HasPrefix(w, `"`) {
			continue
		}
		return false
	}
	return true
}

// fieldsOutsideQuotes splits on spaces, keeping quoted strings whole.
func fieldsOutsideQuotes(s string) []string {
	var out []string
	var b strings.Builder
	inQuote := false
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			b.WriteRune(r)
		case (r == ' ' || r == '\t') && !inQuote:
			flush()
		default:
			b.WriteRune(r)
		}
	}
	flush()
	return out
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
