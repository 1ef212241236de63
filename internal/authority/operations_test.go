package authority_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/ratelimit"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
	"github.com/herd-health/herd/internal/webhook"
)

type opsEnv struct {
	*env
	ops   store.Operations
	token string
}

// newOpsEnv is newEnv with the operator features on and an admin token
// named "alice".
func newOpsEnv(t *testing.T, cfg authority.Config) *opsEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	keys, err := keyring.Open(ctx, st, 4*time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, clock: clk}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	cfg.Issuer = e.srv.URL
	e.auth, err = authority.New(ctx, cfg, authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Now: clk.Now, Operations: st, Status: st, Policies: st})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", e.auth)
	tok, hash := apitoken.New(apitoken.AdminPrefix)
	if err := st.CreateAdminToken(ctx, store.AdminToken{Name: "alice", Hash: hash, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	return &opsEnv{env: e, ops: st, token: tok}
}

// admin calls the admin API and returns the status and raw body.
func (e *opsEnv) admin(method, path, token string, body any) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (e *opsEnv) checkin(d device, statuses map[health.CheckID]health.Status, auds ...string) protocol.CheckinResponse {
	e.t.Helper()
	var resp protocol.CheckinResponse
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(e.t, d, e.statement(d, e.nonce(), statuses, auds...)), &resp); code != 200 {
		e.t.Fatalf("checkin: %d %v", code, perr)
	}
	return resp
}

var malwareFail = map[health.CheckID]health.Status{health.Firewall: health.Pass, health.Malware: health.Fail}

