package agent

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/indicators"
	"github.com/herd-health/herd/internal/protocol"
)

// Files the agent keeps beside its state.
const (
	indicatorsFile     = "indicators.bin"  // the verified bundle, Encode form
	indicatorsSealFile = "indicators.seal" // device-key signature over it
	jwksFile           = "jwks.json"       // the authority's keys
	historyFile        = "endpoints.json"  // remote endpoints seen; never sent
	questionsFile      = "questions.json"  // sighting questions to answer
	noticeFile         = "notice.json"     // the last verified notice
)

// MaxBundleBytes bounds a downloaded indicator bundle.
const MaxBundleBytes = 256 << 20

// LoadIndicators loads the bundle kept in the state directory into
// Env.Indicators; no bundle is not an error. Only a bundle sealed by this
// agent after it verified the authority's signature is loaded: the seal
// is an Ed25519 signature by the device key over the kept bytes, so a
// file dropped into the state directory by anything else is refused.
func (a *Agent) LoadIndicators() error {
	b, err := os.ReadFile(a.Store.path(indicatorsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	seal, err := os.ReadFile(a.Store.path(indicatorsSealFile))
	if err != nil {
		return fmt.Errorf("%s is not sealed by this agent: %w", indicatorsFile, err)
	}
	key, err := a.Store.LoadKey()
	if err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), b, seal) {
		return fmt.Errorf("%s does not match its seal; it is ignored until the next download", indicatorsFile)
	}
	s, err := indicators.Decode(b)
	if err != nil {
		return fmt.Errorf("%s: %w", indicatorsFile, err)
	}
	a.Env.Indicators = s
	return nil
}

// KeepIndicators keeps a verified bundle in the state directory, sealed
// with the device key, and loads it.
func (a *Agent) KeepIndicators(set *indicators.Set) error {
	key, err := a.Store.LoadKey()
	if err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	b := set.Encode()
	if err := a.Store.writeFile(indicatorsFile, b); err != nil {
		return err
	}
	if err := a.Store.writeFile(indicatorsSealFile, ed25519.Sign(key, b)); err != nil {
		return err
	}
	a.Env.Indicators = set
	return nil
}

// keySet returns the authority's keys, fetching them when none are kept
// or refresh is set.
func (a *Agent) keySet(ctx context.Context, st *State, refresh bool) (healthcert.KeySet, error) {
	b, err := os.ReadFile(a.Store.path(jwksFile))
	if err != nil || refresh {
		if st.Discovery.JWKSURI == "" {
			return nil, errors.New("the authority names no key set")
		}
		var jwks json.RawMessage
		if err := a.do(ctx, http.MethodGet, st.Discovery.JWKSURI, "", nil, &jwks); err != nil {
			return nil, fmt.Errorf("fetching the authority's keys: %w", err)
		}
		if _, err := healthcert.ParseJWKS(jwks); err != nil {
			return nil, err
		}
		if err := a.Store.writeFile(jwksFile, jwks); err != nil {
			return nil, err
		}
		b = jwks
	}
	set, err := healthcert.ParseJWKS(b)
	if err != nil {
		return nil, err
	}
	return set.KeySet()
}

// verifyJWS checks a compact JWS of type typ against the authority's
// keys, fetching them again once when the kid is unknown.
func (a *Agent) verifyJWS(ctx context.Context, st *State, c *healthcert.Compact, typ string) error {
	if c.Header.Typ != typ {
		return fmt.Errorf("signed object has type %q, want %q", c.Header.Typ, typ)
	}
	var key crypto.PublicKey
	for _, refresh := range []bool{false, true} {
		ks, err := a.keySet(ctx, st, refresh)
		if err != nil {
			return err
		}
		if k, ok := ks[c.Header.Kid]; ok {
			key = k
			break
		}
	}
	if key == nil {
		return fmt.Errorf("signed by unknown key %q", c.Header.Kid)
	}
	return c.Verify(key)
}

