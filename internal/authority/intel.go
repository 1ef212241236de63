package authority

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/indicators"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// IntelStore is what the authority keeps threat intelligence in.
type IntelStore interface {
	store.Intel
	store.Sightings
}

// Indicator bundles and their authentication.
//
// A device learns the authority's bundle version in every check-in answer
// (protocol.IndicatorsOffer), together with a download token: an HMAC,
// under a secret only the authority holds, over the device id and an
// expiry ten minutes ahead. The token is issued only in answer to a
// statement signed with the device key, so only enrolled devices can
// download. GET /v1/indicators?since=N with "Authorization: Bearer
// TOKEN" answers the delta from N (indicators.Delta encoding) when the
// changes since N are still kept, else the full bundle (indicators
// Encode). Either body is signed by a detached JWS in the Herd-Signature
// header (typ herd-indicators+jws, the authority's certificate key, kid
// in the JWKS), so the device verifies what it got against the JWKS
// whatever path it travelled.

// deviceTypes are the indicator types devices match.
var deviceTypes = []string{indicators.TypeIPv4, indicators.TypeIPv6, indicators.TypeDomain, indicators.TypeSHA256, indicators.TypeProcess}

// indicatorTokenLifetime: an agent asks for indicator updates with its
// token every 15 minutes between check-ins, so it lasts several rounds.
const indicatorTokenLifetime = time.Hour

// SightingHold is how long a device whose own history confirmed a
// sighting stays contraindicated after it answered.
const SightingHold = 72 * time.Hour

type intelState struct {
	store  IntelStore
	mu     sync.Mutex
	secret []byte
	full   []byte // cached full bundle
	fullV  int64
	cache  intelCache // intelcache.go
}

// SetIntel turns on indicator bundles and sightings; call it before
// serving.
func (a *Authority) SetIntel(s IntelStore) { a.intelS = &intelState{store: s} }

func (a *Authority) routesIntel(m *http.ServeMux) {
	m.HandleFunc("GET "+protocol.PathIndicators, a.serve(a.handleIndicators))
}

func (a *Authority) indicatorsURI() string {
	if a.intelS == nil {
		return ""
	}
	return a.cfg.Issuer + protocol.PathIndicators
}

func (s *intelState) tokenSecret(ctx context.Context, st store.Secrets, sealer keyring.Sealer) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secret == nil {
		b, err := sealer.Secret(ctx, st, "indicators-token", func() []byte { return randomBytes(32) })
		if err != nil {
			return nil, err
		}
		s.secret = b
	}
	return s.secret, nil
}

