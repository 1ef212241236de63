package authority

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// apiError is an error with the HTTP status and code it is answered with.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, code, format string, args ...any) error {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// handler is an HTTP handler that returns its error; serve turns errors
// into responses in this one place.
type handler func(w http.ResponseWriter, r *http.Request) error

func (a *Authority) serve(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(p))
				writeJSON(w, http.StatusInternalServerError, protocol.Error{Error: "internal error", Code: "internal"})
			}
		}()
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	}
}

// statusClientGone is the status recorded (and written, for nobody) when
// the client went away before it was answered, as nginx logs it.
const statusClientGone = 499

// writeError answers err: an apiError with its status and code, an
// oversized body with 413, a client that went away with nothing it will
// read (counted as client_gone), anything else with 500. It returns the
// status written.
func (a *Authority) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		// The client disconnected while the request was worked on; the
		// store's transactions roll back or complete, nothing is left
		// half-written, and it is not the authority's failure.
		a.rejected("client_gone")
		a.log.Debug("client went away", "path", r.URL.Path, "err", err)
		writeJSON(w, statusClientGone, protocol.Error{Error: "the client went away before the answer", Code: "client_gone"})
		return statusClientGone
	default:
		a.log.Error("request failed", "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error; try again later"}
	}
	a.rejected(ae.code)
	if ae.status < 500 {
		a.log.Info("request rejected", "path", r.URL.Path, "status", ae.status, "code", ae.code, "reason", ae.msg)
	}
	writeJSON(w, ae.status, protocol.Error{Error: ae.msg, Code: ae.code})
	return ae.status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func (a *Authority) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+protocol.PathDiscovery, a.serve(a.handleDiscovery))
	m.HandleFunc("GET "+protocol.PathJWKS, a.serve(a.handleJWKS))
	m.HandleFunc("POST "+protocol.PathChallenge, a.serve(a.handleChallenge))
	m.HandleFunc("POST "+protocol.PathEnroll, a.serve(a.handleEnroll))
	m.HandleFunc("POST "+protocol.PathCheckin, a.serve(a.handleCheckin))
	m.HandleFunc("GET "+protocol.PathHealth, a.serve(a.handleHealth))
	a.routesStatus(m)
	a.routesIntel(m)
	a.routesOperations(m)
	a.routesPopulation(m)
	m.HandleFunc("/", a.serve(a.notFound(m)))
	a.mux = m
}

func (a *Authority) handleDiscovery(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, a.Discovery())
	return nil
}

func (a *Authority) handleJWKS(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	jwks, err := a.keys.CurrentJWKS(r.Context())
	if err != nil {
		// The keys held are still right unless a rotation is missed.
		a.log.Warn("reading the keys version for the JWKS", "err", err)
	}
	writeJSON(w, http.StatusOK, jwks)
	return nil
}

func (a *Authority) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.store.Stats(r.Context()); err != nil {
		return errorf(http.StatusServiceUnavailable, "store_unavailable", "the store does not answer: %v", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (a *Authority) handleChallenge(w http.ResponseWriter, r *http.Request) error {
	now := a.now()
	device := r.URL.Query().Get("device")
	if len(device) > maxNonceDeviceLen || strings.ContainsFunc(device, func(c rune) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_')
	}) {
		return errorf(http.StatusBadRequest, "bad_device", "device must be a device id (up to %d letters, digits, '-' and '_')", maxNonceDeviceLen)
	}
	// Nothing is stored: the nonce carries its own time and MAC (nonce.go).
	c := protocol.Challenge{Nonce: a.newNonce(now, device), ExpiresAt: now.Add(a.cfg.NonceLifetime).UTC()}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// readBody reads a bounded body. When the request says its length (and
// it is within bounds) the buffer is made that size at once, one byte
// more to see the end, instead of growing from 512 bytes; what is read
// and the errors are io.ReadAll's.
// A body that ends before its declared length is a 400.
func (a *Authority) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return a.readBodyMax(w, r, a.cfg.MaxBodyBytes)
}

// maxStatementBytes bounds a check-in's body: a statement is a compact
// JWS of at most healthcert.MaxTokenSize bytes, with room for the line
// ends around it.
const maxStatementBytes = healthcert.MaxTokenSize + 64

// readBodyMax is readBody with its own limit.
func (a *Authority) readBodyMax(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := a.readBodyRaw(w, r, limit)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errorf(http.StatusBadRequest, "truncated_body", "the request body ended after %d of its %d bytes; send it whole", len(b), r.ContentLength)
	}
	return b, err
}

