package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/source"
)

// Agent runs checks and talks to the authority.
type Agent struct {
	Store  Store
	Checks []checks.Check
	Source source.Source
	// Env is passed to the checks; Indicators may be nil.
	Env     checks.Env
	HTTP    *http.Client
	Log     *slog.Logger
	Version string
	// Now gives the time; nil means time.Now.
	Now func() time.Time
	// Notifier tells the user on the desktop; nil means a default one.
	Notifier *Notifier

	histOnce sync.Once
	history  *history // the endpoint history in memory (history.go)
}

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Agent) http() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (a *Agent) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.New(slog.DiscardHandler)
}

// ProtocolError is an error answer from the authority.
type ProtocolError struct {
	Status int
	Code   string
	Msg    string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("authority answered %d %s: %s", e.Status, e.Code, e.Msg)
}

func (a *Agent) do(ctx context.Context, method, u, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "herd-agent/"+a.Version)
	resp, err := a.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var pe protocol.Error
		json.Unmarshal(b, &pe)
		if pe.Error == "" {
			pe.Error = strings.TrimSpace(string(b))
		}
		return &ProtocolError{Status: resp.StatusCode, Code: pe.Code, Msg: pe.Error}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s: unexpected answer: %w", u, err)
		}
	}
	return nil
}

// Discover fetches an authority's configuration document.
func (a *Agent) Discover(ctx context.Context, authority string) (protocol.Discovery, error) {
	u, err := url.Parse(authority)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return protocol.Discovery{}, fmt.Errorf("%q is not an http(s) URL", authority)
	}
	var d protocol.Discovery
	err = a.do(ctx, http.MethodGet, strings.TrimSuffix(authority, "/")+protocol.PathDiscovery, "", nil, &d)
	if err != nil {
		return d, fmt.Errorf("discovering %s: %w", authority, err)
	}
	if d.ChallengeEndpoint == "" || d.EnrollmentEndpoint == "" || d.CheckinEndpoint == "" {
		return d, fmt.Errorf("%s: the configuration document lacks endpoints", authority)
	}
	return d, nil
}

// challenge asks for a nonce: for this device alone when deviceID is set
// (check-ins), for anyone otherwise (enrollment, before the device has an
// id).
func (a *Agent) challenge(ctx context.Context, d protocol.Discovery, deviceID string) (string, error) {
	var c protocol.Challenge
	u := d.ChallengeEndpoint
	if deviceID != "" {
		u += "?device=" + url.QueryEscape(deviceID)
	}
	if err := a.do(ctx, http.MethodPost, u, "", nil, &c); err != nil {
		return "", fmt.Errorf("asking for a challenge: %w", err)
	}
	return c.Nonce, nil
}

// Enroll makes the device key if needed and enrolls it with the authority.
// token is the enrollment token, for authorities that need one.
func (a *Agent) Enroll(ctx context.Context, authority, token string) (*State, error) {
	key, err := a.Store.LoadOrCreateKey()
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	d, err := a.Discover(ctx, authority)
	if err != nil {
		return nil, err
	}
	nonce, err := a.challenge(ctx, d, "")
	if err != nil {
		return nil, err
	}
	pub := base64.RawURLEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	req := protocol.EnrollRequest{
		PublicKey: pub,
		OS:        runtime.GOOS,
		Nonce:     nonce,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, protocol.EnrollProof(nonce, pub))),
		Token:     token,
	}
	body, _ := json.Marshal(req)
	var resp protocol.EnrollResponse
	if err := a.do(ctx, http.MethodPost, d.EnrollmentEndpoint, "application/json", body, &resp); err != nil {
		return nil, fmt.Errorf("enrolling: %w", err)
	}
	st, err := a.Store.LoadState()
	if err != nil {
		st = &State{}
	}
	st.Authority, st.DeviceID, st.Discovery, st.EnrolledAt = strings.TrimSuffix(authority, "/"), resp.DeviceID, d, a.now().UTC()
	if err := a.Store.SaveState(st); err != nil {
		return nil, err
	}
	a.log().Info("enrolled", "authority", authority, "device", resp.DeviceID)
	return st, nil
}