// fetchIndicators downloads the offered bundle (a delta when the authority
// still keeps the changes since the held version), verifies its
// signature, keeps it and loads it.
func (a *Agent) fetchIndicators(ctx context.Context, st *State, offer *protocol.IndicatorsOffer) error {
	held, _ := a.Env.Indicators.(*indicators.Set)
	since := held.Version()
	u := offer.URI + "?since=" + strconv.FormatInt(since, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+offer.Token)
	req.Header.Set("User-Agent", "herd-agent/"+a.Version)
	resp, err := a.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBundleBytes+1))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("indicator download answered %d", resp.StatusCode)
	}
	if len(body) > MaxBundleBytes {
		return fmt.Errorf("indicator bundle is larger than %d bytes", MaxBundleBytes)
	}
	h, sig, ok := strings.Cut(resp.Header.Get(protocol.HeaderSignature), "..")
	if !ok {
		return errors.New("indicator bundle is not signed")
	}
	if err := a.verifyDetached(ctx, st, h, sig, body); err != nil {
		return fmt.Errorf("indicator bundle signature: %w", err)
	}
	var set *indicators.Set
	if indicators.IsDelta(body) {
		d, err := indicators.DecodeDelta(body)
		if err != nil {
			return err
		}
		if held == nil {
			return errors.New("got a delta without holding a bundle")
		}
		if set, err = held.Apply(d); err != nil {
			return err
		}
	} else if set, err = indicators.Decode(body); err != nil {
		return err
	}
	if err := a.KeepIndicators(set); err != nil {
		return err
	}
	a.log().Info("indicator bundle updated", "version", set.Version(), "entries", set.Len())
	return nil
}

// updateIndicators asks for indicator updates with the offer of the last
// check-in and tells whether a newer bundle was loaded. Problems are
// logged: the next check-in tries again.
func (a *Agent) updateIndicators(ctx context.Context, offer *protocol.IndicatorsOffer) bool {
	st, err := a.Store.LoadState()
	if err != nil {
		a.log().Warn("indicator update: state unreadable", "err", err)
		return false
	}
	before := a.heldVersion()
	if err := a.fetchIndicators(ctx, st, offer); err != nil {
		a.log().Warn("indicator bundle not updated", "err", err)
		return false
	}
	return a.heldVersion() != before
}

func (a *Agent) heldVersion() int64 {
	if a.Env.Indicators == nil {
		return 0
	}
	return a.Env.Indicators.Version()
}

// beforeStatement loads the kept bundle when none is loaded yet (for
// sighting answers) and adds the current connections to the endpoint
// history.
func (a *Agent) beforeStatement(ctx context.Context) {
	a.loadKept()
	if err := a.ObserveEndpoints(ctx); err != nil {
		a.log().Debug("endpoint history not updated", "err", err)
	}
}

// afterCheckin acts on what the check-in answer carries besides
// certificates: a newer indicator bundle, sighting questions and a
// notice for the user. Problems are logged; the check-in stands.
func (a *Agent) afterCheckin(ctx context.Context, st *State, resp *protocol.CheckinResponse) {
	if o := resp.Indicators; o != nil && o.Version > a.heldVersion() {
		if err := a.fetchIndicators(ctx, st, o); err != nil {
			a.log().Warn("indicator bundle not updated", "err", err)
		}
	}
	if err := a.Store.writeJSONFile(questionsFile, resp.Questions); err != nil {
		a.log().Warn("keeping sighting questions", "err", err)
	}
	a.takeNotice(ctx, st, resp)
}

// verifyDetached checks a detached JWS (header and signature parts)
// over body against the authority's keys, with the algorithms the JWKS
// allows (EdDSA and ES256, each only with its own key type, as notices
// and certificates), fetching the keys again once when the kid is
// unknown (the authority rotated).
func (a *Agent) verifyDetached(ctx context.Context, st *State, h, sig string, body []byte) error {
	c, err := healthcert.ParseCompact(h + ".." + sig)
	if err != nil {
		return err
	}
	if c.Header.Typ != protocol.IndicatorsType {
		return fmt.Errorf("signed object has type %q, want %q", c.Header.Typ, protocol.IndicatorsType)
	}
	for _, refresh := range []bool{false, true} {
		ks, err := a.keySet(ctx, st, refresh)
		if err != nil {
			return err
		}
		if k, ok := ks[c.Header.Kid]; ok {
			return c.VerifyDetached(body, k)
		}
	}
	return fmt.Errorf("signed by unknown key %q", c.Header.Kid)
}

