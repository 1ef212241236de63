package authority

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/webhook"
)

// AdminRoute is one endpoint of the admin API. Every one is registered
// from the adminRoutes table, authenticated with an admin token, and
// writes an audit record (Action) before it runs: no audit record, no
// action. The record is written with the outcome "pending" and, once the
// route has answered, updated to the HTTP status it answered with (when
// the store keeps outcomes).
type AdminRoute struct {
	Method, Path, Action string
	handle               func(a *Authority, w http.ResponseWriter, r *http.Request, actor string) error
}

// adminRoutes is the admin API: the one place routes are listed.
var adminRoutes = []AdminRoute{
	{"GET", "/v1/admin/devices", "device.list", (*Authority).adminListDevices},
	{"GET", "/v1/admin/devices/{id}", "device.show", (*Authority).adminShowDevice},
	{"DELETE", "/v1/admin/devices/{id}", "device.delete", (*Authority).adminDeleteDevice},
	{"POST", "/v1/admin/devices/{id}/revoke", "device.revoke", (*Authority).adminRevokeDevice},
	{"POST", "/v1/admin/keys/rotate", "key.rotate", (*Authority).adminRotateKey},
	{"GET", "/v1/admin/policy", "policy.show", (*Authority).adminPolicy},
	{"PUT", "/v1/admin/policy", "policy.set", (*Authority).adminSetPolicy},
	{"GET", "/v1/admin/retention", "retention.show", (*Authority).adminRetention},
	{"GET", "/v1/admin/audit", "audit.list", (*Authority).adminAudit},
	{"GET", "/v1/admin/relying-parties", "relying_party.list", (*Authority).adminListRPs},
	{"POST", "/v1/admin/relying-parties", "relying_party.add", (*Authority).adminAddRP},
	{"DELETE", "/v1/admin/relying-parties", "relying_party.remove", (*Authority).adminRemoveRP},
	{"GET", "/v1/admin/webhooks/dead", "webhook.dead.list", (*Authority).adminDeadEvents},
	{"GET", "/v1/admin/tokens", "admin_token.list", (*Authority).adminListTokens},
	{"POST", "/v1/admin/tokens", "admin_token.create", (*Authority).adminCreateToken},
	{"DELETE", "/v1/admin/tokens/{name}", "admin_token.revoke", (*Authority).adminRevokeToken},
	{"GET", "/v1/admin/enrollment-tokens", "enrollment_token.list", (*Authority).adminListEnrollmentTokens},
	{"POST", "/v1/admin/enrollment-tokens", "enrollment_token.create", (*Authority).adminCreateEnrollmentToken},
	{"DELETE", "/v1/admin/enrollment-tokens/{name}", "enrollment_token.revoke", (*Authority).adminRevokeEnrollmentToken},
}

// bodyTargets reads, for the actions whose target is in the request's
// JSON body rather than its path or query, the target from the body's
// members (a name, an audience, a policy's id@version; never a secret).
var bodyTargets = map[string]func(m map[string]json.RawMessage) string{
	"admin_token.create":      member("name"),
	"enrollment_token.create": member("name"),
	"relying_party.add":       member("audience"),
	"key.rotate":              member("alg"),
	"policy.set": func(m map[string]json.RawMessage) string {
		var v int
		if id := member("id")(m); id != "" && json.Unmarshal(m["version"], &v) == nil {
			return id + "@" + strconv.Itoa(v)
		}
		return ""
	},
}

// member reads one string member.
func member(name string) func(m map[string]json.RawMessage) string {
	return func(m map[string]json.RawMessage) string {
		var s string
		if json.Unmarshal(m[name], &s) != nil {
			return ""
		}
		return s
	}
}

