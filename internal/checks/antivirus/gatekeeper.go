package antivirus

import "strings"

// GatekeeperState is whether macOS's Gatekeeper assesses apps before they
// first open.
type GatekeeperState int

const (
	GatekeeperUnknown GatekeeperState = iota
	GatekeeperEnabled
	GatekeeperDisabled
)

func (g GatekeeperState) String() string {
	switch g {
	case GatekeeperEnabled:
		return "enabled"
	case GatekeeperDisabled:
		return "disabled"
	}
	return "unknown"
}

// Gatekeeper is what `spctl --status` tells: whether assessments are on
// and, in the longer form, whether apps from identified developers are
// allowed ("developer id enabled").
type Gatekeeper struct {
	Assessments GatekeeperState
	DeveloperID GatekeeperState
}

// ParseSpctlStatus reads `spctl --status` ("assessments enabled", and
// "developer id enabled" on a second line in the longer form). A line it
// does not know, or none, leaves the state unknown.
func ParseSpctlStatus(text string) Gatekeeper {
	var g Gatekeeper
	state := func(s string) GatekeeperState {
		switch strings.TrimSpace(s) {
		case "enabled":
			return GatekeeperEnabled
		case "disabled":
			return GatekeeperDisabled
		}
		return GatekeeperUnknown
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.ToLower(strings.TrimSpace(line))
		if v, ok := strings.CutPrefix(line, "assessments "); ok && g.Assessments == GatekeeperUnknown {
			g.Assessments = state(v)
		} else if v, ok := strings.CutPrefix(line, "developer id "); ok && g.DeveloperID == GatekeeperUnknown {
			g.DeveloperID = state(v)
		}
	}
	return g
}