func (a *Authority) readBodyRaw(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	n := r.ContentLength
	if n <= 0 || n > limit {
		return io.ReadAll(body)
	}
	b := make([]byte, 0, n+1)
	for {
		m, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "malformed_json", "the body is not the expected JSON: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "malformed_json", "the body has data after its JSON value")
	}
	return nil
}

// DeviceID is the id of a device key: the base64url SHA-256 of the key,
// truncated to 128 bits.
func DeviceID(pub ed25519.PublicKey) string {
	k, _ := healthcert.NewJWK(pub, "")
	return k.Thumbprint()[:22]
}

func (a *Authority) handleEnroll(w http.ResponseWriter, r *http.Request) error {
	body, err := a.readBody(w, r)
	if err != nil {
		return err
	}
	var req protocol.EnrollRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	pub, err := base64.RawURLEncoding.DecodeString(req.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return errorf(http.StatusBadRequest, "bad_public_key", "public_key must be a base64url Ed25519 key of 32 bytes")
	}
	sig, err := base64.RawURLEncoding.DecodeString(req.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errorf(http.StatusBadRequest, "bad_signature", "signature must be a base64url Ed25519 signature")
	}
	switch req.OS {
	case "linux", "windows", "darwin", "freebsd", "openbsd", "netbsd", "android", "ios":
	default:
		return errorf(http.StatusBadRequest, "bad_os", "os %q is not an operating system herd knows", req.OS)
	}
	if req.Nonce == "" {
		return errorf(http.StatusBadRequest, "nonce_missing", "nonce is required; get one from %s", protocol.PathChallenge)
	}
	if !ed25519.Verify(pub, protocol.EnrollProof(req.Nonce, req.PublicKey), sig) {
		return errorf(http.StatusUnauthorized, "bad_signature", "the signature does not prove possession of the key")
	}
	if err := a.useNonce(r, req.Nonce); err != nil {
		return err
	}
	if err := a.checkEnrollment(r.Context(), req.Token); err != nil {
		return err
	}
	id := DeviceID(pub)
	err = a.store.CreateDevice(r.Context(), store.Device{ID: id, PublicKey: pub, OS: req.OS, EnrolledAt: a.now().UTC()})
	switch {
	case errors.Is(err, store.ErrConflict):
		// The same key enrolling again gets the same id: idempotent.
	case err != nil:
		return fmt.Errorf("enrolling: %w", err)
	default:
		a.log.Info("device enrolled", "device", id, "os", req.OS)
	}
	writeJSON(w, http.StatusCreated, protocol.EnrollResponse{DeviceID: id})
	return nil
}

func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

