package verify

import (
	"strings"

	"github.com/herd-health/herd/health"
)

// Decision is what a relying party does with a request, given the
// device's verdict.
type Decision string

const (
	// Allow: serve the request.
	Allow Decision = "allow"
	// Warn: show an interstitial with the findings and how to fix them;
	// the user may continue.
	Warn Decision = "warn"
	// Restrict: the device is sequestered; only safe-harbour paths
	// (remediation help, account basics) stay reachable.
	Restrict Decision = "restrict"
	// Block: refuse the request.
	Block Decision = "block"
)

// Valid reports whether d is one of the four decisions.
func (d Decision) Valid() bool {
	switch d {
	case Allow, Warn, Restrict, Block:
		return true
	}
	return false
}

// Rules are a relying party's policy: the decision for each tier. A zero
// field takes its default.
type Rules struct {
	// Affirming is the decision for a healthy device; default Allow.
	Affirming Decision
	// Warning is for a device failing a required check; default Warn.
	Warning Decision
	// Contraindicated is for an infected or compromised device; default
	// Block.
	Contraindicated Decision
	// None is for a request with no valid certificate (none sent, expired,
	// invalid) and for a certificate whose tier is none; default Warn.
	None Decision

	// SafePaths stay reachable when the decision is Restrict. Each is a
	// prefix of the URL path: "/help/" matches "/help/firewall"; "/help"
	// also matches "/helpdesk".
	SafePaths []string

	// Enforce makes Middleware answer 403 itself for Block, and for
	// Restrict on paths outside SafePaths. Without it the middleware only
	// records the appraisal and every request reaches the next handler.
	Enforce bool
}

// Decide returns the decision for a tier. An unrecognised tier is treated
// as none.
func (r Rules) Decide(t health.Tier) Decision {
	pick := func(d, def Decision) Decision {
		if d == "" {
			return def
		}
		return d
	}
	switch t {
	case health.Affirming:
		return pick(r.Affirming, Allow)
	case health.Warning:
		return pick(r.Warning, Warn)
	case health.Contraindicated:
		return pick(r.Contraindicated, Block)
	}
	return pick(r.None, Warn)
}

// Safe reports whether path stays reachable under Restrict.
func (r Rules) Safe(path string) bool {
	for _, p := range r.SafePaths {
		if p != "" && strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