// auditTarget is what the audit record of a call to rt names: the path's
// id or name, the audience in the query, or the body member bodyTargets
// names. The body is read (bounded) and put back for the handler; a body
// that cannot be read is the handler's error to answer.
func (a *Authority) auditTarget(rt AdminRoute, w http.ResponseWriter, r *http.Request) (string, error) {
	target := r.PathValue("id") + r.PathValue("name") + r.URL.Query().Get("audience")
	read, ok := bodyTargets[rt.Action]
	if !ok {
		return target, nil
	}
	body, err := a.readBody(w, r)
	if err != nil {
		return target, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil {
		target = read(m)
	}
	return target, nil
}

// AdminRoutes lists the admin API's routes.
func AdminRoutes() []AdminRoute { return append([]AdminRoute(nil), adminRoutes...) }

// admin authenticates, audits, then runs a route.
func (a *Authority) admin(rt AdminRoute) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		actor, err := a.authenticate(r)
		if err != nil {
			return err
		}
		target, bodyErr := a.auditTarget(rt, w, r)
		handle := rt.handle
		if bodyErr != nil {
			handle = func(*Authority, http.ResponseWriter, *http.Request, string) error { return bodyErr }
		}
		e := store.AuditEntry{At: a.now().UTC(), Actor: actor, Action: rt.Action, Target: target, SourceIP: clientIP(r)}
		ao, ok := a.ops.store.(store.AuditOutcomes)
		if !ok {
			if err := a.ops.store.AppendAudit(r.Context(), e); err != nil {
				// No audit record, no action.
				return fmt.Errorf("writing the audit log: %w", err)
			}
			return handle(a, w, r, actor)
		}
		e.Outcome = store.AuditPending
		// The attempt is recorded even when the client has gone.
		id, err := ao.StartAudit(context.WithoutCancel(r.Context()), e)
		if err != nil {
			// No audit record, no action.
			return fmt.Errorf("writing the audit log: %w", err)
		}
		sw := &statusWriter{ResponseWriter: w}
		if err := handle(a, sw, r, actor); err != nil {
			// Answered here, so that the record holds the status written.
			a.writeError(sw, r, err)
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		// The action is done: its outcome is recorded even when the
		// client has gone.
		if oerr := ao.SetAuditOutcome(context.WithoutCancel(r.Context()), id, strconv.Itoa(status)); oerr != nil {
			a.log.Error("recording an audit outcome", "id", id, "action", rt.Action, "err", oerr)
		}
		return nil
	}
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func jsonBytes(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// AdminDevice is a device as the admin API shows it.
type AdminDevice struct {
	ID          string      `json:"id"`
	OS          string      `json:"os"`
	EnrolledAt  time.Time   `json:"enrolled_at"`
	LastSeen    *time.Time  `json:"last_seen,omitempty"`
	LastVerdict health.Tier `json:"last_verdict,omitempty"`
	LastPolicy  string      `json:"last_policy,omitempty"`
}

func adminDevice(d store.Device) AdminDevice {
	out := AdminDevice{ID: d.ID, OS: d.OS, EnrolledAt: d.EnrolledAt, LastVerdict: d.LastVerdict, LastPolicy: d.LastPolicy}
	if !d.LastSeen.IsZero() {
		out.LastSeen = &d.LastSeen
	}
	return out
}

// AdminCheckin is one check-in in a device's history.
type AdminCheckin struct {
	ID         int64            `json:"id"`
	ReceivedAt time.Time        `json:"received_at"`
	Verdict    health.Tier      `json:"verdict"`
	PolicyID   string           `json:"policy_id"`
	OS         string           `json:"os"`
	OSVersion  string           `json:"os_version"`
	Agent      string           `json:"agent"`
	SourceIP   string           `json:"source_ip,omitempty"`
	Findings   []health.Finding `json:"findings"`
}

func queryInt(q url.Values, name string, def, maxv int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, errorf(http.StatusBadRequest, "bad_query", "%s must be a positive number", name)
	}
	return min(n, maxv), nil
}

func (a *Authority) adminListDevices(w http.ResponseWriter, r *http.Request, _ string) error {
	q := r.URL.Query()
	limit, err := queryInt(q, "limit", 100, 1000)
	if err != nil {
		return err
	}
	v := health.Tier(q.Get("verdict"))
	switch v {
	case "", health.Affirming, health.Warning, health.Contraindicated, health.None:
	default:
		return errorf(http.StatusBadRequest, "bad_query", "verdict %q is not one of affirming, warning, contraindicated, none", v)
	}
	// One more than a page tells whether there is a next one.
	ds, err := a.ops.store.ListDevices(r.Context(), store.DeviceFilter{IDPrefix: q.Get("prefix"), Verdict: v, After: q.Get("after"), Limit: limit + 1})
	if err != nil {
		return err
	}
	out := struct {
		Devices []AdminDevice `json:"devices"`
		Next    string        `json:"next,omitempty"`
	}{Devices: []AdminDevice{}}
	if len(ds) > limit {
		ds = ds[:limit]
		out.Next = ds[limit-1].ID
	}
	for _, d := range ds {
		out.Devices = append(out.Devices, adminDevice(d))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *Authority) adminShowDevice(w http.ResponseWriter, r *http.Request, _ string) error {
	limit, err := queryInt(r.URL.Query(), "limit", 50, 1000)
	if err != nil {
		return err
	}
	d, err := a.store.Device(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "unknown_device", "no device %q", r.PathValue("id"))
	} else if err != nil {
		return err
	}
	hist, err := a.store.Checkins(r.Context(), d.ID, limit)
	if err != nil {
		return err
	}
	out := struct {
		Device         AdminDevice      `json:"device"`
		LatestFindings []health.Finding `json:"latest_findings"`
		History        []AdminCheckin   `json:"history"`
	}{Device: adminDevice(d), LatestFindings: []health.Finding{}, History: []AdminCheckin{}}
	for i, c := range hist {
		f := c.Findings
		if f == nil {
			f = []health.Finding{}
		}
		if i == 0 {
			out.LatestFindings = f
		}
		out.History = append(out.History, AdminCheckin{ID: c.ID, ReceivedAt: c.ReceivedAt, Verdict: c.Verdict, PolicyID: c.PolicyID,
			OS: c.OS, OSVersion: c.OSVersion, Agent: c.Agent, SourceIP: c.SourceIP, Findings: f})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *Authority) adminDeleteDevice(w http.ResponseWriter, r *http.Request, actor string) error {
	id := r.PathValue("id")
	a.forgetDevice(id)
	err := a.ops.store.DeleteDevice(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "unknown_device", "no device %q", id)
	} else if err != nil {
		return err
	}
	a.forgetAudiences()
	if a.status != nil {
		// The store set the bits of the device's certificates: serve the
		// lists afresh.
		a.status.cacheMu.Lock()
		clear(a.status.cache)
		a.status.cacheMu.Unlock()
	}
	a.log.Info("device deleted", "device", id, "actor", actor)
	writeJSON(w, http.StatusOK, map[string]string{"deleted": id})
	return nil
}

// adminRevokeDevice revokes a device's live certificates and keeps the
// device: its next check-in gets fresh ones.
func (a *Authority) adminRevokeDevice(w http.ResponseWriter, r *http.Request, actor string) error {
	id := r.PathValue("id")
	if a.status == nil {
		return errorf(http.StatusNotFound, "not_found", "this authority issues certificates without status lists: there is nothing to revoke")
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if body, err := a.readBody(w, r); err != nil {
		return err
	} else if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return err
		}
	}
	if len(req.Reason) > 256 {
		return errorf(http.StatusBadRequest, "bad_reason", "reason is %d bytes; at most 256", len(req.Reason))
	}
	if _, err := a.store.Device(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "unknown_device", "no device %q (a deleted device's certificates were revoked when it was deleted)", id)
	} else if err != nil {
		return err
	}
	reason := req.Reason
	if reason == "" {
		reason = "revoked by an operator"
	}
	n, err := a.Revoke(r.Context(), id, reason+" ("+actor+")")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"device": id, "revoked": n})
	return nil
}

