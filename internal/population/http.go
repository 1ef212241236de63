package population

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// Handler serves the console's JSON API:
//
//	GET /v1/population/overview?days=30
//	GET /v1/population/breakdown?dimension=os&days=30
//	GET /v1/population/cohort?expr=firewall%3Dfail+AND+os_support%3Dfail&cursor=&limit=100
//	GET /v1/population/alerts?days=30
//	POST /v1/population/outbreaks/run   (runs detection for today)
//
// PLACEHOLDER AUTHENTICATION: every request needs "Authorization: Bearer
// <AdminToken>"; with no AdminToken configured the API answers 503. This
// stands in until operator accounts exist; replace the check in auth.
type Handler struct {
	Service    *Service
	AdminToken string
}

func (h *Handler) auth(r *http.Request) (int, string) {
	if h.AdminToken == "" {
		return http.StatusServiceUnavailable, "no admin token configured (HERD_ADMIN_TOKEN)"
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(h.AdminToken)) != 1 {
		return http.StatusUnauthorized, "admin token required"
	}
	return 0, ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, errCode, msg string) {
	writeJSON(w, code, map[string]string{"error": msg, "code": errCode})
}

func intParam(r *http.Request, name string, def int) int {
	if v := r.URL.Query().Get(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		return -1
	}
	return def
}

// ServeHTTP routes the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if code, msg := h.auth(r); code != 0 {
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herd"`)
		}
		fail(w, code, "unauthorized", msg)
		return
	}
	ctx := r.Context()
	days := intParam(r, "days", 30)
	var (
		v   any
		err error
	)
	switch p := strings.TrimPrefix(r.URL.Path, "/v1/population/"); {
	case r.Method == http.MethodGet && p == "overview":
		v, err = h.Service.Overview(ctx, days)
	case r.Method == http.MethodGet && p == "breakdown":
		v, err = h.Service.Breakdown(ctx, store.Dimension(r.URL.Query().Get("dimension")), days)
	case r.Method == http.MethodGet && p == "cohort":
		v, err = h.Service.Cohort(ctx, r.URL.Query().Get("expr"), r.URL.Query().Get("cursor"), intParam(r, "limit", 100))
	case r.Method == http.MethodGet && p == "alerts":
		var as []AlertView
		as, err = h.Service.Alerts(ctx, days)
		v = map[string]any{"alerts": as}
	case r.Method == http.MethodPost && p == "outbreaks/run":
		var ds []AlertDetail
		ds, err = h.Service.Detect(ctx, h.Service.now())
		v = map[string]any{"alerts": ds, "day": h.Service.now().Format(time.DateOnly)}
	default:
		fail(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
		return
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		fail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}
