package firewall

import (
	"bufio"
	"strings"
)

// ParsePfInfo reads the "Status:" line of `pfctl -s info`: "enabled",
// "disabled", or "" when there is none.
func ParsePfInfo(text string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "Status:" {
			switch strings.ToLower(f[1]) {
			case "enabled":
				return "enabled"
			case "disabled":
				return "disabled"
			}
		}
	}
	return ""
}

// PfInboundBlockRules returns the rules of `pfctl -s rules` that block
// inbound traffic: "block" rules whose direction is "in" or not given
// (both ways). Rules inside anchors are not listed by pfctl -s rules and
// are not seen.
func PfInboundBlockRules(text string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "block" {
			continue
		}
		inbound := true
		for _, w := range f[1:] {
			if w == "out" {
				inbound = false
				break
			}
			if w == "in" || w == "on" || w == "from" || w == "all" || w == "proto" || w == "inet" || w == "inet6" {
				break
			}
		}
		if inbound {
			out = append(out, line)
		}
	}
	return out
}