// adminRotateKey adds a new signing key (EdDSA unless the body names
// ES256); the old one stays published until its certificates expire.
func (a *Authority) adminRotateKey(w http.ResponseWriter, r *http.Request, _ string) error {
	var req struct {
		Alg string `json:"alg"`
	}
	if body, err := a.readBody(w, r); err != nil {
		return err
	} else if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return err
		}
	}
	if req.Alg == "" {
		req.Alg = healthcert.EdDSA
	}
	if req.Alg != healthcert.EdDSA && req.Alg != healthcert.ES256 {
		return errorf(http.StatusBadRequest, "bad_alg", "alg %q must be EdDSA or ES256", req.Alg)
	}
	kid, err := a.keys.Rotate(r.Context(), req.Alg)
	if err != nil {
		return fmt.Errorf("rotating the signing key: %w", err)
	}
	a.log.Info("signing key rotated", "kid", kid, "alg", req.Alg)
	writeJSON(w, http.StatusCreated, map[string]string{"kid": kid, "alg": req.Alg})
	return nil
}

// PolicyInfo is the active policy as the admin API shows it.
type PolicyInfo struct {
	ID     string      `json:"id"` // id@version, the certificates' ear.appraisal-policy-id
	Policy policy.File `json:"policy"`
	// Source is "store" for a policy activated in the store, "start" for
	// the one the node started with when none was ever activated.
	Source      string     `json:"source"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	ActivatedBy string     `json:"activated_by,omitempty"`
	Changed     *bool      `json:"changed,omitempty"` // PUT: false when it was active already
}

func (a *Authority) adminPolicy(w http.ResponseWriter, r *http.Request, _ string) error {
	p := a.currentPolicy()
	out := PolicyInfo{ID: p.ID(), Policy: p.File(), Source: "start"}
	if a.pol.store != nil {
		_, act, err := a.pol.store.ActivePolicy(r.Context())
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case act.ID+"@"+strconv.Itoa(act.Version) == p.ID():
			out.Source, out.ActivatedAt, out.ActivatedBy = "store", &act.ActivatedAt, act.Actor
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminSetPolicy validates the policy in the body and makes it the
// active policy of every node.
func (a *Authority) adminSetPolicy(w http.ResponseWriter, r *http.Request, actor string) error {
	body, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	act, changed, err := a.setPolicy(r.Context(), body, actor)
	if err != nil {
		return err
	}
	p := a.currentPolicy()
	writeJSON(w, http.StatusOK, PolicyInfo{ID: p.ID(), Policy: p.File(), Source: "store", ActivatedAt: &act.ActivatedAt, ActivatedBy: act.Actor, Changed: &changed})
	return nil
}

func (a *Authority) adminRetention(w http.ResponseWriter, r *http.Request, _ string) error {
	writeJSON(w, http.StatusOK, a.cfg.Operations.Retention)
	return nil
}

func (a *Authority) adminAudit(w http.ResponseWriter, r *http.Request, _ string) error {
	limit, err := queryInt(r.URL.Query(), "limit", 100, 1000)
	if err != nil {
		return err
	}
	es, err := a.ops.store.AuditLog(r.Context(), limit)
	if err != nil {
		return err
	}
	type entry struct {
		At       time.Time `json:"at"`
		Actor    string    `json:"actor"`
		Action   string    `json:"action"`
		Target   string    `json:"target,omitempty"`
		SourceIP string    `json:"source_ip"`
		Outcome  string    `json:"outcome,omitempty"`
	}
	out := []entry{}
	for _, e := range es {
		out = append(out, entry{e.At, e.Actor, e.Action, e.Target, e.SourceIP, e.Outcome})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}

// RelyingPartyInfo is a relying party without its secret.
type RelyingPartyInfo struct {
	Audience   string    `json:"audience"`
	WebhookURL string    `json:"webhook_url"`
	CreatedAt  time.Time `json:"created_at"`
}

func (a *Authority) adminListRPs(w http.ResponseWriter, r *http.Request, _ string) error {
	rps, err := a.ops.store.RelyingParties(r.Context())
	if err != nil {
		return err
	}
	out := []RelyingPartyInfo{}
	for _, rp := range rps {
		out = append(out, RelyingPartyInfo{rp.Audience, rp.WebhookURL, rp.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"relying_parties": out})
	return nil
}

// NewRelyingParty checks a registration and makes its webhook secret.
func NewRelyingParty(audience, webhookURL string, now time.Time) (store.RelyingParty, error) {
	return newRelyingParty(audience, webhookURL, now, false)
}

// NewRelyingPartyInsecure is NewRelyingParty allowing a plain-http
// webhook to any host (the operator's allow_insecure_webhooks); link-local,
// unspecified and multicast destinations are still refused.
func NewRelyingPartyInsecure(audience, webhookURL string, now time.Time) (store.RelyingParty, error) {
	return newRelyingParty(audience, webhookURL, now, true)
}

func newRelyingParty(audience, webhookURL string, now time.Time, allowInsecure bool) (store.RelyingParty, error) {
	if err := protocol.ValidAudience(audience); err != nil {
		return store.RelyingParty{}, err
	}
	if err := webhook.CheckURL(webhookURL, allowInsecure); err != nil {
		return store.RelyingParty{}, err
	}
	secret, _ := apitoken.New("herd_whsec_")
	return store.RelyingParty{Audience: audience, WebhookURL: webhookURL, Secret: []byte(secret), CreatedAt: now.UTC()}, nil
}

func (a *Authority) adminAddRP(w http.ResponseWriter, r *http.Request, _ string) error {
	body, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Audience   string `json:"audience"`
		WebhookURL string `json:"webhook_url"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	rp, err := newRelyingParty(req.Audience, req.WebhookURL, a.now(), a.cfg.AllowInsecureWebhooks)
	if err != nil {
		return errorf(http.StatusBadRequest, "bad_relying_party", "%v", err)
	}
	stored := rp
	if stored.Secret, err = a.sealer.Seal(store.RelyingPartyAAD(rp.Audience), rp.Secret); err != nil {
		return fmt.Errorf("sealing the webhook secret: %w", err)
	}
	if err := a.ops.store.AddRelyingParty(r.Context(), stored); errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, "exists", "relying party %q is already registered", rp.Audience)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"audience": rp.Audience, "webhook_url": rp.WebhookURL, "webhook_secret": string(rp.Secret)})
	return nil
}

