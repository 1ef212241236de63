package authority

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/store"
)

// PolicyCheckInterval is how often a node asks the store whether the
// active policy changed: on requests, in the background, like the keys
// version. A policy activated through any node or the command line is
// used by every node within about this long.
const PolicyCheckInterval = 2 * time.Second

// policyState is the policy a node appraises with.
type policyState struct {
	store   store.Policies // nil: the policy given at start, always
	cur     atomic.Pointer[policy.Policy]
	seq     atomic.Int64 // the activation cur came from; 0: none
	checked atomic.Int64 // unix nanoseconds of the last version check
	loading atomic.Bool
}

// CanonicalPolicy is the form a policy is stored in: its file as JSON,
// so that two files saying the same thing are the same version.
func CanonicalPolicy(p *policy.Policy) ([]byte, error) {
	return json.MarshalIndent(p.File(), "", "  ")
}

// ActivatePolicy stores p in ps (when its id@version is new) and makes it
// the active policy of every node, as actor. A stored id@version with
// other rules is store.ErrConflict: raise the version.
func ActivatePolicy(ctx context.Context, ps store.Policies, p *policy.Policy, actor string, now time.Time) (store.PolicyActivation, bool, error) {
	body, err := CanonicalPolicy(p)
	if err != nil {
		return store.PolicyActivation{}, false, err
	}
	f := p.File()
	return ps.ActivatePolicy(ctx, store.StoredPolicy{ID: f.ID, Version: f.Version, Body: body}, actor, now)
}

// initPolicy starts with the store's active policy, or def when none was
// ever activated.
func (a *Authority) initPolicy(ctx context.Context, def *policy.Policy, ps store.Policies) error {
	a.pol.cur.Store(def)
	a.pol.store = ps
	if ps == nil {
		return nil
	}
	a.pol.checked.Store(a.now().UnixNano())
	if _, err := a.loadActivePolicy(ctx); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

// loadActivePolicy reads the active policy and uses it; it reports
// whether it changed.
func (a *Authority) loadActivePolicy(ctx context.Context) (bool, error) {
	sp, act, err := a.pol.store.ActivePolicy(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if act.Seq == a.pol.seq.Load() {
		return false, nil
	}
	p, err := policy.Parse(sp.Body)
	if err != nil {
		return false, fmt.Errorf("the active policy %s@%d does not compile: %w", sp.ID, sp.Version, err)
	}
	a.pol.cur.Store(p)
	a.pol.seq.Store(act.Seq)
	return true, nil
}

// currentPolicy is the policy to appraise with now. Every
// PolicyCheckInterval a request makes the node ask, in the background,
// whether another policy was activated.
func (a *Authority) currentPolicy() *policy.Policy {
	if a.pol.store != nil {
		now := a.now().UnixNano()
		if now-a.pol.checked.Load() > int64(PolicyCheckInterval) && a.pol.loading.CompareAndSwap(false, true) {
			go a.refreshPolicy(now)
		}
	}
	return a.pol.cur.Load()
}

func (a *Authority) refreshPolicy(now int64) {
	defer a.pol.loading.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := a.pol.store.PolicyVersion(ctx)
	if err == nil && v != a.pol.seq.Load() {
		var changed bool
		if changed, err = a.loadActivePolicy(ctx); changed {
			a.log.Info("policy changed", "policy", a.pol.cur.Load().ID())
		}
	}
	if err != nil {
		// The policy held stays in use; the next check tries again.
		a.log.Error("reading the active policy", "err", err)
	}
	a.pol.checked.Store(now)
}

// Policy is the policy the node appraises with now.
func (a *Authority) Policy() *policy.Policy { return a.currentPolicy() }

// setPolicy validates and activates a policy file for every node, and
// uses it here at once.
func (a *Authority) setPolicy(ctx context.Context, body []byte, actor string) (store.PolicyActivation, bool, error) {
	if a.pol.store == nil {
		return store.PolicyActivation{}, false, errorf(http.StatusNotFound, "not_found", "this authority keeps no policies in its store")
	}
	p, err := policy.Parse(body)
	if err != nil {
		return store.PolicyActivation{}, false, errorf(http.StatusBadRequest, "bad_policy", "%v", err)
	}
	act, changed, err := ActivatePolicy(ctx, a.pol.store, p, actor, a.now())
	if errors.Is(err, store.ErrConflict) {
		return act, false, errorf(http.StatusConflict, "policy_conflict", "%v; give the changed policy a higher version", err)
	}
	if err != nil {
		return act, false, err
	}
	a.pol.cur.Store(p)
	a.pol.seq.Store(act.Seq)
	if changed {
		a.log.Info("policy activated", "policy", p.ID(), "actor", actor)
	}
	return act, changed, nil
}