// TestEveryAdminRouteIsAudited walks the one table admin routes are
// registered from: each answers only with a token, and each call with a
// token leaves an audit record naming the token, the action and the target.
func TestEveryAdminRouteIsAudited(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	d := e.enroll()
	e.checkin(d, healthy, "https://bank.example")
	e.ops.AddRelyingParty(context.Background(), store.RelyingParty{Audience: "https://gone.example", WebhookURL: "https://gone.example/h", Secret: []byte("k"), CreatedAt: e.clock.Now()})
	e.ops.CreateAdminToken(context.Background(), store.AdminToken{Name: "bob", Hash: apitoken.Hash("bob-token"), CreatedAt: e.clock.Now()})
	e.ops.CreateEnrollmentToken(context.Background(), store.EnrollmentToken{Name: "fleet", Hash: apitoken.Hash("fleet-token"), CreatedAt: e.clock.Now()})
	fill := strings.NewReplacer("{id}", d.id, "{name}", "")
	bodies := map[string]any{
		"relying_party.add":       map[string]string{"audience": "https://new.example", "webhook_url": "https://new.example/hook"},
		"admin_token.create":      map[string]string{"name": "carol"},
		"enrollment_token.create": map[string]any{"name": "lab", "single_use": true, "ttl": "24h"},
		"key.rotate":              map[string]string{"alg": "ES256"},
		"device.revoke":           map[string]string{"reason": "stolen laptop"},
		"policy.set":              policyVersion(t, 2, ""),
	}
	targets := map[string]string{
		"device.show": d.id, "device.delete": d.id, "device.revoke": d.id, "key.rotate": "ES256", "policy.set": "herd-default@2",
		"relying_party.remove": "https://gone.example",
		"admin_token.revoke":   "bob", "enrollment_token.revoke": "fleet",
		// Creates name what they made, never its secret.
		"relying_party.add": "https://new.example", "admin_token.create": "carol", "enrollment_token.create": "lab",
	}
	huge := map[string]string{"name": strings.Repeat("x", 3<<20)}
	// failures are calls each route answers with an error; the record
	// holds the status written and the target.
	type failure struct {
		name, path string
		body       any
		status     int
		target     string
	}
	failures := map[string][]failure{
		"device.list":   {{"bad limit", "/v1/admin/devices?limit=x", nil, 400, ""}},
		"device.show":   {{"unknown", "/v1/admin/devices/nope", nil, 404, "nope"}},
		"device.delete": {{"unknown", "/v1/admin/devices/nope", nil, 404, "nope"}},
		"audit.list":    {{"bad limit", "/v1/admin/audit?limit=0", nil, 400, ""}},
		"relying_party.add": {
			{"bad webhook", "", map[string]string{"audience": "https://bad.example", "webhook_url": "ftp://bad.example"}, 400, "https://bad.example"},
			{"3 MB body", "", huge, 413, ""},
		},
		"relying_party.remove": {{"unknown", "/v1/admin/relying-parties?audience=https://none.example", nil, 404, "https://none.example"}},
		"admin_token.create": {
			{"taken name", "", map[string]string{"name": "alice"}, 409, "alice"},
			{"3 MB body", "", huge, 413, ""},
		},
		"admin_token.revoke": {{"unknown", "/v1/admin/tokens/nope", nil, 404, "nope"}},
		"enrollment_token.create": {
			{"bad ttl", "", map[string]string{"name": "x", "ttl": "soon"}, 400, "x"},
			{"3 MB body", "", huge, 413, ""},
		},
		"enrollment_token.revoke": {{"unknown", "/v1/admin/enrollment-tokens/nope", nil, 404, "nope"}},
		"device.revoke": {
			{"unknown", "/v1/admin/devices/nope/revoke", nil, 404, "nope"},
			{"bad body", "", []string{"x"}, 400, d.id},
		},
		"key.rotate": {{"bad alg", "", map[string]string{"alg": "RS256"}, 400, "RS256"}},
		"policy.set": {
			{"CEL error", "", policyVersion(t, 3, "checks.exists(c, c.id == )"), 400, "herd-default@3"},
			{"other rules under a stored version", "", policyVersion(t, 2, "false"), 409, "herd-default@2"},
		},
	}
	routes := authority.AdminRoutes()
	if len(routes) < 16 {
		t.Fatalf("only %d admin routes", len(routes))
	}
	// Reads first, the device's deletion last, so every route finds
	// what it acts on.
	var ordered []authority.AdminRoute
	var last authority.AdminRoute
	for _, rt := range routes {
		if rt.Action == "device.delete" {
			last = rt
			continue
		}
		ordered = append(ordered, rt)
	}
	ordered = append(ordered, last)
	for _, rt := range ordered {
		t.Run(rt.Action, func(t *testing.T) {
			path := fill.Replace(rt.Path)
			if rt.Action == "admin_token.revoke" || rt.Action == "enrollment_token.revoke" {
				path = strings.Replace(rt.Path, "{name}", targets[rt.Action], 1)
			}
			if rt.Action == "relying_party.remove" {
				path += "?audience=https://gone.example"
			}
			before, _ := e.ops.AuditLog(context.Background(), 1000)
			if code, b, _ := e.admin(rt.Method, path, "", bodies[rt.Action]); code != http.StatusUnauthorized {
				t.Errorf("without a token: %d %s, want 401", code, b)
			}
			if code, b, _ := e.admin(rt.Method, path, "herd_admin_wrong", bodies[rt.Action]); code != http.StatusUnauthorized {
				t.Errorf("with a wrong token: %d %s, want 401", code, b)
			}
			if after, _ := e.ops.AuditLog(context.Background(), 1000); len(after) != len(before) {
				t.Errorf("unauthenticated calls wrote %d audit records", len(after)-len(before))
			}
			code, b, _ := e.admin(rt.Method, path, e.token, bodies[rt.Action])
			if code/100 != 2 {
				t.Fatalf("%s %s = %d %s", rt.Method, path, code, b)
			}
			after, _ := e.ops.AuditLog(context.Background(), 1000)
			if len(after) != len(before)+1 {
				t.Fatalf("%d audit records written, want 1", len(after)-len(before))
			}
			got := after[0]
			if got.Actor != "alice" || got.Action != rt.Action || got.SourceIP != "127.0.0.1" || got.At.IsZero() {
				t.Errorf("audit record = %+v, want alice %s from 127.0.0.1", got, rt.Action)
			}
			if want := targets[rt.Action]; got.Target != want {
				t.Errorf("audit target = %q, want %q", got.Target, want)
			}
			if got.Outcome != strconv.Itoa(code) {
				t.Errorf("audit outcome = %q, want %d", got.Outcome, code)
			}
			if strings.Contains(got.Target, "herd_") {
				t.Errorf("audit target %q holds a secret", got.Target)
			}
			for _, f := range failures[rt.Action] {
				p := f.path
				if p == "" {
					p = path
				}
				code, b, _ := e.admin(rt.Method, p, e.token, f.body)
				if code != f.status {
					t.Errorf("%s: %d %.200s, want %d", f.name, code, b, f.status)
				}
				got, _ := e.ops.AuditLog(context.Background(), 1)
				if len(got) != 1 || got[0].Action != rt.Action || got[0].Outcome != strconv.Itoa(f.status) || got[0].Target != f.target {
					t.Errorf("%s: audit record %+v, want %s, outcome %d, target %q", f.name, got, rt.Action, f.status, f.target)
				}
			}
		})
	}
}

