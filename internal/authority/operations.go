package authority

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/ratelimit"
	"github.com/herd-health/herd/internal/retention"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/webhook"
)

// OperationsConfig configures what operators run the authority with:
// rate limits, enrollment, metrics access, and the retention settings
// the admin API shows. Zero values mean the documented defaults.
type OperationsConfig struct {
	// RateLimits are per source address and per device; see RateLimits.
	RateLimits RateLimits `json:"rate_limits"`
	// TrustedNetworks are CIDRs whose requests are never rate-limited.
	// Nil means loopback only ("127.0.0.0/8", "::1/128"), so a load
	// generator on the same machine is not limited; an empty, non-nil
	// list exempts nobody.
	TrustedNetworks []string `json:"trusted_networks"`
	// EnrollmentMode is "open" (default: anyone may enroll, rate-limited)
	// or "token" (an enrollment token is required; see
	// `herd admin enrollment-token create`).
	EnrollmentMode string `json:"enrollment_mode"`
	// MetricsFromLoopback lets /metrics be read from loopback without an
	// admin token (for a Prometheus on the same host). Otherwise /metrics
	// needs an admin token like the admin API.
	MetricsFromLoopback bool `json:"metrics_from_loopback"`
	// Retention is shown by the admin API; the job itself runs in the node.
	Retention retention.Config `json:"retention"`
}

// RateLimits are token buckets kept in memory on each node: with n nodes
// behind a balancer a client may get up to n times these rates.
type RateLimits struct {
	// Off turns rate limiting off.
	Off bool `json:"off"`
	// Enroll, Challenge and Checkin limit each source address (defaults:
	// 1/s burst 20; 20/s burst 100; 20/s burst 100 — generous, since many
	// devices can share an address behind NAT).
	Enroll    ratelimit.Limit `json:"enroll"`
	Challenge ratelimit.Limit `json:"challenge"`
	Checkin   ratelimit.Limit `json:"checkin"`
	// CheckinPerDevice limits each device (default 1/min, burst 10;
	// devices check in hourly).
	CheckinPerDevice ratelimit.Limit `json:"checkin_per_device"`
}

func (c *OperationsConfig) setDefaults() {
	def := func(l *ratelimit.Limit, per float64, burst int) {
		if l.PerSecond == 0 && l.Burst == 0 {
			*l = ratelimit.Limit{PerSecond: per, Burst: burst}
		}
	}
	def(&c.RateLimits.Enroll, 1, 20)
	def(&c.RateLimits.Challenge, 20, 100)
	def(&c.RateLimits.Checkin, 20, 100)
	def(&c.RateLimits.CheckinPerDevice, 1.0/60, 10)
	if c.TrustedNetworks == nil {
		c.TrustedNetworks = []string{"127.0.0.0/8", "::1/128"}
	}
	if c.EnrollmentMode == "" {
		c.EnrollmentMode = "open"
	}
	c.Retention = c.Retention.Normalized()
}

// Validate reports the first thing wrong.
func (c *OperationsConfig) Validate() error {
	if c.EnrollmentMode != "open" && c.EnrollmentMode != "token" {
		return fmt.Errorf("enrollment mode %q must be open or token", c.EnrollmentMode)
	}
	for _, n := range c.TrustedNetworks {
		if _, _, err := net.ParseCIDR(n); err != nil {
			return fmt.Errorf("trusted network %q is not a CIDR", n)
		}
	}
	if !c.RateLimits.Off {
		for _, l := range []struct {
			name string
			l    ratelimit.Limit
		}{{"enroll", c.RateLimits.Enroll}, {"challenge", c.RateLimits.Challenge}, {"checkin", c.RateLimits.Checkin}, {"checkin_per_device", c.RateLimits.CheckinPerDevice}} {
			if err := checkLimit(l.l); err != nil {
				return fmt.Errorf("rate_limits.%s: %w", l.name, err)
			}
		}
	}
	return c.Retention.Validate()
}

