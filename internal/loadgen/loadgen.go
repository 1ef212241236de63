// Package loadgen drives a health authority with simulated devices: each
// has its own Ed25519 key, enrolls with a proof of possession, and checks
// in with real signed Statements of Health carrying ten check results.
//
// One check-in is two requests: a challenge (a fresh single-use nonce) and
// the signed statement that answers it. Everything this package counts and
// times is whole check-ins, both requests included.
//
// The closed loop (the default) runs a fixed number of workers, each
// sending its next check-in as soon as the last one is answered: it
// measures throughput. The open loop (Rate > 0) starts check-ins at fixed
// intervals whatever the answers, and times each one from when it was
// scheduled, not from when it was sent, so a slow server cannot hide its
// queueing delay (coordinated omission).
package loadgen

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/protocol"
)

// Limits that keep a run bounded whatever it is asked.
const (
	MaxDevices  = 1_000_000
	MaxDuration = time.Hour
	MaxWorkers  = 4096
	MaxRate     = 1_000_000
	// maxInFlight bounds the open loop's concurrent check-ins; a check-in
	// due while this many are outstanding is counted as an error.
	maxInFlight = 4096
)

// Config is one run. Zero values mean the documented defaults.
type Config struct {
	// Target is the authority's base URL.
	Target string
	// Devices is how many devices to enroll and use (default 100).
	Devices int
	// Duration is how long to send check-ins after enrolling (default 10s).
	Duration time.Duration
	// Rate, when positive, is the open loop's check-ins per second.
	Rate float64
	// Workers is the closed loop's concurrency (default min(Devices, 32)).
	Workers int
	// Audiences are the relying parties each statement asks certificates
	// for (default one, "https://bank.example").
	Audiences []string
	// AllowRemote permits a target that is not on the loopback interface.
	AllowRemote bool
	// EnrollmentToken is sent at enrollment, for token-mode authorities.
	EnrollmentToken string
	// Client sends the requests; nil means the load generator's own lean
	// HTTP/1.1 client (wire.go), keep-alive connections sized for the run.
	Client *http.Client
	// OnAck, when set, is called with every acknowledged check-in (from
	// several goroutines at once).
	OnAck func(deviceID string, checkinID int64)
	// OnStart, when set, is called once the devices are enrolled, just
	// before the first check-in.
	OnStart func()
}

