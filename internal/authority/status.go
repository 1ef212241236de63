package authority

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// PathStatus is where status lists are served: PathStatus + "/<list id>".
const PathStatus = "/v1/status"

// StatusListTokenType is the typ header and media subtype of a status
// list token (draft-ietf-oauth-status-list).
const (
	StatusListTokenType = "statuslist+jwt"
	StatusListMediaType = "application/statuslist+jwt"
)

// statusBlock is how many indices a node reserves from the store at a
// time, so check-ins do not all queue on one counter row. Indices of a
// block a node never hands out (it stopped) are simply never used.
const statusBlock = 256

// statusTokenValidity is the exp of a status list token after its iat.
const statusTokenValidity = time.Hour

// statusState is the authority's revocation machinery: its store, the
// block of indices this node hands out, and the signed tokens it serves.
type statusState struct {
	lists store.StatusLists

	mu        sync.Mutex // guards the block
	list      int64
	next, end int64

	cacheMu sync.Mutex
	cache   map[int64]cachedStatus
}

type cachedStatus struct {
	token string
	made  time.Time
}

// statusSlot is one reserved index.
type statusSlot struct{ list, idx int64 }

// statusURI is the URI of status list id.
func (a *Authority) statusURI(id int64) string {
	return a.cfg.Issuer + PathStatus + "/" + strconv.FormatInt(id, 10)
}

// currentStatusURI is the URI of the list this node is handing indices
// out of (the first list before any certificate is issued), for
// discovery; every certificate names its own list.
func (a *Authority) currentStatusURI() string {
	if a.status == nil {
		return ""
	}
	a.status.mu.Lock()
	id := max(a.status.list, 1)
	a.status.mu.Unlock()
	return a.statusURI(id)
}

// reserveStatus hands out n indices for the certificates of one check-in.
func (a *Authority) reserveStatus(ctx context.Context, n int) ([]statusSlot, error) {
	s := a.status
	if s == nil || n == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.end-s.next < int64(n) {
		block := min(max(int64(n), statusBlock), a.cfg.StatusListSize)
		list, first, err := s.lists.ReserveStatusIndices(ctx, int(block), a.cfg.StatusListSize)
		if err != nil {
			return nil, fmt.Errorf("reserving status list indices: %w", err)
		}
		s.list, s.next, s.end = list, first, first+block
	}
	out := make([]statusSlot, n)
	for i := range out {
		out[i] = statusSlot{s.list, s.next}
		s.next++
	}
	return out, nil
}

// Revoke revokes every unexpired certificate of the device: their bits
// are set in the status lists at once, and relying parties that check
// status learn it within their maximum staleness. It returns how many
// certificates it revoked. reason is kept with them.
func (a *Authority) Revoke(ctx context.Context, deviceID, reason string) (int, error) {
	if a.status == nil {
		return 0, errors.New("authority: revocation is off (no status list store)")
	}
	revoked, err := a.status.lists.RevokeDevice(ctx, deviceID, reason, a.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("revoking the certificates of %s: %w", deviceID, err)
	}
	if len(revoked) > 0 {
		a.status.cacheMu.Lock()
		for _, c := range revoked {
			delete(a.status.cache, c.ListID)
		}
		a.status.cacheMu.Unlock()
	}
	a.log.Info("certificates revoked", "device", deviceID, "reason", reason, "count", len(revoked))
	return len(revoked), nil
}

func (a *Authority) routesStatus(m *http.ServeMux) {
	if a.status == nil {
		return
	}
	m.HandleFunc("GET "+PathStatus+"/{id}", a.serve(a.handleStatusList))
}

// handleStatusList serves a signed status list token.
func (a *Authority) handleStatusList(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errorf(http.StatusNotFound, "not_found", "no status list %q; list ids are positive numbers", r.PathValue("id"))
	}
	now := a.now()
	tok, made, err := a.statusToken(r.Context(), id, now)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "not_found", "no status list %d", id)
	}
	if err != nil {
		return err
	}
	age := max(now.Sub(made), 0)
	w.Header().Set("Content-Type", StatusListMediaType)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int((a.cfg.StatusCacheTime-age)/time.Second)))
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write([]byte(tok))
	return nil
}

