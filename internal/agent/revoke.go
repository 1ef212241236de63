package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/verify"
)

// revokedFile lists the certificates (by token) the authority's status
// list marks revoked, so status and the endpoint know without the
// network. It is rewritten at every status check.
const revokedFile = "revoked.json"

// DefaultStatusEvery is how often Run checks the status of the
// certificates it holds.
const DefaultStatusEvery = 5 * time.Minute

// Certificate states as status shows them.
const (
	CertValid   = "valid"
	CertExpired = "expired"
	CertRevoked = "revoked"
)

func (a *Agent) revoked() []string {
	var toks []string
	a.Store.readJSON(revokedFile, &toks)
	return toks
}

// CertificateState says whether a held certificate is valid, expired or
// revoked (as the last status check found it).
func (a *Agent) CertificateState(c protocol.Certificate) string {
	switch {
	case slices.Contains(a.revoked(), c.Token):
		return CertRevoked
	case !a.now().Before(c.ExpiresAt):
		return CertExpired
	}
	return CertValid
}

// CheckRevocation checks the status list of each certificate the agent
// holds, with the authority's kept keys, and remembers the revoked
// ones. It tells whether any is revoked. A status list that cannot be
// fetched is an error and changes nothing.
func (a *Agent) CheckRevocation(ctx context.Context) (bool, error) {
	last, err := a.Store.LoadLast()
	if err != nil || len(last.Response.Certificates) == 0 {
		return false, nil
	}
	st, err := a.Store.LoadState()
	if err != nil {
		return false, err
	}
	ks, err := a.keySet(ctx, st, false)
	if err != nil {
		return false, err
	}
	checker, err := verify.NewStatusChecker(verify.Options{Keys: ks, Issuer: st.Discovery.Issuer, HTTPClient: a.http(), Now: a.now, StatusMaxAge: time.Minute})
	if err != nil {
		return false, err
	}
	var revoked []string
	var errs []error
	for _, c := range last.Response.Certificates {
		if !a.now().Before(c.ExpiresAt) {
			continue
		}
		claims, err := healthcert.Parse(c.Token, ks)
		if err != nil {
			continue // not signed by this authority's keys: not ours to judge
		}
		switch err := checker.CheckStatus(ctx, claims); {
		case errors.Is(err, verify.ErrRevoked):
			revoked = append(revoked, c.Token)
		case err != nil:
			errs = append(errs, fmt.Errorf("certificate for %s: %w", c.Audience, err))
		}
	}
	if len(errs) > 0 && len(revoked) == 0 {
		return false, errors.Join(errs...)
	}
	if len(revoked) == 0 {
		os.Remove(a.Store.path(revokedFile))
		return false, nil
	}
	if err := a.Store.writeJSON(revokedFile, revoked); err != nil {
		return true, err
	}
	a.log().Warn("the authority revoked certificates this agent holds", "count", len(revoked))
	return true, nil
}
