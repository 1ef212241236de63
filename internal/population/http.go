package population

import (
	"encoding/json"
	"errors"
	"fmt"
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
// Authentication is the mounting server's: Authorize runs first and its
// error answers the request (the authority checks an admin API token
// and writes an audit record there).
type Handler struct {
	Service *Service
	// Authorize decides whether r may be served; nil refuses every
	// request, so an unwired handler is never open.
	Authorize func(w http.ResponseWriter, r *http.Request) bool
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

// reason is a parameter error as the client reads it.
func reason(err error) string { return strings.TrimPrefix(err.Error(), ErrBadParameter.Error()+": ") }

// intParam reads a whole-number parameter; def when absent.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s must be a whole number, got %.40q", ErrBadParameter, name, v)
	}
	return n, nil
}

// ServeHTTP routes the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Authorize == nil {
		fail(w, http.StatusServiceUnavailable, "not_configured", "the population API has no authentication configured")
		return
	}
	if !h.Authorize(w, r) {
		return
	}
	ctx := r.Context()
	days, err := intParam(r, "days", 30)
	if err != nil {
		fail(w, http.StatusBadRequest, "bad_request", reason(err))
		return
	}
	var v any
	switch p := strings.TrimPrefix(r.URL.Path, "/v1/population/"); {
	case r.Method == http.MethodGet && p == "overview":
		v, err = h.Service.Overview(ctx, days)
	case r.Method == http.MethodGet && p == "breakdown":
		v, err = h.Service.Breakdown(ctx, store.Dimension(r.URL.Query().Get("dimension")), days)
	case r.Method == http.MethodGet && p == "cohort":
		var limit int
		if limit, err = intParam(r, "limit", 100); err == nil {
			v, err = h.Service.Cohort(ctx, r.URL.Query().Get("expr"), r.URL.Query().Get("cursor"), limit)
		}
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
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case ctx.Err() != nil:
		// The client went away.
	case errors.Is(err, ErrBadParameter):
		fail(w, http.StatusBadRequest, "bad_request", reason(err))
	default:
		// A store failure: its text (SQL, paths) is for the log, not the
		// client.
		if h.Service.Logger != nil {
			h.Service.Logger.Error("population API", "path", r.URL.Path, "err", err)
		}
		fail(w, http.StatusInternalServerError, "internal", "the population statistics could not be read; try again later")
	}
}