// Result is what a run measured. Latencies are of whole check-ins.
type Result struct {
	Sent         int64   `json:"sent"`
	Acknowledged int64   `json:"acknowledged"`
	Errors       int64   `json:"errors"`
	PerSecond    float64 `json:"per_second"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	// Elapsed is how long the check-ins ran; Enrolled how many devices.
	Elapsed  time.Duration `json:"-"`
	Enrolled int           `json:"-"`
	// FirstError is the first failure seen, for people.
	FirstError string `json:"-"`
}

func (c *Config) setDefaults() {
	if c.Devices == 0 {
		c.Devices = 100
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Workers == 0 {
		c.Workers = min(c.Devices, 32)
	}
	if len(c.Audiences) == 0 {
		c.Audiences = []string{"https://bank.example"}
	}
}

// Validate reports the first thing wrong with a configuration.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %q must be an http(s) URL", c.Target)
	}
	if !c.AllowRemote && !IsLoopback(u.Hostname()) {
		return fmt.Errorf("target %s is not on the loopback interface; a load generator is pointed elsewhere only on purpose (allow it explicitly)", u.Host)
	}
	switch {
	case c.Devices < 1 || c.Devices > MaxDevices:
		return fmt.Errorf("devices %d must be between 1 and %d", c.Devices, MaxDevices)
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration %s must be positive and at most %s", c.Duration, MaxDuration)
	case c.Rate < 0 || c.Rate > MaxRate:
		return fmt.Errorf("rate %g must be between 0 (closed loop) and %d check-ins/s", c.Rate, MaxRate)
	case c.Workers < 1 || c.Workers > MaxWorkers:
		return fmt.Errorf("workers %d must be between 1 and %d", c.Workers, MaxWorkers)
	}
	return nil
}

// IsLoopback reports whether host (a name or an address) is loopback.
// Only "localhost" is taken on trust among names; nothing is resolved.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// device is one simulated device.
type device struct {
	id   string
	priv ed25519.PrivateKey
	mu   sync.Mutex // one check-in at a time per device
	buf  []byte     // the statement being signed, reused
}

type runner struct {
	cfg    Config
	tmpl   *statementTemplate
	client *http.Client // Config.Client, when given
	wire   *wireClient  // otherwise (wire.go)
	base   string

	sent, acked, errs atomic.Int64
	firstErr          atomic.Value // string

	latMu sync.Mutex
	lat   []time.Duration
}

// Run enrolls cfg.Devices devices concurrently, then sends check-ins for
// cfg.Duration (or until ctx ends) and reports what it measured.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}
	tmpl, err := newStatementTemplate(cfg.Audiences)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}
	r := &runner{cfg: cfg, client: cfg.Client, base: stripSlash(cfg.Target), tmpl: tmpl}
	if r.client == nil {
		conns := cfg.Workers
		if cfg.Rate > 0 {
			conns = 256
		}
		if r.wire, err = newWireClient(r.base, conns); err != nil {
			return Result{}, fmt.Errorf("loadgen: %w", err)
		}
		defer r.wire.close()
	}
	devs, err := r.enrollAll(ctx)
	if err != nil {
		return Result{}, err
	}
	if cfg.OnStart != nil {
		cfg.OnStart()
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	if cfg.Rate > 0 {
		r.openLoop(rctx, devs)
	} else {
		r.closedLoop(rctx, devs)
	}
	elapsed := time.Since(start)
	res := Result{
		Sent: r.sent.Load(), Acknowledged: r.acked.Load(), Errors: r.errs.Load(),
		Elapsed: elapsed, Enrolled: len(devs),
	}
	if s := elapsed.Seconds(); s > 0 {
		res.PerSecond = float64(res.Acknowledged) / s
	}
	res.P50ms, res.P99ms = percentileMs(r.lat, 0.50), percentileMs(r.lat, 0.99)
	if v, ok := r.firstErr.Load().(string); ok {
		res.FirstError = v
	}
	return res, nil
}

func stripSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// percentileMs is the q-quantile (nearest rank) of d in milliseconds.
func percentileMs(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}

func (r *runner) fail(err error) {
	r.errs.Add(1)
	r.firstErr.CompareAndSwap(nil, err.Error())
}

func (r *runner) record(d time.Duration) {
	r.latMu.Lock()
	r.lat = append(r.lat, d)
	r.latMu.Unlock()
}

// enrollAll enrolls the devices with cfg.Workers enrollments in flight.
func (r *runner) enrollAll(ctx context.Context) ([]*device, error) {
	devs := make([]*device, r.cfg.Devices)
	next := atomic.Int64{}
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(r.cfg.Workers, r.cfg.Devices) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(devs) || ctx.Err() != nil {
					return
				}
				d, err := r.enroll(ctx)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				devs[i] = d
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("loadgen: enrolling: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return devs, nil
}

func (r *runner) enroll(ctx context.Context) (*device, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	nonce, err := r.challenge(ctx, "")
	if err != nil {
		return nil, err
	}
	pk := base64.RawURLEncoding.EncodeToString(pub)
	body, err := json.Marshal(protocol.EnrollRequest{
		PublicKey: pk, OS: "linux", Nonce: nonce, Token: r.cfg.EnrollmentToken,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(nonce, pk))),
	})
	if err != nil {
		return nil, err
	}
	var resp protocol.EnrollResponse
	if err := r.post(ctx, protocol.PathEnroll, "application/json", body, http.StatusCreated, &resp); err != nil {
		return nil, err
	}
	return &device{id: resp.DeviceID, priv: priv}, nil
}

// challenge asks for a nonce, issued to deviceID alone when it is set, as
// an agent asks for its check-ins.
func (r *runner) challenge(ctx context.Context, deviceID string) (string, error) {
	var c protocol.Challenge
	path := protocol.PathChallenge
	if deviceID != "" {
		path += "?device=" + url.QueryEscape(deviceID)
	}
	if err := r.post(ctx, path, "", nil, http.StatusOK, &c); err != nil {
		return "", err
	}
	if c.Nonce == "" {
		return "", errors.New("challenge: empty nonce")
	}
	return c.Nonce, nil
}

// post sends body and decodes a want-status answer into out.
func (r *runner) post(ctx context.Context, path, ctype string, body []byte, want int, out any) error {
	var (
		status int
		b      []byte
		err    error
	)
	if r.wire != nil {
		status, b, err = r.wire.post(ctx, path, ctype, body)
	} else {
		status, b, err = r.postHTTP(ctx, path, ctype, body)
	}
	if err != nil {
		return err
	}
	if status != want {
		var pe protocol.Error
		json.Unmarshal(b, &pe)
		return fmt.Errorf("%s: HTTP %d: %s (%s)", path, status, pe.Error, pe.Code)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// postHTTP sends body through Config.Client.
func (r *runner) postHTTP(ctx context.Context, path, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, b, err
}

// checkinStatuses are a realistic healthy Linux machine's ten results.
var checkinStatuses = map[health.CheckID]health.Status{
	health.Firewall: health.Pass, health.Antivirus: health.NotApplicable, health.AntivirusSignatures: health.NotApplicable,
	health.AutoUpdate: health.Pass, health.PendingUpdates: health.Pass, health.OSSupport: health.Pass,
	health.DiskEncryption: health.Pass, health.ScreenLock: health.NotApplicable, health.SecureBoot: health.Unknown,
	health.Malware: health.Pass,
}

// statementTemplate is the JSON of the simulated statement cut around its
// device id, nonce and two times, so that a check-in appends the parts
// instead of marshalling the whole statement again: the load generator
// shares the machine with the server, and its CPU per check-in is taken
// from the server's.
type statementTemplate struct{ parts [5][]byte }

const (
	tmplDevice = "@@device@@"
	tmplNonce  = "@@nonce@@"
)

var (
	tmplIssued    = time.Date(2001, 1, 1, 1, 1, 1, 1, time.UTC)
	tmplCollected = time.Date(2002, 2, 2, 2, 2, 2, 2, time.UTC)
)

func newStatementTemplate(audiences []string) (*statementTemplate, error) {
	st := health.Statement{
		Version: 1, DeviceID: tmplDevice, Nonce: tmplNonce, IssuedAt: tmplIssued, CollectedAt: tmplCollected,
		OS: "linux", OSVersion: "debian 12", AgentVersion: "herd-agent loadgen", Audiences: audiences,
	}
	for _, id := range health.CheckIDs {
		s := checkinStatuses[id]
		res := health.Result{ID: id, Status: s, Reason: "simulated " + string(s) + " result for " + string(id),
			Evidence: health.Evidence{Source: "loadgen", Trust: health.OSReported}}
		st.Checks = append(st.Checks, res)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	t := &statementTemplate{}
	rest := b
	for i, cut := range []string{tmplDevice, tmplNonce, tmplIssued.Format(time.RFC3339Nano), tmplCollected.Format(time.RFC3339Nano)} {
		before, after, ok := bytes.Cut(rest, []byte(cut))
		if !ok {
			return nil, fmt.Errorf("statement template: %q not found", cut)
		}
		t.parts[i], rest = before, after
	}
	t.parts[4] = rest
	return t, nil
}

// appendStatement appends the statement's JSON for one check-in to dst;
// it is what json.Marshal of the same Statement gives (the id and nonce
// are base64url, which JSON needs no escaping for).
func (t *statementTemplate) appendStatement(dst []byte, deviceID, nonce string, now time.Time) []byte {
	dst = append(dst, t.parts[0]...)
	dst = append(dst, deviceID...)
	dst = append(dst, t.parts[1]...)
	dst = append(dst, nonce...)
	dst = append(dst, t.parts[2]...)
	dst = now.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, t.parts[3]...)
	dst = now.Add(-2*time.Second).AppendFormat(dst, time.RFC3339Nano)
	return append(dst, t.parts[4]...)
}

// statement is a signed Statement of Health answering nonce.
func (r *runner) statement(d *device, nonce string) ([]byte, error) {
	d.buf = r.tmpl.appendStatement(d.buf[:0], d.id, nonce, time.Now().UTC())
	tok, err := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, d.buf)
	return []byte(tok), err
}

// checkinAnswer is the part of the check-in answer the load generator
// checks; the rest is skipped without being kept.
type checkinAnswer struct {
	CheckinID    int64      `json:"checkin_id"`
	Certificates []struct{} `json:"certificates"`
}

// checkin runs one whole check-in: challenge, then the signed statement.
func (r *runner) checkin(ctx context.Context, d *device) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	nonce, err := r.challenge(ctx, d.id)
	if err != nil {
		return err
	}
	body, err := r.statement(d, nonce)
	if err != nil {
		return err
	}
	var resp checkinAnswer
	if err := r.post(ctx, protocol.PathCheckin, protocol.ContentTypeJOSE, body, http.StatusOK, &resp); err != nil {
		return err
	}
	if resp.CheckinID == 0 || len(resp.Certificates) != len(r.cfg.Audiences) {
		return fmt.Errorf("check-in answered without an id or certificates: id %d, %d certificates", resp.CheckinID, len(resp.Certificates))
	}
	if r.cfg.OnAck != nil {
		r.cfg.OnAck(d.id, resp.CheckinID)
	}
	return nil
}

// one sends one check-in, timed from start, and counts the outcome. A
// check-in cut short by the end of the run is neither an error nor
// acknowledged.
func (r *runner) one(ctx context.Context, d *device, start time.Time) {
	r.sent.Add(1)
	err := r.checkin(ctx, d)
	switch {
	case err == nil:
		r.acked.Add(1)
		r.record(time.Since(start))
	case cutShort(ctx, err):
		r.sent.Add(-1)
	default:
		r.fail(err)
	}
}

// over reports whether the run has ended: its context is done or its
// deadline has passed (its timer may not have fired yet on a busy
// machine).
func over(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// cutShort reports whether err ended a check-in because the run ended:
// the context is done, or its deadline has passed and err says so (the
// deadline's timer may not have fired yet on a busy machine).
func cutShort(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d) && errors.Is(err, context.DeadlineExceeded)
}

func (r *runner) closedLoop(ctx context.Context, devs []*device) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range r.cfg.Workers {
		wg.Go(func() {
			for !over(ctx) {
				d := devs[int(next.Add(1)-1)%len(devs)]
				r.one(ctx, d, time.Now())
			}
		})
	}
	wg.Wait()
}

func (r *runner) openLoop(ctx context.Context, devs []*device) {
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	start := time.Now()
	var wg sync.WaitGroup
	inflight := make(chan struct{}, maxInFlight)
	// The run ends at the context's deadline: no check-in is due at or
	// after it, whenever the deadline's own timer gets to fire on a
	// busy machine, so the schedule is exactly rate × duration.
	end, bounded := ctx.Deadline()
	for i := int64(0); ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if bounded && !due.Before(end) {
			break
		}
		if w := time.Until(due); w > 0 {
			t := time.NewTimer(w)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case inflight <- struct{}{}:
		default:
			r.sent.Add(1)
			r.fail(fmt.Errorf("more than %d check-ins outstanding; the target does not keep up with %g/s", maxInFlight, r.cfg.Rate))
			continue
		}
		d := devs[int(i)%len(devs)]
		wg.Go(func() {
			defer func() { <-inflight }()
			r.one(ctx, d, due)
		})
	}
	wg.Wait()
}