// writeFile writes b through a temporary file and a rename.
func (s Store) writeFile(name string, b []byte) error {
	if err := s.ensureDir(); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.Dir, name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(f.Name(), s.path(name))
}

func (s Store) writeJSONFile(name string, v any) error { return s.writeJSON(name, v) }

// SightingAnswers answers the kept questions from the history. A device
// answers only about botnet servers its signed indicator bundle lists,
// never about an arbitrary address: an endpoint in the history confirms
// a question when it was seen within the question's window, the bundle
// lists it (address, and port where the entry has one), and
//
//   - the question names a C2: the endpoint is that C2 (the address, and
//     the port when the question names one);
//   - the question names only a family (a report that says which botnet
//     an address belonged to, not which server it called): the bundle's
//     entry for the endpoint is of that family.
//
// Every other question is answered "not seen", which tells the
// authority nothing about the history: without a bundle, about an
// address the bundle does not list, or with nothing matching.
func (a *Agent) SightingAnswers() []health.SightingAnswer {
	var qs []protocol.SightingQuestion
	if a.Store.readJSON(questionsFile, &qs) != nil || len(qs) == 0 {
		return nil
	}
	ind := a.Env.Indicators
	h := a.loadHistory()
	var out []health.SightingAnswer
	for _, q := range qs {
		ans := health.SightingAnswer{QuestionID: q.ID}
		win := time.Duration(q.WindowSeconds) * time.Second
		for _, s := range h {
			if ind == nil || ind.Version() == 0 {
				break
			}
			if s.Last.Before(q.Around.Add(-win)) || s.First.After(q.Around.Add(win)) {
				continue
			}
			if confirms(ind, s.Endpoint, q) {
				ans.Seen, ans.Endpoint, ans.SeenAt = true, s.Endpoint, s.Last
				break
			}
		}
		out = append(out, ans)
	}
	return out
}

// confirms reports whether the endpoint ep, listed by ind, answers q.
func confirms(ind checks.Indicators, ep string, q protocol.SightingQuestion) bool {
	got, err := netip.ParseAddrPort(ep)
	if err != nil {
		return false
	}
	m, listed := ind.MatchAddr(got.Addr(), got.Port())
	if !listed {
		return false
	}
	switch {
	case q.Match == protocol.MatchFamily:
		return q.Family != "" && protocol.FamilyKey(m.Family) == protocol.FamilyKey(q.Family)
	case q.C2 != "":
		return endpointMatches(got, q.C2)
	case q.Family != "":
		// An authority that does not say what to match, for a report
		// with no C2: the family.
		return protocol.FamilyKey(m.Family) == protocol.FamilyKey(q.Family)
	}
	return false
}

func endpointMatches(got netip.AddrPort, c2 string) bool {
	if want, err := netip.ParseAddrPort(c2); err == nil {
		return got.Addr() == want.Addr().Unmap() && got.Port() == want.Port()
	}
	if want, err := netip.ParseAddr(c2); err == nil {
		return got.Addr() == want.Unmap()
	}
	return false
}

// Notices.

// ShownNotice is a verified notice as the agent keeps it.
type ShownNotice struct {
	Notice protocol.Notice `json:"notice"`
	JWS    string          `json:"jws"`
	// NotifiedAt is when the notice was last shown on the desktop.
	NotifiedAt time.Time `json:"notified_at,omitzero"`
}

