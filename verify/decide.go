package verify

import (
	"net/url"
	"path"
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

	// SafePaths stay reachable when the decision is Restrict. Each names
	// a path and everything under it, on segment boundaries: "/account"
	// (or "/account/") matches "/account" and "/account/password", never
	// "/accounts"; "/" matches every path. Only a request path in its
	// clean, unambiguous form is ever safe (see SafeURL).
	SafePaths []string

	// Enforce makes Middleware answer 403 itself for Block, and for
	// Restrict on paths outside SafePaths (by SafeURL). Without it the middleware only
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

// Safe reports whether the (decoded) URL path stays reachable under
// Restrict: it must be clean, as path.Clean writes it (no "." or ".."
// segment, no doubled slash; a final slash is allowed), hold no
// backslash, NUL or "%" (what is left of a second encoding), and lie on
// or under one of SafePaths. Anything else is refused rather than
// guessed at: an application behind the middleware may resolve such a
// path somewhere else.
func (r Rules) Safe(p string) bool {
	if !cleanPath(p) {
		return false
	}
	for _, sp := range r.SafePaths {
		if under(p, sp) {
			return true
		}
	}
	return false
}

// SafeURL is Safe for a request URL: the path as sent must also not
// encode a dot, a slash or a backslash (%2e, %2f, %5c), which different
// servers and frameworks decode at different times.
func (r Rules) SafeURL(u *url.URL) bool {
	if u == nil || u.Opaque != "" {
		return false
	}
	esc := strings.ToLower(u.EscapedPath())
	for _, enc := range []string{"%2e", "%2f", "%5c", "%00", "%25"} {
		if strings.Contains(esc, enc) {
			return false
		}
	}
	return r.Safe(u.Path)
}

// cleanPath reports whether p is an absolute path in clean form.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' || strings.ContainsAny(p, "\\\x00%") {
		return false
	}
	c := path.Clean(p)
	return p == c || p == c+"/"
}

// under reports whether clean path p is safe path sp or below it.
func under(p, sp string) bool {
	if sp == "" || sp[0] != '/' {
		return false
	}
	sp = strings.TrimRight(sp, "/")
	if sp == "" {
		return true // "/": everything
	}
	return p == sp || strings.HasPrefix(p, sp+"/")
}