// RunChecks runs every check once.
func (a *Agent) RunChecks(ctx context.Context) []checks.Outcome {
	return checks.RunAll(ctx, a.Source, a.Checks, a.Env)
}

// CheckIn runs the checks, signs a statement and sends it; it keeps and
// returns the answer.
func (a *Agent) CheckIn(ctx context.Context) (*Last, error) {
	st, err := a.Store.LoadState()
	if err != nil {
		return nil, err
	}
	key, err := a.Store.LoadKey()
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	a.loadKept()
	last, err := a.send(ctx, st, key, a.RunChecks(ctx))
	a.Store.noteCheckin(a.now(), err)
	return last, err
}

// loadKept loads the indicator bundle kept on disk when none is loaded,
// so the checks of a freshly started agent are judged against it and
// not only those after its first check-in. A bundle that does not
// verify is logged and left unused.
func (a *Agent) loadKept() {
	if a.Env.Indicators != nil {
		return
	}
	if err := a.LoadIndicators(); err != nil {
		a.log().Warn("kept indicator bundle unreadable", "err", err)
	}
}

// checkIn is CheckIn with the outcomes from run, which is called only
// once the state and key have been read.
func (a *Agent) checkIn(ctx context.Context, run func() []checks.Outcome) (*Last, error) {
	st, err := a.Store.LoadState()
	if err != nil {
		return nil, err
	}
	key, err := a.Store.LoadKey()
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	return a.send(ctx, st, key, run())
}

func (a *Agent) send(ctx context.Context, st *State, key ed25519.PrivateKey, outcomes []checks.Outcome) (*Last, error) {
	nonce, err := a.challenge(ctx, st.Discovery, st.DeviceID)
	if err != nil {
		return nil, err
	}
	a.beforeStatement(ctx)
	var ind int64
	if a.Env.Indicators != nil {
		ind = a.Env.Indicators.Version()
	}
	now := a.now().UTC()
	stmt := health.Statement{
		Version:           1,
		DeviceID:          st.DeviceID,
		Nonce:             nonce,
		IssuedAt:          now,
		CollectedAt:       a.Source.Now().UTC(),
		OS:                a.Source.OS(),
		OSVersion:         OSVersion(ctx, a.Source),
		AgentVersion:      a.Version,
		IndicatorsVersion: ind,
		Audiences:         st.Audiences(),
		Checks:            checks.Render(outcomes, i18n.English),
		Sightings:         a.SightingAnswers(),
	}
	for i := range stmt.Checks {
		stmt.Checks[i].Details = nil // sub-results stay on the device
	}
	payload, err := json.Marshal(stmt)
	if err != nil {
		return nil, err
	}
	jws, err := healthcert.SignCompact(key, st.DeviceID, protocol.StatementType, payload)
	if err != nil {
		return nil, err
	}
	var resp protocol.CheckinResponse
	if err := a.do(ctx, http.MethodPost, st.Discovery.CheckinEndpoint, protocol.ContentTypeJOSE, []byte(jws), &resp); err != nil {
		return nil, fmt.Errorf("checking in: %w", err)
	}
	a.afterCheckin(ctx, st, &resp)
	last := &Last{CheckedAt: now, OS: stmt.OS, Outcomes: outcomes, Response: resp}
	if err := a.Store.SaveLast(last); err != nil {
		return nil, err
	}
	os.Remove(a.Store.path(revokedFile)) // the certificates are new

	a.log().Info("checked in", "verdict", resp.Verdict, "findings", len(resp.Findings), "certificates", len(resp.Certificates))
	return last, nil
}

// Certificate returns the latest unexpired certificate for aud.
func (a *Agent) Certificate(aud string) (protocol.Certificate, error) {
	last, err := a.Store.LoadLast()
	if err != nil {
		return protocol.Certificate{}, errors.New("no check-in yet")
	}
	for _, c := range last.Response.Certificates {
		if c.Audience == aud {
			if a.CertificateState(c) == CertRevoked {
				return protocol.Certificate{}, errors.New("the authority revoked the certificate; the agent is asking for a new one")
			}
			if !a.now().Before(c.ExpiresAt) {
				return c, errors.New("the certificate has expired; the agent will renew it at its next check-in")
			}
			return c, nil
		}
	}
	return protocol.Certificate{}, fmt.Errorf("no certificate for audience %q", aud)
}