// takeNotice verifies and keeps the answer's notice and tells the user;
// a notice that does not verify is never shown. A device no longer
// contraindicated forgets its notice.
func (a *Agent) takeNotice(ctx context.Context, st *State, resp *protocol.CheckinResponse) {
	if resp.Notice == "" {
		if resp.Verdict != health.Contraindicated {
			os.Remove(a.Store.path(noticeFile))
		}
		return
	}
	n, err := a.VerifyNotice(ctx, st, resp.Notice)
	if err != nil {
		a.log().Warn("notice dropped: its signature does not verify", "err", err)
		return
	}
	shown := ShownNotice{Notice: *n, JWS: resp.Notice}
	var prev ShownNotice
	a.Store.readJSON(noticeFile, &prev)
	if again := prev.NotifiedAt.Add(NotifyAgainAfter); prev.Notice.Verdict == n.Verdict && prev.Notice.Title == n.Title &&
		prev.Notice.Message == n.Message && a.now().Before(again) {
		shown.NotifiedAt = prev.NotifiedAt // told already; a reminder once a day
	} else {
		title, body := n.Title.EN+" / "+n.Title.ZH, n.Message.EN+"\n"+n.Message.ZH
		switch err := a.notifier().Notify(ctx, title, body); {
		case err == nil:
			shown.NotifiedAt = a.now().UTC()
		case errors.Is(err, ErrNoSession):
			a.log().Info("no desktop session to notify; the notice is in herd-agent status and the local page")
		default:
			a.log().Warn("desktop notification failed", "err", err)
		}
	}
	if err := a.Store.writeJSONFile(noticeFile, shown); err != nil {
		a.log().Warn("keeping the notice", "err", err)
	}
}

// NotifyAgainAfter is how long the same notice waits before it is shown
// on the desktop again (at a check-in that still carries it).
const NotifyAgainAfter = 24 * time.Hour

func (a *Agent) notifier() *Notifier {
	if a.Notifier != nil {
		return a.Notifier
	}
	return &Notifier{Log: a.Log}
}

// VerifyNotice checks a notice JWS against the authority's keys and that
// it is for this device and unexpired.
func (a *Agent) VerifyNotice(ctx context.Context, st *State, jws string) (*protocol.Notice, error) {
	c, err := healthcert.ParseCompact(jws)
	if err != nil {
		return nil, err
	}
	if err := a.verifyJWS(ctx, st, c, protocol.NoticeType); err != nil {
		return nil, err
	}
	return a.noticeClaims(st, c)
}

// noticeClaims reads a verified notice and checks that it is for this
// device, from its authority and unexpired.
func (a *Agent) noticeClaims(st *State, c *healthcert.Compact) (*protocol.Notice, error) {
	var n protocol.Notice
	if err := json.Unmarshal(c.Payload, &n); err != nil {
		return nil, err
	}
	if n.DeviceID != st.DeviceID || n.Issuer != st.Discovery.Issuer || a.now().Unix() > n.Expiry {
		return nil, errors.New("the notice is not for this device, not from its authority, or expired")
	}
	return &n, nil
}

// Notice returns the verified notice kept for the user, if any. The kept
// JWS is verified again, without the network, against the authority's
// keys kept beside it, and what is shown is read from the signed payload
// only: a notice file written by anything but the agent is never shown.
func (a *Agent) Notice() (*ShownNotice, bool) {
	var kept ShownNotice
	if a.Store.readJSON(noticeFile, &kept) != nil || kept.JWS == "" {
		return nil, false
	}
	st, err := a.Store.LoadState()
	if err != nil {
		return nil, false
	}
	c, err := healthcert.ParseCompact(kept.JWS)
	if err != nil || c.Header.Typ != protocol.NoticeType {
		return nil, false
	}
	b, err := os.ReadFile(a.Store.path(jwksFile))
	if err != nil {
		return nil, false
	}
	set, err := healthcert.ParseJWKS(b)
	if err != nil {
		return nil, false
	}
	ks, err := set.KeySet()
	if err != nil {
		return nil, false
	}
	key, ok := ks[c.Header.Kid]
	if !ok || c.Verify(key) != nil {
		return nil, false
	}
	n, err := a.noticeClaims(st, c)
	if err != nil {
		return nil, false
	}
	return &ShownNotice{Notice: *n, JWS: kept.JWS}, true
}