func (a *Authority) handleCheckin(w http.ResponseWriter, r *http.Request) error {
	body, err := a.readBodyMax(w, r, min(a.cfg.MaxBodyBytes, maxStatementBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "the statement is larger than %d bytes, the most a check-in takes", healthcert.MaxTokenSize)
	}
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(body))
	if len(token) > healthcert.MaxTokenSize {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "the statement is %d bytes; a check-in takes at most %d", len(token), healthcert.MaxTokenSize)
	}
	jws, err := healthcert.ParseCompact(token)
	if err != nil {
		return errorf(http.StatusBadRequest, "malformed_statement", "the body must be a compact JWS signed with the device key: %v", err)
	}
	if jws.Header.Alg != healthcert.EdDSA {
		return errorf(http.StatusBadRequest, "bad_algorithm", "statements are signed with EdDSA, not %s", jws.Header.Alg)
	}
	dev, err := a.device(r.Context(), jws.Header.Kid)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusUnauthorized, "unknown_device", "no device is enrolled with id %q; enroll first", jws.Header.Kid)
	} else if err != nil {
		return fmt.Errorf("looking up device: %w", err)
	}
	if err := jws.Verify(ed25519.PublicKey(dev.PublicKey)); err != nil {
		return errorf(http.StatusUnauthorized, "bad_signature", "the statement's signature does not verify with the device key")
	}
	if err := a.limitDevice(w, r, dev.ID); err != nil {
		return err
	}
	var st health.Statement
	if err := decodeStatement(jws.Payload, &st); err != nil {
		return err
	}
	if err := st.Validate(); err != nil {
		return errorf(http.StatusBadRequest, "bad_statement", "the statement is not valid: %v", err)
	}
	for _, aud := range st.Audiences {
		if err := protocol.ValidAudience(aud); err != nil {
			return errorf(http.StatusBadRequest, "bad_audience", "no certificate is issued for this audience: %v (remove it with herd-agent untrust)", err)
		}
	}
	if st.DeviceID != dev.ID {
		return errorf(http.StatusBadRequest, "bad_statement", "the statement names device %q but is signed by %q", st.DeviceID, dev.ID)
	}
	now := a.now()
	if d := now.Sub(st.IssuedAt); d > a.cfg.ClockSkew || d < -a.cfg.ClockSkew {
		return errorf(http.StatusBadRequest, "clock_skew", "issued_at %s is more than %s from the authority's time %s; check the device clock", st.IssuedAt.UTC().Format(time.RFC3339), a.cfg.ClockSkew, now.UTC().Format(time.RFC3339))
	}
	// The nonce's MAC and age are checked now; it is used up in the
	// check-in's own transaction (RecordCheckin), so a replay is refused
	// there and leaves nothing behind.
	nonce, err := a.checkNonce(st.Nonce, now, dev.ID)
	if err != nil {
		return err
	}
	// A replay must be refused before it can act outside the check-in's
	// transaction: record sighting answers, revoke certificates (a
	// contraindicated verdict) or note new audiences. Only then is the
	// used nonce read beforehand; a check-in that does none of these
	// writes nothing outside its transaction, so its replay is refused by
	// the transaction alone and leaves nothing behind.
	prechecked := false
	refuseReplay := func() error {
		if prechecked {
			return nil
		}
		prechecked = true
		var used bool
		var err error
		if nonce.device != nil {
			used, err = a.store.DeviceNonceUsed(r.Context(), dev.ID, *nonce.device)
		} else {
			used, err = a.store.NonceUsed(r.Context(), nonce.key)
		}
		if err != nil {
			return fmt.Errorf("checking the nonce: %w", err)
		} else if used {
			return nonceUseError(store.ErrNonceUnknown)
		}
		return nil
	}
	if len(st.Sightings) > 0 {
		if err := refuseReplay(); err != nil {
			return err
		}
	}
	intel, err := a.intelBeforePolicy(r.Context(), dev.ID, &st, now)
	if err != nil {
		return err
	}
	ap, err := a.currentPolicy().Evaluate(&st, now)
	if err != nil {
		return fmt.Errorf("evaluating policy: %w", err)
	}
	if ap.Tier == health.Contraindicated {
		if err := refuseReplay(); err != nil {
			return err
		}
	}
	resp := protocol.CheckinResponse{
		Verdict:            ap.Tier,
		PolicyID:           ap.PolicyID,
		Findings:           ap.Findings,
		Required:           ap.Required,
		Certificates:       []protocol.Certificate{},
		NextCheckinSeconds: int64(a.cfg.CheckinInterval / time.Second),
	}
	if resp.Findings == nil {
		resp.Findings = []health.Finding{}
	}
	certs, err := a.issueAll(r.Context(), dev.ID, st.Audiences, ap, now, &resp)
	if err != nil {
		return err
	}
	if err := intel.respond(r.Context(), &resp, ap, st.OS, now); err != nil {
		return err
	}
	if err := a.noteAudiences(r.Context(), dev, st.Audiences, now, refuseReplay); err != nil {
		return err
	}
	events, err := a.checkinEvents(r.Context(), dev, ap, now)
	if err != nil {
		return fmt.Errorf("preparing webhook events: %w", err)
	}
	family, err := a.infectionFamily(r.Context(), st.Checks, intel)
	if err != nil {
		return err
	}
	seg := a.segmentLabels(r, &st)
	id, err := a.store.RecordCheckin(r.Context(), store.Checkin{
		DeviceID:   dev.ID,
		ReceivedAt: now.UTC(),
		Verdict:    ap.Tier,
		PolicyID:   ap.PolicyID,
		Findings:   ap.Findings,
		OS:         seg.OS,
		OSVersion:  seg.OSVersion,
		Agent:      seg.Agent,
		Statement:  body,
		SourceIP:   clientIP(r),
		Country:    seg.Country,
		Family:     family,
		// Queued in the check-in's transaction, only when the verdict
		// changes: nothing is lost between the two.
		Events:         events,
		EventsOnChange: true,
		NonceKey:       nonce.key,
		NonceExpires:   nonce.expires,
		DeviceNonce:    nonce.device,
		Certificates:   certs,
	})
	if errors.Is(err, store.ErrNonceUnknown) {
		return nonceUseError(err)
	}
	if errors.Is(err, store.ErrNotFound) {
		a.forgetDevice(dev.ID)
		return errorf(http.StatusUnauthorized, "unknown_device", "device %q is no longer enrolled; enroll again", dev.ID)
	}
	if err != nil {
		return fmt.Errorf("recording check-in: %w", err)
	}
	a.afterCheckin(ap, len(events))
	resp.CheckinID = id
	writeCheckinResponse(w, &resp)
	return nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