// RunOptions tune Run.
type RunOptions struct {
	// Interval between check-ins when the authority names none (default 1h).
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure
	// (defaults 30 s and 30 min).
	MinBackoff, MaxBackoff time.Duration
	// Watch is how often, between check-ins, the cheap checks are run
	// again to catch a setting that changed (default 45 s; negative
	// turns watching off). A change of status checks in at once.
	Watch time.Duration
	// WatchBudget: a check whose last run took longer than this is left
	// to the scheduled check-in (default 250 ms). A full run on a Debian
	// machine spends 2–8 s in one package-manager simulation; the other
	// checks take milliseconds.
	WatchBudget time.Duration
	// StatusEvery is how often, on a watch round, the status lists of
	// the held certificates are checked; a revoked one checks in at once
	// for fresh certificates (default DefaultStatusEvery).
	StatusEvery time.Duration
	// IndicatorEvery is how often, between check-ins, the agent asks the
	// authority for indicator updates with the download token of the
	// last check-in (default DefaultIndicatorEvery; negative turns it
	// off). A new bundle re-runs the watched checks (malware among them)
	// at once; a token that expired makes the agent check in.
	IndicatorEvery time.Duration
	// Sleep waits; nil means a timer honouring ctx (tests replace it).
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter gives a number in [0, 1) for spreading waits; nil means
	// math/rand (tests fix it).
	Jitter func() float64
}

// DefaultIndicatorEvery is how often indicator updates are asked for
// between check-ins.
const DefaultIndicatorEvery = 15 * time.Minute

// NextWait decides how long to wait after a successful check-in: the
// authority's interval, but no later than half-way through the shortest
// certificate lifetime, with ±10% jitter so devices do not synchronise.
func NextWait(last *Last, now time.Time, interval time.Duration, jitter float64) time.Duration {
	wait := interval
	if s := last.Response.NextCheckinSeconds; s > 0 {
		wait = time.Duration(s) * time.Second
	}
	for _, c := range last.Response.Certificates {
		if half := c.ExpiresAt.Sub(now) / 2; half < wait {
			wait = half
		}
	}
	if wait < 30*time.Second {
		wait = 30 * time.Second
	}
	return time.Duration(float64(wait) * (0.9 + 0.2*jitter))
}