// checkLimit refuses a limit that would not do what it seems to say: a
// rate without a burst (1 request at a time, at most) and a burst with
// no rate (blocked for good once it is spent). A limit left out (both
// zero) takes its default.
func checkLimit(l ratelimit.Limit) error {
	switch {
	case l.PerSecond < 0 || l.Burst < 0 || math.IsNaN(l.PerSecond):
		return fmt.Errorf("per_second %v and burst %d must not be negative", l.PerSecond, l.Burst)
	case l.PerSecond == 0:
		return fmt.Errorf("per_second is 0, which would refuse every request once the burst of %d is spent; give a positive rate (rate_limits.off turns all limits off)", l.Burst)
	case l.Burst < 1:
		return fmt.Errorf("burst is missing or 0; give how many requests may come at once (at least 1) beside per_second %v", l.PerSecond)
	}
	return nil
}

// operations is the authority's operator state.
type operations struct {
	store                              store.Operations // nil: no admin API, webhooks or stored enrollment tokens
	trusted                            []*net.IPNet
	enroll, challenge, checkin, device *ratelimit.Limiter

	// seen caches (device, audience) pairs already recorded, so a
	// check-in writes them once per node.
	seen  sync.Map
	nseen atomic.Int64

	reg       *prometheus.Registry
	checkins  *prometheus.CounterVec
	rejects   *prometheus.CounterVec
	webhooks  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	limited   *prometheus.CounterVec
	eventsOut prometheus.Counter
}

func (a *Authority) initOperations(ops store.Operations) error {
	c := &a.cfg.Operations
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return err
	}
	o := &operations{store: ops, reg: prometheus.NewRegistry()}
	for _, n := range c.TrustedNetworks {
		_, ipn, _ := net.ParseCIDR(n)
		o.trusted = append(o.trusted, ipn)
	}
	lim := func(l ratelimit.Limit) *ratelimit.Limiter {
		if c.RateLimits.Off {
			return ratelimit.New(ratelimit.Inf)
		}
		return ratelimit.New(l)
	}
	o.enroll, o.challenge, o.checkin, o.device = lim(c.RateLimits.Enroll), lim(c.RateLimits.Challenge), lim(c.RateLimits.Checkin), lim(c.RateLimits.CheckinPerDevice)

	o.checkins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herd_checkins_total", Help: "Accepted check-ins by verdict."}, []string{"verdict"})
	o.rejects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herd_rejections_total", Help: "Rejected requests by error code."}, []string{"code"})
	o.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herd_webhook_deliveries_total", Help: "Webhook delivery attempts by outcome (delivered, failed, dead)."}, []string{"outcome"})
	o.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "herd_request_duration_seconds", Help: "Request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route", "method"})
	o.limited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herd_rate_limited_total", Help: "Requests refused by a rate limit, by limit."}, []string{"limit"})
	o.eventsOut = prometheus.NewCounter(prometheus.CounterOpts{Name: "herd_webhook_events_queued_total", Help: "Webhook events written to the outbox."})
	o.reg.MustRegister(o.checkins, o.rejects, o.webhooks, o.latency, o.limited, o.eventsOut,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	a.ops = o
	return nil
}

// ObserveWebhook counts a webhook delivery outcome; give it to the
// dispatcher's Observe.
func (a *Authority) ObserveWebhook(outcome string) { a.ops.webhooks.WithLabelValues(outcome).Inc() }

func (a *Authority) trusted(ip string) bool {
	p := net.ParseIP(ip)
	if p == nil {
		return false
	}
	for _, n := range a.ops.trusted {
		if n.Contains(p) {
			return true
		}
	}
	return false
}

// limitedPaths maps rate-limited endpoints to their per-address limiter.
func (a *Authority) addressLimiter(r *http.Request) (*ratelimit.Limiter, string) {
	if r.Method != http.MethodPost {
		return nil, ""
	}
	switch r.URL.Path {
	case protocol.PathEnroll:
		return a.ops.enroll, "enroll"
	case protocol.PathChallenge:
		return a.ops.challenge, "challenge"
	case protocol.PathCheckin:
		return a.ops.checkin, "checkin"
	}
	return nil, ""
}