// statusToken returns the signed token of list id, made at most
// StatusCacheTime ago.
func (a *Authority) statusToken(ctx context.Context, id int64, now time.Time) (string, time.Time, error) {
	s := a.status
	s.cacheMu.Lock()
	c, ok := s.cache[id]
	s.cacheMu.Unlock()
	if ok && now.Sub(c.made) < a.cfg.StatusCacheTime && !now.Before(c.made) {
		return c.token, c.made, nil
	}
	l, err := s.lists.StatusList(ctx, id)
	if errors.Is(err, store.ErrNotFound) && id == 1 {
		// No certificate issued yet: discovery names the first list all
		// the same, and it is served empty.
		l, err = store.StatusList{ID: 1, Size: a.cfg.StatusListSize}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := a.signStatusList(l, now)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing status list %d: %w", id, err)
	}
	s.cacheMu.Lock()
	if len(s.cache) > 1024 {
		clear(s.cache)
	}
	s.cache[id] = cachedStatus{token: tok, made: now}
	s.cacheMu.Unlock()
	return tok, now, nil
}

// statusListClaims is the payload of a status list token.
type statusListClaims struct {
	Subject    string          `json:"sub"`
	Issuer     string          `json:"iss"`
	IssuedAt   int64           `json:"iat"`
	Expiry     int64           `json:"exp"`
	TTL        int64           `json:"ttl"`
	StatusList statusListValue `json:"status_list"`
}

type statusListValue struct {
	Bits int    `json:"bits"`
	Lst  string `json:"lst"`
}

// EncodeStatusList is the lst value of a list of n entries with one bit
// each: index i is bit i%8 (least significant first) of byte i/8, the
// bytes compressed with DEFLATE in the ZLIB format (RFC 1950), then
// base64url without padding.
func EncodeStatusList(bits []byte, n int64) (string, error) {
	raw := make([]byte, max((n+7)/8, 1))
	copy(raw, bits)
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(raw); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// signStatusList signs list l at its full size, not only the indices
// handed out so far: a relying party holding a copy must be able to read
// the index of a certificate issued after it fetched the list. The zero
// bytes of the unused part compress to almost nothing.
func (a *Authority) signStatusList(l store.StatusList, now time.Time) (string, error) {
	size := max(l.Size, l.Allocated, int64(len(l.Bits))*8)
	lst, err := EncodeStatusList(l.Bits, size)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(statusListClaims{
		Subject:    a.statusURI(l.ID),
		Issuer:     a.cfg.Issuer,
		IssuedAt:   now.Unix(),
		Expiry:     now.Add(statusTokenValidity).Unix(),
		TTL:        int64(a.cfg.StatusListTTL / time.Second),
		StatusList: statusListValue{Bits: 1, Lst: lst},
	})
	if err != nil {
		return "", err
	}
	signer, kid := a.keys.Signer()
	return healthcert.SignCompact(signer, kid, StatusListTokenType, payload)
}

// issueAll issues the check-in's certificates. A contraindicated verdict
// first revokes the device's earlier live certificates (the new ones
// carry the verdict themselves). With revocation on, every certificate
// gets a status list index; the records of the certificates are returned
// for the check-in to store in its own transaction, before they are
// handed out.
func (a *Authority) issueAll(ctx context.Context, deviceID string, audiences []string, ap policy.Appraisal, now time.Time, resp *protocol.CheckinResponse) ([]store.IssuedCertificate, error) {
	if a.status != nil && ap.Tier == health.Contraindicated {
		if _, err := a.Revoke(ctx, deviceID, "contraindicated at check-in"); err != nil {
			return nil, err
		}
	}
	slots, err := a.reserveStatus(ctx, len(audiences))
	if err != nil {
		return nil, err
	}
	recs := make([]store.IssuedCertificate, 0, len(audiences))
	for i, aud := range audiences {
		var slot *statusSlot
		if slots != nil {
			slot = &slots[i]
		}
		c, rec, err := a.issue(deviceID, aud, ap, now, slot)
		if err != nil {
			return nil, fmt.Errorf("signing a certificate: %w", err)
		}
		resp.Certificates = append(resp.Certificates, c)
		recs = append(recs, rec)
	}
	if a.status == nil {
		return nil, nil
	}
	if sl, ok := a.store.(store.StatusLists); !ok || sl != a.status.lists {
		// Status lists kept apart from the check-ins: recorded on their own.
		if err := a.status.lists.RecordCertificates(ctx, recs); err != nil {
			return nil, fmt.Errorf("recording certificates: %w", err)
		}
		return nil, nil
	}
	return recs, nil
}
