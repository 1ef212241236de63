// Package webhook delivers events to relying parties from the durable
// outbox: at least once, signed, with exponential backoff and jitter, and
// given up (dead-lettered) after a configured number of attempts.
//
// Every node runs a Dispatcher. It claims due events with a lease (on
// PostgreSQL with FOR UPDATE SKIP LOCKED, so nodes never wait on each
// other), POSTs each to the relying party's webhook URL, and deletes it
// on a 2xx answer. A node killed mid-delivery leaves its events leased;
// they fall due again when the lease ends, so an event can arrive twice
// but never not at all. Receivers should ignore an event id seen before.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// SignatureHeader is the header the signature travels in; see
// verify.WebhookSignature for its format.
const SignatureHeader = "Herd-Signature"

// TypeContraindicated is the event sent when a device turns contraindicated.
const TypeContraindicated = "device.contraindicated"

// Event is a webhook event body. It names the device only by its pairwise
// subject at the receiving audience: never its id, never an address.
type Event struct {
	Type     string           `json:"type"`
	ID       string           `json:"id"`
	Time     time.Time        `json:"time"`
	Audience string           `json:"audience"`
	Subject  string           `json:"sub"`
	Findings []health.Finding `json:"findings"`
}

// Sign returns the Herd-Signature header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Config tunes delivery. Zero values mean the defaults.
type Config struct {
	// MaxAttempts is how many deliveries are tried before an event is
	// given up (default 12).
	MaxAttempts int `json:"max_attempts"`
	// InitialBackoff is the wait after the first failure; it doubles
	// with each further failure, with jitter (default 10s).
	InitialBackoff Duration `json:"initial_backoff"`
	// MaxBackoff caps the wait (default 1h).
	MaxBackoff Duration `json:"max_backoff"`
	// Timeout bounds one delivery (default 10s).
	Timeout Duration `json:"timeout"`
	// PollInterval is how often the outbox is checked for due events
	// (default 1s).
	PollInterval Duration `json:"poll_interval"`
}

// Duration is a time.Duration written as "90s", "1h" in configuration.
type Duration time.Duration

// MarshalText writes d as Go writes durations.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "90s", "1h30m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (c *Config) setDefaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 12
	}
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = Duration(10 * time.Second)
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = Duration(time.Hour)
	}
	if c.Timeout <= 0 {
		c.Timeout = Duration(10 * time.Second)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = Duration(time.Second)
	}
}

// Store is what the dispatcher needs.
type Store interface {
	store.Outbox
	RelyingParties(ctx context.Context) ([]store.RelyingParty, error)
}

// Dispatcher delivers outbox events. Make one with NewDispatcher.
type Dispatcher struct {
	cfg    Config
	store  Store
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	// Observe, when set, is told the outcome of every attempt
	// ("delivered", "failed", "dead").
	Observe func(outcome string)
	// OpenSecret, when set, opens a relying party's stored signing secret
	// (sealed with the key-encryption key) before it signs an event.
	OpenSecret func(audience string, stored []byte) ([]byte, error)
}

// NewDispatcher makes a dispatcher; client nil means a client with the
// configured timeout that refuses link-local, unspecified and multicast
// destinations (SafeDialer), now nil means time.Now.
func NewDispatcher(cfg Config, st Store, client *http.Client, log *slog.Logger, now func() time.Time) *Dispatcher {
	cfg.setDefaults()
	if client == nil {
		client = safeClient(time.Duration(cfg.Timeout))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Dispatcher{cfg: cfg, store: st, client: client, log: log, now: now}
}

// Run delivers events until ctx ends; it returns once no delivery is in
// flight.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(time.Duration(d.cfg.PollInterval))
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.Error("webhook dispatch", "err", err)
			}
			if n == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// batch is how many events one claim takes.
const batch = 16

// RunOnce claims due events and tries each once; it says how many it
// claimed.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	// The lease outlasts every delivery of the batch, which run one after
	// another, each bounded by the timeout.
	lease := time.Duration(d.cfg.Timeout) * (batch + 1)
	evs, err := d.store.ClaimEvents(ctx, d.now(), lease, batch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	rps, err := d.store.RelyingParties(ctx)
	if err != nil {
		return len(evs), err
	}
	byAud := map[string]store.RelyingParty{}
	for _, rp := range rps {
		byAud[rp.Audience] = rp
	}
	for _, ev := range evs {
		if ctx.Err() != nil {
			// Leased events fall due again when the lease ends.
			return len(evs), nil
		}
		rp, ok := byAud[ev.Audience]
		var derr error
		if !ok {
			derr = fmt.Errorf("relying party %s is no longer registered", ev.Audience)
		} else {
			derr = d.deliver(ctx, rp, ev)
		}
		if err := d.settle(ctx, ev, derr, ok); err != nil {
			return len(evs), err
		}
	}
	return len(evs), nil
}

func (d *Dispatcher) deliver(ctx context.Context, rp store.RelyingParty, ev store.OutboxEvent) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d.cfg.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rp.WebhookURL, bytes.NewReader(ev.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "herd-webhook")
	req.Header.Set("Herd-Event-Id", ev.EventID)
	secret := rp.Secret
	if d.OpenSecret != nil {
		if secret, err = d.OpenSecret(rp.Audience, rp.Secret); err != nil {
			return fmt.Errorf("opening the signing secret of %s: %w", rp.Audience, err)
		}
	}
	req.Header.Set(SignatureHeader, Sign(secret, d.now(), ev.Body))
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

func (d *Dispatcher) settle(ctx context.Context, ev store.OutboxEvent, derr error, registered bool) error {
	if derr == nil {
		d.observe("delivered")
		d.log.Info("webhook delivered", "event_id", ev.EventID, "audience", ev.Audience, "attempts", ev.Attempts+1)
		return d.store.EventDelivered(ctx, ev.ID)
	}
	attempts := ev.Attempts + 1
	dead := attempts >= d.cfg.MaxAttempts || !registered
	now := d.now()
	next := now.Add(d.Backoff(attempts))
	if dead {
		d.observe("dead")
		d.log.Warn("webhook given up", "event_id", ev.EventID, "audience", ev.Audience, "attempts", attempts, "err", derr.Error())
	} else {
		d.observe("failed")
		d.log.Info("webhook delivery failed", "event_id", ev.EventID, "audience", ev.Audience, "attempts", attempts, "retry_at", next, "err", derr.Error())
	}
	msg := derr.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return d.store.EventFailed(ctx, ev.ID, attempts, next, msg, dead, now)
}

func (d *Dispatcher) observe(outcome string) {
	if d.Observe != nil {
		d.Observe(outcome)
	}
}

// Backoff is the wait after the given number of failed attempts:
// InitialBackoff doubled per further failure, capped at MaxBackoff, then
// scaled by a random factor between 0.5 and 1 so receivers coming back
// up are not hit by every node at once.
func (d *Dispatcher) Backoff(attempts int) time.Duration {
	b := time.Duration(d.cfg.InitialBackoff)
	for i := 1; i < attempts && b < time.Duration(d.cfg.MaxBackoff); i++ {
		b *= 2
	}
	b = min(b, time.Duration(d.cfg.MaxBackoff))
	return b/2 + time.Duration(rand.Int64N(int64(b/2)+1))
}
