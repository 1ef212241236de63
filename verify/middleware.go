package verify

import (
	"context"
	"fmt"
	"net/http"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
)

// Appraisal is what a relying party knows about the device behind a
// request.
type Appraisal struct {
	// Tier is the certificate's verdict, or none when the request carried
	// no valid certificate.
	Tier health.Tier
	// Decision is Tier mapped through the relying party's Rules.
	Decision Decision
	// Claims are the verified certificate's claims; nil when Err is set.
	Claims *healthcert.Claims
	// Err says why the request has no valid certificate (wrapping
	// ErrNoCertificate, ErrExpired, ErrSignature, …); nil otherwise.
	Err error
}

// Findings are the checks that lowered the device's verdict, if any.
func (a *Appraisal) Findings() []health.Finding {
	if a == nil || a.Claims == nil {
		return nil
	}
	return a.Claims.Device().Findings
}

// Appraise verifies token and decides with rules. A missing, expired or
// invalid certificate is appraised as tier none, with the reason in Err.
func Appraise(ctx context.Context, v *Verifier, rules Rules, token string) *Appraisal {
	res, err := v.Verify(ctx, token)
	if err != nil {
		return &Appraisal{Tier: health.None, Decision: rules.Decide(health.None), Err: err}
	}
	return &Appraisal{Tier: res.Tier, Decision: rules.Decide(res.Tier), Claims: res.Claims}
}

type ctxKey struct{}

// NewContext returns ctx carrying a.
func NewContext(ctx context.Context, a *Appraisal) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// FromContext returns the Appraisal Middleware stored in ctx.
func FromContext(ctx context.Context) (*Appraisal, bool) {
	a, ok := ctx.Value(ctxKey{}).(*Appraisal)
	return a, ok && a != nil
}

// Middleware appraises every request's Device-Health header with v and
// rules, stores the Appraisal in the request context for next (read it
// with FromContext) and calls next. It renders no pages: the relying party
// decides how to warn. With rules.Enforce it answers 403 itself for Block,
// and for Restrict on paths outside rules.SafePaths.
//
// A request carrying more than one Device-Health header is appraised as
// malformed.
func Middleware(v *Verifier, rules Rules, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", healthcert.HTTPHeader)
		var a *Appraisal
		switch vals := r.Header.Values(healthcert.HTTPHeader); len(vals) {
		case 0:
			a = &Appraisal{Tier: health.None, Decision: rules.Decide(health.None), Err: ErrNoCertificate}
		case 1:
			a = Appraise(r.Context(), v, rules, vals[0])
		default:
			a = &Appraisal{Tier: health.None, Decision: rules.Decide(health.None),
				Err: fmt.Errorf("%w: %d %s headers", ErrMalformed, len(vals), healthcert.HTTPHeader)}
		}
		if rules.Enforce {
			switch {
			case a.Decision == Block:
				forbid(w, "This device cannot use this service until its security problems are fixed.")
				return
			case a.Decision == Restrict && !rules.SafeURL(r.URL):
				forbid(w, "This device is restricted: only help and account basics are available until its security problems are fixed.")
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), a)))
	})
}

func forbid(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintln(w, msg)
}