func TestAdminTokenRevoked(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	if code, _, _ := e.admin("GET", "/v1/admin/policy", e.token, nil); code != 200 {
		t.Fatalf("policy = %d", code)
	}
	if code, _, _ := e.admin("DELETE", "/v1/admin/tokens/alice", e.token, nil); code != 200 {
		t.Fatalf("revoke = %d", code)
	}
	if code, _, _ := e.admin("GET", "/v1/admin/policy", e.token, nil); code != 401 {
		t.Errorf("revoked token: %d, want 401", code)
	}
}

func TestAdminDisabledWithoutOperationsStore(t *testing.T) {
	e := newEnv(t, authority.Config{})
	resp, err := http.Get(e.srv.URL + "/v1/admin/devices")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("admin API without an operations store: %d, want 404", resp.StatusCode)
	}
}

func TestAdminDevices(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	var devs []device
	for range 5 {
		devs = append(devs, e.enroll())
	}
	e.checkin(devs[0], malwareFail)
	e.checkin(devs[1], healthy)
	e.checkin(devs[1], malwareFail)

	type list struct {
		Devices []authority.AdminDevice `json:"devices"`
		Next    string                  `json:"next"`
	}
	get := func(q string) list {
		t.Helper()
		code, b, _ := e.admin("GET", "/v1/admin/devices"+q, e.token, nil)
		if code != 200 {
			t.Fatalf("list %s: %d %s", q, code, b)
		}
		var l list
		json.Unmarshal(b, &l)
		return l
	}
	var all []string
	for cursor := ""; ; {
		l := get("?limit=2&after=" + cursor)
		for _, d := range l.Devices {
			all = append(all, d.ID)
		}
		if l.Next == "" {
			break
		}
		cursor = l.Next
	}
	if len(all) != 5 {
		t.Errorf("paging found %d devices, want 5: %v", len(all), all)
	}
	bad := get("?verdict=contraindicated")
	if len(bad.Devices) != 2 || bad.Devices[0].LastVerdict != health.Contraindicated {
		t.Errorf("contraindicated devices = %+v, want 2", bad.Devices)
	}
	if p := get("?prefix=" + devs[2].id[:10]); len(p.Devices) != 1 || p.Devices[0].ID != devs[2].id {
		t.Errorf("prefix search = %+v", p.Devices)
	}
	if code, b, _ := e.admin("GET", "/v1/admin/devices?verdict=sick", e.token, nil); code != 400 {
		t.Errorf("bad verdict: %d %s", code, b)
	}

	code, b, _ := e.admin("GET", "/v1/admin/devices/"+devs[1].id, e.token, nil)
	var show struct {
		Device         authority.AdminDevice    `json:"device"`
		LatestFindings []health.Finding         `json:"latest_findings"`
		History        []authority.AdminCheckin `json:"history"`
	}
	json.Unmarshal(b, &show)
	if code != 200 || len(show.History) != 2 || show.History[0].Verdict != health.Contraindicated || show.History[1].Verdict != health.Affirming ||
		show.History[0].SourceIP != "127.0.0.1" || show.Device.LastVerdict != health.Contraindicated {
		t.Fatalf("show = %d %s", code, b)
	}
	found := false
	for _, f := range show.LatestFindings {
		found = found || (f.ID == health.Malware && f.Status == health.Fail)
	}
	if !found {
		t.Errorf("latest findings %+v lack the malware failure", show.LatestFindings)
	}

	if code, b, _ := e.admin("DELETE", "/v1/admin/devices/"+devs[1].id, e.token, nil); code != 200 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if code, _, _ := e.admin("GET", "/v1/admin/devices/"+devs[1].id, e.token, nil); code != 404 {
		t.Errorf("deleted device still shown: %d", code)
	}
	if code, _, _ := e.admin("DELETE", "/v1/admin/devices/"+devs[1].id, e.token, nil); code != 404 {
		t.Errorf("second delete: %d, want 404", code)
	}
	// The deleted device can no longer check in.
	code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(t, devs[1], e.statement(devs[1], e.nonce(), healthy)), nil)
	if code != 401 || perr.Code != "unknown_device" {
		t.Errorf("check-in of a deleted device: %d %v", code, perr)
	}
}