func tokenMAC(secret []byte, msg string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("herd-indicators-v1\n" + msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *Authority) indicatorToken(ctx context.Context, deviceID string, exp time.Time) (string, error) {
	secret, err := a.intelS.tokenSecret(ctx, a.store, a.sealer)
	if err != nil {
		return "", err
	}
	msg := deviceID + "." + strconv.FormatInt(exp.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(msg)) + "." + tokenMAC(secret, msg), nil
}

func (a *Authority) checkIndicatorToken(ctx context.Context, tok string) (string, error) {
	bad := errorf(http.StatusUnauthorized, "bad_token", "the download token is missing, invalid or expired; check in for a fresh one")
	p, mac, ok := strings.Cut(tok, ".")
	if !ok {
		return "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return "", bad
	}
	secret, err := a.intelS.tokenSecret(ctx, a.store, a.sealer)
	if err != nil {
		return "", err
	}
	if !hmac.Equal([]byte(mac), []byte(tokenMAC(secret, string(raw)))) {
		return "", bad
	}
	dev, expS, _ := strings.Cut(string(raw), ".")
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil || a.now().Unix() > exp {
		return "", bad
	}
	return dev, nil
}

func toIndicators(b *indicators.Builder, in store.Indicator) {
	src := ""
	if len(in.Sources) > 0 {
		src = in.Sources[0]
	}
	// An indicator the device cannot hold (a malformed value) is left out
	// rather than failing the bundle.
	b.Add(in.Type, in.Value, uint16(in.Port), src, in.Family)
}

// fullBundle returns the encoded full set and its version.
func (a *Authority) fullBundle(ctx context.Context) ([]byte, int64, error) {
	s := a.intelS
	v, err := s.store.IndicatorsVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	if s.full != nil && s.fullV == v {
		defer s.mu.Unlock()
		return s.full, v, nil
	}
	s.mu.Unlock()
	var list []store.Indicator
	v, err = s.store.LiveIndicators(ctx, deviceTypes, func(in store.Indicator) error { list = append(list, in); return nil })
	if err != nil {
		return nil, 0, err
	}
	b := indicators.NewBuilder(v)
	for _, in := range list {
		toIndicators(b, in)
	}
	data := b.Build().Encode()
	s.mu.Lock()
	s.full, s.fullV = data, v
	s.mu.Unlock()
	return data, v, nil
}

func (a *Authority) handleIndicators(w http.ResponseWriter, r *http.Request) error {
	if a.intelS == nil {
		return errorf(http.StatusNotFound, "not_found", "this authority serves no indicators")
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errorf(http.StatusUnauthorized, "bad_token", "send the download token from the check-in answer as a Bearer token")
	}
	if _, err := a.checkIndicatorToken(r.Context(), strings.TrimSpace(tok)); err != nil {
		return err
	}
	var since int64
	if s := r.URL.Query().Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "bad_since", "since must be a bundle version (a number ≥ 0)")
		}
		since = n
	}
	var body []byte
	if since > 0 {
		d, err := a.intelS.store.IndicatorChanges(r.Context(), since, deviceTypes)
		switch {
		case errors.Is(err, store.ErrDeltaTooOld):
		case err != nil:
			return fmt.Errorf("indicator changes: %w", err)
		case d.To == since:
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNoContent)
			return nil
		default:
			add, rem := indicators.NewBuilder(d.To), indicators.NewBuilder(d.To)
			for _, in := range d.Added {
				toIndicators(add, in)
			}
			for _, in := range d.Removed {
				toIndicators(rem, in)
			}
			body = indicators.Delta{From: d.From, To: d.To, Add: add.Build(), Remove: rem.Build()}.Encode()
		}
	}
	if body == nil {
		full, _, err := a.fullBundle(r.Context())
		if err != nil {
			return fmt.Errorf("indicator bundle: %w", err)
		}
		body = full
	}
	sig, err := a.signDetached(body)
	if err != nil {
		return err
	}
	w.Header().Set(protocol.HeaderSignature, sig)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	// A full bundle is megabytes: a device on a slow link gets the time
	// it needs, where every other route keeps the server's tight write
	// timeout. The server without deadlines (a test's) is left as it is.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(bundleWriteTime(len(body))))
	w.Write(body)
	return nil
}

// bundleSlowestRate is the slowest link a bundle download is given time
// for, in bytes a second (128 kbit/s).
const bundleSlowestRate = 16 << 10

// bundleWriteTime is how long writing a bundle of n bytes may take: half
// a minute, and the time n bytes take at bundleSlowestRate (24 MB: 26
// minutes), at most an hour.
func bundleWriteTime(n int) time.Duration {
	return min(30*time.Second+time.Duration(n)*time.Second/bundleSlowestRate, time.Hour)
}

// signDetached signs body and returns the JWS with its payload part empty.
func (a *Authority) signDetached(body []byte) (string, error) {
	signer, kid := a.keys.Signer()
	jws, err := healthcert.SignCompact(signer, kid, protocol.IndicatorsType, body)
	if err != nil {
		return "", fmt.Errorf("signing the bundle: %w", err)
	}
	h, rest, _ := strings.Cut(jws, ".")
	_, sig, _ := strings.Cut(rest, ".")
	return h + ".." + sig, nil
}

// intelCheckin is what threat intelligence adds to one check-in.
type intelCheckin struct {
	a        *Authority
	deviceID string
	// sightings: the device's questions must be read (intelcache.go).
	sightings bool
	// sighting is the confirmed sighting the verdict rests on, told to
	// the user in the signed notice; nil when there is none.
	sighting *protocol.NoticeSighting
}