func (a *Authority) adminRemoveRP(w http.ResponseWriter, r *http.Request, _ string) error {
	aud := r.URL.Query().Get("audience")
	if err := a.ops.store.RemoveRelyingParty(r.Context(), aud); errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "not_found", "no relying party %q", aud)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": aud})
	return nil
}

func (a *Authority) adminDeadEvents(w http.ResponseWriter, r *http.Request, _ string) error {
	evs, err := a.ops.store.DeadEvents(r.Context(), 100)
	if err != nil {
		return err
	}
	type dead struct {
		EventID   string          `json:"event_id"`
		Audience  string          `json:"audience"`
		CreatedAt time.Time       `json:"created_at"`
		DeadAt    time.Time       `json:"dead_at"`
		Attempts  int             `json:"attempts"`
		LastError string          `json:"last_error"`
		Event     json.RawMessage `json:"event"`
	}
	out := []dead{}
	for _, e := range evs {
		out = append(out, dead{e.EventID, e.Audience, e.CreatedAt, e.DeadAt, e.Attempts, e.LastError, e.Body})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

func (a *Authority) adminListTokens(w http.ResponseWriter, r *http.Request, _ string) error {
	ts, err := a.ops.store.AdminTokens(r.Context())
	if err != nil {
		return err
	}
	type tok struct {
		Name      string     `json:"name"`
		CreatedAt time.Time  `json:"created_at"`
		RevokedAt *time.Time `json:"revoked_at,omitempty"`
	}
	out := []tok{}
	for _, t := range ts {
		x := tok{Name: t.Name, CreatedAt: t.CreatedAt}
		if !t.RevokedAt.IsZero() {
			x.RevokedAt = &t.RevokedAt
		}
		out = append(out, x)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (a *Authority) adminCreateToken(w http.ResponseWriter, r *http.Request, _ string) error {
	body, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return errorf(http.StatusBadRequest, "bad_name", "name is required")
	}
	tok, hash := apitoken.New(apitoken.AdminPrefix)
	if err := a.ops.store.CreateAdminToken(r.Context(), store.AdminToken{Name: req.Name, Hash: hash, CreatedAt: a.now().UTC()}); errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, "exists", "a token named %q exists", req.Name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"name": req.Name, "token": tok})
	return nil
}

func (a *Authority) adminRevokeToken(w http.ResponseWriter, r *http.Request, _ string) error {
	name := r.PathValue("name")
	if err := a.ops.store.RevokeAdminToken(r.Context(), name, a.now().UTC()); errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "not_found", "no working token named %q", name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"revoked": name})
	return nil
}