func TestWebhookEventQueuedWhenDeviceTurnsContraindicated(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	ctx := context.Background()
	code, b, _ := e.admin("POST", "/v1/admin/relying-parties", e.token, map[string]string{"audience": "https://bank.example", "webhook_url": "https://bank.example/hook"})
	if code != 201 || !strings.Contains(string(b), `"webhook_secret":"herd_whsec_`) {
		t.Fatalf("add relying party: %d %s", code, b)
	}
	e.admin("POST", "/v1/admin/relying-parties", e.token, map[string]string{"audience": "https://shop.example", "webhook_url": "https://shop.example/hook"})
	if code, b, _ := e.admin("GET", "/v1/admin/relying-parties", e.token, nil); code != 200 || strings.Contains(string(b), "whsec") {
		t.Errorf("listing shows secrets: %s", b)
	}
	seen, unseen := e.enroll(), e.enroll()
	e.checkin(seen, healthy, "https://bank.example", "https://unregistered.example")
	e.checkin(unseen, healthy)

	e.checkin(seen, malwareFail) // turns contraindicated: one event, to the bank only
	e.checkin(seen, malwareFail) // stays contraindicated: none
	e.checkin(unseen, malwareFail)
	evs, err := e.ops.ClaimEvents(ctx, e.clock.Now().Add(time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Audience != "https://bank.example" {
		t.Fatalf("queued events = %+v, want one for the bank", evs)
	}
	var ev webhook.Event
	if err := json.Unmarshal(evs[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "device.contraindicated" || ev.Audience != "https://bank.example" || ev.ID != evs[0].EventID ||
		ev.Subject != e.auth.PairwiseSubject(seen.id, "https://bank.example") || ev.Time.IsZero() {
		t.Errorf("event = %+v", ev)
	}
	if len(ev.Findings) == 0 {
		t.Errorf("event has no findings")
	}
	if s := string(evs[0].Body); strings.Contains(s, seen.id) || strings.Contains(s, "127.0.0.1") {
		t.Errorf("event leaks the device id or address: %s", s)
	}
	// Healthy again, then malwareFail again: a new event.
	e.checkin(seen, healthy)
	e.checkin(seen, malwareFail)
	if evs, _ := e.ops.ClaimEvents(ctx, e.clock.Now().Add(time.Minute), time.Minute, 10); len(evs) != 1 {
		t.Errorf("second turn queued %d events, want 1", len(evs))
	}
}

func TestRateLimits(t *testing.T) {
	cfg := authority.Config{Operations: authority.OperationsConfig{
		TrustedNetworks: []string{}, // loopback is not exempt here
		RateLimits: authority.RateLimits{
			Challenge:        ratelimit.Limit{PerSecond: 0.5, Burst: 3},
			CheckinPerDevice: ratelimit.Limit{PerSecond: 1.0 / 60, Burst: 1},
		},
	}}
	e := newOpsEnv(t, cfg)
	for i := range 3 {
		if code, _ := e.post(protocol.PathChallenge, "", nil, nil); code != 200 {
			t.Fatalf("challenge %d: %d", i, code)
		}
	}
	resp, err := http.Post(e.srv.URL+protocol.PathChallenge, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(string(b), `"code":"rate_limited"`) {
		t.Errorf("4th challenge: %d Retry-After %q %s; want 429, 2", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	e.clock.Add(2 * time.Second)
	if code, _ := e.post(protocol.PathChallenge, "", nil, nil); code != 200 {
		t.Errorf("after Retry-After: %d", code)
	}

	// Per device: one check-in, then 429 for a minute.
	e.clock.Add(time.Hour)
	d := e.enroll()
	e.clock.Add(time.Hour)
	e.checkin(d, healthy)
	e.clock.Add(time.Hour)
	n := e.nonce()
	e.clock.Add(-time.Hour + 10*time.Second)
	req, _ := http.NewRequest("POST", e.srv.URL+protocol.PathCheckin, bytes.NewReader(sign(t, d, e.statement(d, n, healthy))))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || ra < 45 || ra > 50 {
		t.Errorf("second check-in within a minute: %d Retry-After %q; want 429, 50", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// The same limits with the default trusted networks exempt loopback.
	cfg.Operations.TrustedNetworks = nil
	x := newOpsEnv(t, cfg)
	for i := range 20 {
		if code, _ := x.post(protocol.PathChallenge, "", nil, nil); code != 200 {
			t.Fatalf("trusted challenge %d: %d", i, code)
		}
	}
	dx := x.enroll()
	for range 3 {
		x.checkin(dx, healthy)
	}
}

func TestEnrollmentModes(t *testing.T) {
	e := newOpsEnv(t, authority.Config{Operations: authority.OperationsConfig{EnrollmentMode: "token"}})
	enroll := func(token string) (int, string) {
		t.Helper()
		req := enrollRequest(t, e.env, token)
		code, perr := e.post(protocol.PathEnroll, "application/json", req, nil)
		return code, perr.Code
	}
	if code, c := enroll(""); code != 403 || c != "enrollment_token" {
		t.Errorf("no token: %d %s", code, c)
	}
	mk := func(single bool, ttl string) string {
		code, b, _ := e.admin("POST", "/v1/admin/enrollment-tokens", e.token, map[string]any{"name": "t" + strconv.FormatBool(single) + ttl, "single_use": single, "ttl": ttl})
		var r struct{ Token string }
		json.Unmarshal(b, &r)
		if code != 201 || !strings.HasPrefix(r.Token, "herd_enroll_") {
			t.Fatalf("create: %d %s", code, b)
		}
		return r.Token
	}
	reusable, once, hour := mk(false, ""), mk(true, ""), mk(false, "1h")
	tests := []struct {
		name, token string
		want        int
	}{
		{"reusable", reusable, 201},
		{"reusable again", reusable, 201},
		{"single use", once, 201},
		{"single use again", once, 403},
		{"expiring", hour, 201},
		{"wrong", "herd_enroll_guess", 403},
	}
	for _, tc := range tests {
		if code, c := enroll(tc.token); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, c, tc.want)
		}
	}
	e.clock.Add(2 * time.Hour)
	if code, _ := enroll(hour); code != 403 {
		t.Errorf("expired token: %d, want 403", code)
	}
	e.admin("DELETE", "/v1/admin/enrollment-tokens/tfalse", e.token, nil)
	if code, _ := enroll(reusable); code != 403 {
		t.Errorf("revoked token: %d, want 403", code)
	}
	// Open mode needs no token.
	o := newOpsEnv(t, authority.Config{})
	if code, _ := o.post(protocol.PathEnroll, "application/json", enrollRequest(t, o.env, ""), nil); code != 201 {
		t.Errorf("open enrollment: %d", code)
	}
	// The configured token still works in token mode.
	c := newOpsEnv(t, authority.Config{EnrollmentToken: "fleet-secret"})
	if code, _ := c.post(protocol.PathEnroll, "application/json", enrollRequest(t, c.env, "fleet-secret"), nil); code != 201 {
		t.Errorf("configured token: %d", code)
	}
}

func enrollRequest(t *testing.T, e *env, token string) []byte {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	n := e.nonce()
	pk := base64.RawURLEncoding.EncodeToString(pub)
	b, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n, Token: token,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	return b
}

func TestMetrics(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	d := e.enroll()
	e.checkin(d, healthy)
	e.checkin(d, malwareFail)
	e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, []byte("garbage"), nil)
	if code, _, _ := e.admin("GET", "/metrics", "", nil); code != 401 {
		t.Errorf("metrics without a token: %d, want 401", code)
	}
	code, b, _ := e.admin("GET", "/metrics", e.token, nil)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`herd_checkins_total{verdict="affirming"} 1`,
		`herd_checkins_total{verdict="contraindicated"} 1`,
		`herd_rejections_total{code="malformed_statement"} 1`,
		`herd_request_duration_seconds_count{method="POST",route="POST /v1/checkin"} 3`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(b), d.id) {
		t.Errorf("metrics contain a device id")
	}
	o := newOpsEnv(t, authority.Config{Operations: authority.OperationsConfig{MetricsFromLoopback: true}})
	if code, _, _ := o.admin("GET", "/metrics", "", nil); code != 200 {
		t.Errorf("metrics from loopback when allowed: %d", code)
	}
}

// policyVersion is the default policy as version v, its contraindicated
// rule replaced by when unless when is empty.
func policyVersion(t *testing.T, v int, when string) map[string]any {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(policy.DefaultJSON(), &f); err != nil {
		t.Fatal(err)
	}
	f["version"] = v
	if when != "" {
		for _, r := range f["tiers"].([]any) {
			if m := r.(map[string]any); m["tier"] == "contraindicated" {
				m["when"] = when
			}
		}
	}
	return f
}