// beforePolicy records the device's sighting answers and, when its own
// evidence confirmed a sighting within SightingHold, puts a failing
// malware result (evidence "sighting", trust self_reported) in the
// statement the policy appraises. The policy decides what that means.
func (a *Authority) intelBeforePolicy(ctx context.Context, deviceID string, st *health.Statement, now time.Time) (*intelCheckin, error) {
	if a.intelS == nil {
		return nil, nil
	}
	s := a.intelS.store
	for _, ans := range st.Sightings {
		ev := ""
		if ans.Seen {
			b, _ := json.Marshal(map[string]any{"endpoint": ans.Endpoint, "seen_at": ans.SeenAt.UTC()})
			ev = string(b)
		}
		err := s.AnswerQuestion(ctx, deviceID, ans.QuestionID, ans.Seen, ev, now.UTC())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("recording a sighting answer: %w", err)
		}
		if err == nil && ans.Seen {
			a.markSightingsActive(now)
		}
	}
	// With no question open or recently confirmed anywhere (intelcache.go),
	// a check-in without answers has nothing to read.
	active := len(st.Sightings) > 0
	if !active {
		active, _ = a.sightingsActive(ctx, now)
	}
	ic := &intelCheckin{a: a, deviceID: deviceID, sightings: active}
	if !active {
		return ic, nil
	}
	conf, err := s.ConfirmedSince(ctx, deviceID, now.Add(-SightingHold))
	if err != nil {
		return nil, fmt.Errorf("reading confirmed sightings: %w", err)
	}
	if len(conf) > 0 {
		// conf is newest first: the hold runs from the latest confirmation.
		ns := noticeSighting(conf[0])
		res := health.Result{
			ID:     health.Malware,
			Status: health.Fail,
			Reason: sightingText(ns).EN,
			Evidence: health.Evidence{Source: "sighting", Trust: health.SelfReported,
				Facts: map[string]any{"c2": conf[0].C2, "family": conf[0].Family, "endpoint": ns.Endpoint,
					"seen_at": ns.SeenAt, "answered_at": conf[0].AnsweredAt, "until": ns.Until}},
		}
		placed, found := false, false
		for i := range st.Checks {
			if st.Checks[i].ID != health.Malware {
				continue
			}
			found = true
			// The device's own failing malware result stays: it is then
			// the reason, not the sighting.
			if st.Checks[i].Status != health.Fail {
				st.Checks[i], placed = res, true
			}
		}
		if !found {
			st.Checks, placed = append(st.Checks, res), true
		}
		if placed {
			ic.sighting = &ns
		}
	}
	return ic, nil
}

// noticeSighting reads a confirmed question: the endpoint and time the
// device's own history showed (its answer's evidence; the question's C2
// and time when the evidence does not say), and the hold's end.
func noticeSighting(q store.Question) protocol.NoticeSighting {
	ns := protocol.NoticeSighting{Endpoint: q.C2, Family: q.Family, SeenAt: q.SeenAt.UTC(),
		ConfirmedAt: q.AnsweredAt.UTC(), Until: q.AnsweredAt.Add(SightingHold).UTC()}
	var ev struct {
		Endpoint string    `json:"endpoint"`
		SeenAt   time.Time `json:"seen_at"`
	}
	if json.Unmarshal([]byte(q.Evidence), &ev) == nil {
		if ev.Endpoint != "" {
			ns.Endpoint = ev.Endpoint
		}
		if !ev.SeenAt.IsZero() {
			ns.SeenAt = ev.SeenAt.UTC()
		}
	}
	return ns
}

// noticeTime is how a signed notice writes a time: UTC, to the minute.
const noticeTime = "2006-01-02 15:04 UTC"

// sightingText says what a confirmed sighting means for the device and
// when the hold ends.
func sightingText(ns protocol.NoticeSighting) protocol.Localized {
	seen, until := ns.SeenAt.UTC().Format(noticeTime), ns.Until.UTC().Format(noticeTime)
	return protocol.Localized{
		EN: fmt.Sprintf("An outside report that this device's address talked to a botnet control server was confirmed by this device's own connection history (%s, seen %s); it stays until %s unless the device is cleaned and an operator clears it.",
			ns.Endpoint, seen, until),
		ZH: fmt.Sprintf("一份外部报告称此设备的地址曾与僵尸网络控制服务器通信，此设备自身的连接记录证实了这一点（%s，发现于 %s）；除非设备已清理并由管理员解除，否则此状态将保持到 %s。",
			ns.Endpoint, seen, until),
	}
}