func tooMany(w http.ResponseWriter, wait time.Duration, what string) {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	writeJSON(w, http.StatusTooManyRequests, protocol.Error{
		Error: fmt.Sprintf("too many %s requests; try again in %d seconds", what, max(secs, 1)),
		Code:  "rate_limited",
	})
}

// serveOperations wraps every request: per-address rate limits and the
// latency histogram.
func (a *Authority) serveOperations(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if l, what := a.addressLimiter(r); l != nil {
		if ip := clientIP(r); !a.trusted(ip) {
			if ok, wait := l.Allow(addressKey(ip), a.now()); !ok {
				a.ops.limited.WithLabelValues(what + "_per_address").Inc()
				a.ops.rejects.WithLabelValues("rate_limited").Inc()
				tooMany(w, wait, what)
				return
			}
		}
	}
	a.mux.ServeHTTP(w, r)
	route := r.Pattern // set by the mux: bounded, never a device id
	if route == "" || route == "/" {
		route = "other"
	}
	a.ops.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
}

// addressKey is the bucket of a client address: an IPv4 address on its
// own, an IPv6 address by its /64 (one subscriber's prefix: a host picks
// any address in it at will).
func addressKey(ip string) string {
	a := net.ParseIP(ip)
	if a == nil || a.To4() != nil {
		return ip
	}
	return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// limitDevice applies the per-device check-in limit.
func (a *Authority) limitDevice(w http.ResponseWriter, r *http.Request, deviceID string) error {
	if a.trusted(clientIP(r)) {
		return nil
	}
	if ok, wait := a.ops.device.Allow(deviceID, a.now()); !ok {
		a.ops.limited.WithLabelValues("checkin_per_device").Inc()
		secs := max(int(math.Ceil(wait.Seconds())), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		return errorf(http.StatusTooManyRequests, "rate_limited", "this device checks in too often; try again in %d seconds", secs)
	}
	return nil
}

// rejected counts an error answer by its code.
func (a *Authority) rejected(code string) {
	if a.ops != nil {
		a.ops.rejects.WithLabelValues(code).Inc()
	}
}

// checkEnrollment enforces the enrollment mode: in token mode the request
// must carry the configured token or a stored one (which this counts as
// used). It runs after the proof of possession, so a bad request does not
// use up a single-use token.
func (a *Authority) checkEnrollment(ctx context.Context, token string) error {
	if a.cfg.EnrollmentToken == "" && a.cfg.Operations.EnrollmentMode != "token" {
		return nil
	}
	if a.cfg.EnrollmentToken != "" && constantTimeEqual(token, a.cfg.EnrollmentToken) {
		return nil
	}
	if a.ops.store != nil && token != "" {
		name, err := a.ops.store.UseEnrollmentToken(ctx, apitoken.Hash(token), a.now())
		if err == nil {
			a.log.Info("enrollment token used", "token_name", name)
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("checking the enrollment token: %w", err)
		}
	}
	if token == "" {
		return errorf(http.StatusForbidden, "enrollment_token", "this authority requires an enrollment token and none was given; ask the fleet's operator for one")
	}
	return errorf(http.StatusForbidden, "enrollment_token", "this authority needs a valid enrollment token (unknown, revoked, expired or already used); ask the fleet's operator for one")
}

// checkinEvents are the webhook events of a check-in that turns the
// device contraindicated: one for every registered relying party that has
// seen it. They are queued in the check-in's own transaction, and only if
// the device's verdict before it (read in that transaction) was not
// already contraindicated.
func (a *Authority) checkinEvents(ctx context.Context, dev store.Device, ap policy.Appraisal, now time.Time) ([]store.OutboxEvent, error) {
	if a.ops.store == nil || ap.Tier != health.Contraindicated {
		return nil, nil
	}
	rps, err := a.ops.store.RelyingPartiesOf(ctx, dev.ID)
	if err != nil || len(rps) == 0 {
		return nil, err
	}
	findings := ap.Findings
	if findings == nil {
		findings = []health.Finding{}
	}
	evs := make([]store.OutboxEvent, 0, len(rps))
	for _, rp := range rps {
		ev := webhook.Event{
			Type:     webhook.TypeContraindicated,
			ID:       randomID(16),
			Time:     now.UTC().Truncate(time.Second),
			Audience: rp.Audience,
			Subject:  a.PairwiseSubject(dev.ID, rp.Audience),
			Findings: findings,
		}
		body, err := jsonBytes(ev)
		if err != nil {
			return nil, err
		}
		evs = append(evs, store.OutboxEvent{EventID: ev.ID, Audience: rp.Audience, Body: body, CreatedAt: now.UTC()})
	}
	return evs, nil
}

// afterCheckin runs once a check-in is committed, before it is
// acknowledged: it counts it and its webhook events.
func (a *Authority) afterCheckin(ap policy.Appraisal, events int) {
	a.ops.checkins.WithLabelValues(string(ap.Tier)).Inc()
	if events > 0 {
		a.ops.eventsOut.Add(float64(events))
		a.log.Info("device contraindicated; webhook events queued with the check-in if its verdict changed", "events", events)
	}
}

// noteAudiences records which audiences the device uses (once per node),
// before its check-in is recorded, so relying parties it asks for now
// are told if this very check-in turns it contraindicated. before runs
// first when there is something to record.
func (a *Authority) noteAudiences(ctx context.Context, dev store.Device, audiences []string, now time.Time, before func() error) error {
	if a.ops.store == nil {
		return nil
	}
	var fresh []string
	for _, aud := range audiences {
		k := dev.ID + "\x00" + aud
		if _, ok := a.ops.seen.Load(k); !ok {
			fresh = append(fresh, aud)
		}
	}
	if len(fresh) > 0 {
		if err := before(); err != nil {
			return err
		}
		if err := a.ops.store.RecordAudiences(ctx, dev.ID, fresh, now); err != nil {
			return err
		}
		if a.ops.nseen.Add(int64(len(fresh))) > 1<<20 {
			a.forgetAudiences()
		}
		for _, aud := range fresh {
			a.ops.seen.Store(dev.ID+"\x00"+aud, struct{}{})
		}
	}
	return nil
}

func (a *Authority) forgetAudiences() {
	a.ops.seen.Clear()
	a.ops.nseen.Store(0)
}

// handleMetrics serves Prometheus metrics to an admin token holder, or to
// loopback when MetricsFromLoopback is set.
func (a *Authority) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	ip := net.ParseIP(clientIP(r))
	if !(a.cfg.Operations.MetricsFromLoopback && ip != nil && ip.IsLoopback()) {
		if _, err := a.authenticate(r); err != nil {
			return err
		}
	}
	promhttp.HandlerFor(a.ops.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

func (a *Authority) routesOperations(m *http.ServeMux) {
	m.HandleFunc("GET /metrics", a.serve(a.handleMetrics))
	for _, rt := range adminRoutes {
		m.HandleFunc(rt.Method+" "+rt.Path, a.serve(a.admin(rt)))
	}
}

// bearer extracts a bearer token.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate returns the name of the admin token the request carries.
func (a *Authority) authenticate(r *http.Request) (string, error) {
	if a.ops.store == nil {
		return "", errorf(http.StatusNotFound, "not_found", "the admin API is not enabled on this authority")
	}
	tok := bearer(r)
	if tok == "" {
		return "", errorf(http.StatusUnauthorized, "unauthenticated", "send an admin API token: Authorization: Bearer <token> (create one with herd admin token create)")
	}
	h := apitoken.Hash(tok)
	t, err := a.ops.store.AdminTokenByHash(r.Context(), h)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!apitoken.Equal(t.Hash, h) || !t.RevokedAt.IsZero())) {
		return "", errorf(http.StatusUnauthorized, "unauthenticated", "the admin API token is unknown or revoked")
	}
	if err != nil {
		return "", fmt.Errorf("checking an admin token: %w", err)
	}
	return t.Name, nil
}
