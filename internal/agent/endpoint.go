package agent

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/herd-health/herd/internal/protocol"
)

// DefaultEndpointAddr is where the agent's loopback endpoint listens.
const DefaultEndpointAddr = "127.0.0.1:47321"

// Endpoint serves audience-bound certificates to relying parties on the
// loopback interface: GET /v1/certificate?aud=AUD; and GET / (?lang=en or
// zh-CN) is a status page for the device's user: the authority's
// verified notice, the verdict, and how to fix each finding.
//
// A request carrying an Origin header (a web page) is answered only when
// that origin is allowed for the audience, with CORS headers and the
// answer to the private-network-access preflight browsers send. A request
// without Origin (a native app on this device) is answered for any
// audience the agent knows. The Host header must name a loopback host, so
// a DNS-rebinding page cannot reach the endpoint under its own name.
type Endpoint struct {
	Agent *Agent
}

func writeEndpointJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// LoopbackHost reports whether a Host header names this machine's
// loopback interface.
func LoopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	switch strings.ToLower(h) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !LoopbackHost(r.Host) {
		writeEndpointJSON(w, http.StatusMisdirectedRequest, protocol.Error{Error: "this endpoint answers only to localhost, 127.0.0.1 or [::1]", Code: "bad_host"})
		return
	}
	if r.URL.Path == "/" {
		e.servePage(w, r)
		return
	}
	if r.URL.Path != protocol.PathCertificate {
		writeEndpointJSON(w, http.StatusNotFound, protocol.Error{Error: "not found", Code: "not_found"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodOptions {
		writeEndpointJSON(w, http.StatusMethodNotAllowed, protocol.Error{Error: "use GET", Code: "method"})
		return
	}
	aud := r.URL.Query().Get("aud")
	origin := r.Header.Get("Origin")
	st, err := e.Agent.Store.LoadState()
	if err != nil {
		writeEndpointJSON(w, http.StatusServiceUnavailable, protocol.Error{Error: err.Error(), Code: "not_enrolled"})
		return
	}
	var rp *RelyingParty
	for i := range st.RelyingParties {
		if st.RelyingParties[i].Audience == aud {
			rp = &st.RelyingParties[i]
		}
	}
	if origin != "" {
		w.Header().Add("Vary", "Origin")
		if rp == nil || !slices.Contains(rp.Origins, origin) {
			writeEndpointJSON(w, http.StatusForbidden, protocol.Error{Error: "this origin is not allowed to ask for this audience's certificate", Code: "origin_not_allowed"})
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "GET")
		w.Header().Set("Access-Control-Max-Age", "600")
		if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			w.Header().Set("Access-Control-Allow-Private-Network", "true")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if aud == "" {
		writeEndpointJSON(w, http.StatusBadRequest, protocol.Error{Error: "aud is required", Code: "aud_missing"})
		return
	}
	if rp == nil {
		writeEndpointJSON(w, http.StatusNotFound, protocol.Error{Error: "this device does not hold certificates for that audience", Code: "unknown_audience"})
		return
	}
	c, err := e.Agent.Certificate(aud)
	if err != nil {
		writeEndpointJSON(w, http.StatusServiceUnavailable, protocol.Error{Error: err.Error(), Code: "no_certificate"})
		return
	}
	writeEndpointJSON(w, http.StatusOK, c)
}