// Backoff doubles the wait after each failure, up to max, with jitter.
func Backoff(failures int, min, max time.Duration, jitter float64) time.Duration {
	d := min
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return time.Duration(float64(d) * (0.5 + 0.5*jitter))
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// timed runs a check and notes how long it took.
type timed struct {
	checks.Check
	took *time.Duration
}

func (t timed) Run(ctx context.Context, src source.Source, env checks.Env) checks.Result {
	start := time.Now()
	defer func() { *t.took = time.Since(start) }()
	return t.Check.Run(ctx, src, env)
}

// runTimed runs the checks and returns how long each took.
func (a *Agent) runTimed(ctx context.Context, list []checks.Check) ([]checks.Outcome, []time.Duration) {
	took := make([]time.Duration, len(list))
	wrapped := make([]checks.Check, len(list))
	for i, c := range list {
		wrapped[i] = timed{Check: c, took: &took[i]}
	}
	return checks.RunAll(ctx, a.Source, wrapped, a.Env), took
}

// Watcher re-runs the checks that are cheap enough to run every minute
// and tells when one of them changed status since the last check-in.
type Watcher struct {
	// Budget: checks whose median time over the recent full runs is
	// longer than this are not watched, except the AlwaysWatched ones.
	Budget time.Duration

	cheap  []checks.Check
	status map[health.CheckID]health.Status
	last   []checks.Outcome
	took   map[health.CheckID][]time.Duration // the recent full runs' times, oldest first
}

// AlwaysWatched are watched whatever one run took: the malware check
// (cheap once its file hashes are cached, and the one a new infection
// shows in) and the firewall.
var AlwaysWatched = []health.CheckID{health.Malware, health.Firewall}

// watchRuns is how many recent full runs the budget is judged on.
const watchRuns = 5

// Reset remembers the outcomes of a full run and how long each check
// took, and picks the checks to watch: the AlwaysWatched ones and those
// whose median time over the last few full runs is within the budget,
// so one slow run on a busy machine does not drop a check.
func (w *Watcher) Reset(list []checks.Check, outcomes []checks.Outcome, took []time.Duration) {
	w.cheap = w.cheap[:0]
	w.status = make(map[health.CheckID]health.Status, len(outcomes))
	w.last = outcomes
	for _, o := range outcomes {
		w.status[o.ID] = o.Status
	}
	if w.took == nil {
		w.took = map[health.CheckID][]time.Duration{}
	}
	for i, c := range list {
		id := c.ID()
		if i < len(took) {
			h := append(w.took[id], took[i])
			if len(h) > watchRuns {
				h = h[len(h)-watchRuns:]
			}
			w.took[id] = h
		}
		if slices.Contains(AlwaysWatched, id) || (len(w.took[id]) > 0 && median(w.took[id]) <= w.Budget) {
			w.cheap = append(w.cheap, c)
		}
	}
}

// median is the middle of ds (the lower middle of an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// Accept remembers outcomes sent without a full run; the watched set
// stays as it is.
func (w *Watcher) Accept(outcomes []checks.Outcome) {
	w.last = outcomes
	for _, o := range outcomes {
		w.status[o.ID] = o.Status
	}
}

// Watched lists the ids of the checks the watcher re-runs.
func (w *Watcher) Watched() []health.CheckID {
	ids := make([]health.CheckID, len(w.cheap))
	for i, c := range w.cheap {
		ids[i] = c.ID()
	}
	return ids
}

// Round re-runs the watched checks. When one changed status it returns
// the full set of outcomes to send (fresh for the watched checks, the
// last full run's for the others) and the ids that changed.
//
// Every round also adds the current connections to the endpoint
// history, from the list the round's malware check read.
func (w *Watcher) Round(ctx context.Context, a *Agent) (merged []checks.Outcome, changed []health.CheckID) {
	src := &memoSource{Source: a.Source}
	defer func() {
		if conns, err := src.Connections(ctx); err == nil {
			if err := a.observe(conns, false); err != nil {
				a.log().Debug("endpoint history not updated", "err", err)
			}
		}
	}()
	if len(w.cheap) == 0 {
		return nil, nil
	}
	fresh := checks.RunAll(ctx, src, w.cheap, a.Env)
	byID := make(map[health.CheckID]checks.Outcome, len(fresh))
	for _, o := range fresh {
		byID[o.ID] = o
		if w.status[o.ID] != o.Status {
			changed = append(changed, o.ID)
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	merged = make([]checks.Outcome, len(w.last))
	for i, o := range w.last {
		if f, ok := byID[o.ID]; ok {
			o = f
		}
		merged[i] = o
	}
	return merged, changed
}

// Run checks in until ctx ends, renewing certificates well before they
// expire and backing off while the authority cannot be reached. Between
// check-ins it watches the cheap checks and checks in at once when one
// changes status (a firewall turned off is reported within a minute).
func (a *Agent) Run(ctx context.Context, opt RunOptions) error {
	if opt.Interval == 0 {
		opt.Interval = time.Hour
	}
	if opt.MinBackoff == 0 {
		opt.MinBackoff = 30 * time.Second
	}
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = 30 * time.Minute
	}
	if opt.Watch == 0 {
		opt.Watch = 45 * time.Second
	}
	if opt.WatchBudget == 0 {
		opt.WatchBudget = 250 * time.Millisecond
	}
	sleep := opt.Sleep
	if sleep == nil {
		sleep = sleepTimer
	}
	jitter := opt.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	if opt.StatusEvery == 0 {
		opt.StatusEvery = DefaultStatusEvery
	}
	if opt.IndicatorEvery == 0 {
		opt.IndicatorEvery = DefaultIndicatorEvery
	}
	// The first checks are judged against the bundle kept from before.
	a.loadKept()
	var statusAt time.Time // when the certificates' status was last checked
	var intelAt time.Time  // when indicator updates were last asked for
	var offer *protocol.IndicatorsOffer
	w := &Watcher{Budget: opt.WatchBudget}
	failures := 0
	var pending []checks.Outcome // outcomes to send instead of a full run
	for {
		outcomes := pending
		pending = nil
		stateMod := a.Store.StateModTime()
		last, err := a.checkIn(ctx, func() []checks.Outcome {
			if outcomes != nil {
				w.Accept(outcomes)
				return outcomes
			}
			outcomes, took := a.runTimed(ctx, a.Checks)
			w.Reset(a.Checks, outcomes, took)
			return outcomes
		})
		if errors.Is(err, ErrNotEnrolled) {
			return err
		}
		a.Store.noteCheckin(a.now(), err)
		var wait time.Duration
		switch {
		case err != nil:
			failures++
			wait = Backoff(failures, opt.MinBackoff, opt.MaxBackoff, jitter())
			a.log().Warn("check-in failed", "err", err, "retry_in", wait.Round(time.Second))
		default:
			failures = 0
			offer, intelAt = last.Response.Indicators, a.now()
			wait = NextWait(last, a.now(), opt.Interval, jitter())
			a.log().Info("next check-in", "in", wait.Round(time.Second), "watching", len(w.cheap))
		}
		// Wait, watching between check-ins when the last one succeeded.
		// A trust or untrust (state.json changed) checks in at once, also
		// while backing off.
		for wait > 0 {
			step := wait
			if opt.Watch > 0 && opt.Watch < step {
				step = opt.Watch
			}
			if serr := sleep(ctx, step); serr != nil || ctx.Err() != nil {
				return nil
			}
			wait -= step
			if opt.Watch < 0 {
				continue
			}
			if mod := a.Store.StateModTime(); !mod.Equal(stateMod) {
				a.log().Info("the relying parties changed; checking in now")
				if err == nil {
					pending = w.last
				}
				break
			}
			if wait <= 0 || err != nil {
				continue
			}
			if now := a.now(); now.Sub(statusAt) >= opt.StatusEvery {
				statusAt = now
				revoked, serr := a.CheckRevocation(ctx)
				if serr != nil {
					a.log().Debug("certificate status not checked", "err", serr)
				}
				if revoked {
					a.log().Warn("a held certificate was revoked; checking in now for fresh ones")
					pending = w.last
					break
				}
			}
			if now := a.now(); offer != nil && opt.IndicatorEvery > 0 && now.Sub(intelAt) >= opt.IndicatorEvery {
				intelAt = now
				if !now.Before(offer.ExpiresAt) {
					a.log().Info("the indicator download token expired; checking in for updates")
					pending = w.last
					break
				}
				if a.updateIndicators(ctx, offer) {
					// The watched checks, malware among them, run below
					// with the new bundle.
					a.log().Info("indicator bundle updated between check-ins; re-running the checks", "version", a.heldVersion())
				}
			}
			if merged, changed := w.Round(ctx, a); changed != nil {
				a.log().Info("a watched check changed; checking in now", "checks", fmt.Sprint(changed))
				pending = merged
				break
			}
		}
	}
}

// OSVersion names the OS release, e.g. "debian 12".
func OSVersion(ctx context.Context, src source.Source) string {
	switch src.OS() {
	case "linux":
		b, err := src.ReadFile("/etc/os-release")
		if err != nil {
			return ""
		}
		var id, ver string
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"'`)
			switch k {
			case "ID":
				id = v
			case "VERSION_ID":
				ver = v
			}
		}
		return strings.TrimSpace(id + " " + ver)
	case "darwin":
		out, err := src.Run(ctx, "sw_vers", "-productVersion")
		if err == nil && out.OK() {
			return "macos " + strings.TrimSpace(out.Stdout)
		}
	case "windows":
		vals, err := src.Registry(`HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`)
		if err == nil {
			if b, ok := vals["CurrentBuild"]; ok {
				return fmt.Sprintf("windows %v", b.Value)
			}
		}
	}
	return ""
}