// respond adds the bundle offer, open questions and a signed notice to
// the check-in answer.
func (ic *intelCheckin) respond(ctx context.Context, resp *protocol.CheckinResponse, ap policy.Appraisal, goos string, now time.Time) error {
	if ic == nil {
		return nil
	}
	a, s := ic.a, ic.a.intelS.store
	v, err := a.indicatorsVersion(ctx, now)
	if err != nil {
		return fmt.Errorf("indicator version: %w", err)
	}
	if v > 0 {
		exp := now.Add(indicatorTokenLifetime).UTC().Truncate(time.Second)
		tok, err := a.indicatorToken(ctx, ic.deviceID, exp)
		if err != nil {
			return fmt.Errorf("indicator token: %w", err)
		}
		resp.Indicators = &protocol.IndicatorsOffer{Version: v, URI: a.indicatorsURI(), Token: tok, ExpiresAt: exp}
	}
	var qs []store.Question
	if ic.sightings {
		qs, err = s.OpenQuestions(ctx, ic.deviceID)
		if err != nil {
			return fmt.Errorf("open questions: %w", err)
		}
	}
	for _, q := range qs {
		// A sighting that named no C2 asks about the family's addresses
		// in the device's bundle (the store asks only when it has some).
		match := protocol.MatchEndpoint
		if q.C2 == "" {
			match = protocol.MatchFamily
		}
		resp.Questions = append(resp.Questions, protocol.SightingQuestion{ID: q.ID, C2: q.C2, Family: q.Family, Match: match, Around: q.SeenAt, WindowSeconds: int64(q.Window / time.Second)})
	}
	if ap.Tier == health.Contraindicated {
		n, err := a.signNotice(ic.deviceID, ap.Tier, goos, now, ic.sighting)
		if err != nil {
			return err
		}
		resp.Notice = n
	}
	return nil
}

// SignNotice signs the message a contraindicated device shows its user:
// what happened and how to clean the device, in English and Chinese.
func (a *Authority) SignNotice(deviceID string, tier health.Tier, goos string, now time.Time) (string, error) {
	return a.signNotice(deviceID, tier, goos, now, nil)
}

// signNotice signs the notice; with a confirmed sighting, the message
// says what was confirmed, when, and when the hold ends, and the last
// step says how it ends sooner.
func (a *Authority) signNotice(deviceID string, tier health.Tier, goos string, now time.Time, sg *protocol.NoticeSighting) (string, error) {
	n := protocol.Notice{
		Issuer: a.cfg.Issuer, DeviceID: deviceID, IssuedAt: now.Unix(), Expiry: now.Add(a.cfg.CertificateLifetime).Unix(),
		Verdict: string(tier),
		Title:   protocol.Localized{EN: "This device appears to be infected", ZH: "此设备似乎已被感染"},
		Message: protocol.Localized{
			EN: "Your health authority found signs that this device is talking to a botnet. Until it is cleaned, banks and shops that check device health will only let you reach their help pages.",
			ZH: "您的健康认证机构发现此设备正在与僵尸网络通信。在清理完成之前，检查设备健康状况的银行和商店只允许您访问其帮助页面。",
		},
	}
	if e, ok := guide.For(health.Malware); ok {
		fix := e.FixFor(goos)
		n.Steps = append(n.Steps, protocol.Localized{EN: fix.En, ZH: fix.Zh})
	}
	n.Steps = append(n.Steps, protocol.Localized{
		EN: "After cleaning, change the passwords you used on this device, from another device you trust.",
		ZH: "清理完成后，请在另一台您信任的设备上更改您在此设备上使用过的密码。",
	})
	if sg != nil {
		t := sightingText(*sg)
		n.Sighting = sg
		n.Message = protocol.Localized{
			EN: t.EN + " Until then, banks and shops that check device health will only let you reach their help pages.",
			ZH: t.ZH + "在此之前，检查设备健康状况的银行和商店只允许您访问其帮助页面。",
		}
		until := sg.Until.UTC().Format(noticeTime)
		n.Steps = append(n.Steps, protocol.Localized{
			EN: "Once the device is cleaned, ask your health authority's operator to clear the report, so the next check-in is judged on this device's own checks; otherwise it clears by itself on " + until + ".",
			ZH: "设备清理完成后，请联系您的健康认证机构的管理员解除该报告，这样下一次签到将只依据此设备自身的检查结果；否则它将于 " + until + " 自动解除。",
		})
	}
	payload, err := json.Marshal(n)
	if err != nil {
		return "", err
	}
	signer, kid := a.keys.Signer()
	tok, err := healthcert.SignCompact(signer, kid, protocol.NoticeType, payload)
	if err != nil {
		return "", fmt.Errorf("signing a notice: %w", err)
	}
	return tok, nil
}
