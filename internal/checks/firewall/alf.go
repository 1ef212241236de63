package firewall

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
)

// ALFStatus is what socketfilterfw says about the macOS application
// firewall.
type ALFStatus struct {
	// State is the global state: 0 off, 1 on, 2 on and blocking all but
	// essential services; -1 when not shown.
	State int
	// Stealth and BlockAll are "on", "off", or "" when not shown or
	// unreadable (socketfilterfw prints "ALF: Error…" lines for values it
	// cannot read, which say nothing about the firewall being off).
	Stealth  string
	BlockAll string
	// Errors are the "ALF: Error…" lines.
	Errors []string
}

var alfStateRe = regexp.MustCompile(`\(State = (-?\d+)\)`)

// ParseSocketfilterfw reads the output of
// `socketfilterfw --getglobalstate [--getblockall] [--getstealthmode] …`
// in the wordings of both older ("Stealth mode enabled", "Block all
// DISABLED!") and newer ("Firewall stealth mode is on", "Firewall has
// block all state set to disabled.") macOS releases. The global state is
// taken from "(State = N)", never from words.
func ParseSocketfilterfw(text string) ALFStatus {
	st := ALFStatus{State: -1}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		low := strings.ToLower(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "ALF: Error") || strings.HasPrefix(low, "alf: error"):
			st.Errors = append(st.Errors, line)
		case alfStateRe.MatchString(line):
			if n, err := strconv.Atoi(alfStateRe.FindStringSubmatch(line)[1]); err == nil && st.State < 0 {
				st.State = n
			}
		case strings.Contains(low, "stealth mode"):
			st.Stealth = onOffWord(low)
		case strings.Contains(low, "block all"):
			st.BlockAll = onOffWord(low)
		}
	}
	return st
}

// onOffWord finds on/enabled or off/disabled at the end of a line.
func onOffWord(low string) string {
	f := strings.Fields(strings.NewReplacer(".", " ", "!", " ").Replace(low))
	if len(f) == 0 {
		return ""
	}
	switch f[len(f)-1] {
	case "on", "enabled":
		return "on"
	case "off", "disabled":
		return "off"
	}
	return ""
}

// ParseDefaultsInt reads the output of `defaults read DOMAIN KEY` for an
// integer value; ok is false for anything else (the key is missing, or
// the domain does not exist).
func ParseDefaultsInt(text string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(text))
	return n, err == nil
}