func (a *Authority) adminListEnrollmentTokens(w http.ResponseWriter, r *http.Request, _ string) error {
	ts, err := a.ops.store.EnrollmentTokens(r.Context())
	if err != nil {
		return err
	}
	type tok struct {
		Name      string     `json:"name"`
		CreatedAt time.Time  `json:"created_at"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		SingleUse bool       `json:"single_use"`
		Uses      int64      `json:"uses"`
		RevokedAt *time.Time `json:"revoked_at,omitempty"`
	}
	out := []tok{}
	for _, t := range ts {
		x := tok{Name: t.Name, CreatedAt: t.CreatedAt, SingleUse: t.SingleUse, Uses: t.Uses}
		if !t.ExpiresAt.IsZero() {
			x.ExpiresAt = &t.ExpiresAt
		}
		if !t.RevokedAt.IsZero() {
			x.RevokedAt = &t.RevokedAt
		}
		out = append(out, x)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (a *Authority) adminCreateEnrollmentToken(w http.ResponseWriter, r *http.Request, _ string) error {
	body, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Name      string `json:"name"`
		SingleUse bool   `json:"single_use"`
		TTL       string `json:"ttl"` // Go duration; empty: never expires
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return errorf(http.StatusBadRequest, "bad_name", "name is required")
	}
	t := store.EnrollmentToken{Name: req.Name, CreatedAt: a.now().UTC(), SingleUse: req.SingleUse}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			return errorf(http.StatusBadRequest, "bad_ttl", "ttl %q must be a positive duration such as 24h", req.TTL)
		}
		t.ExpiresAt = t.CreatedAt.Add(d)
	}
	tok, hash := apitoken.New(apitoken.EnrollmentPrefix)
	t.Hash = hash
	if err := a.ops.store.CreateEnrollmentToken(r.Context(), t); errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, "exists", "an enrollment token named %q exists", req.Name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"name": req.Name, "token": tok})
	return nil
}

func (a *Authority) adminRevokeEnrollmentToken(w http.ResponseWriter, r *http.Request, _ string) error {
	name := r.PathValue("name")
	if err := a.ops.store.RevokeEnrollmentToken(r.Context(), name, a.now().UTC()); errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "not_found", "no working enrollment token named %q", name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"revoked": name})
	return nil
}
