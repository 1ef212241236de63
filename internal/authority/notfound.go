package authority

import (
	"net/http"
	"strings"
)

// probeMethods are the methods tried to tell "no such endpoint" from
// "this endpoint does not take this method".
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// notFound answers what no route took. The catch-all "/" route matches
// every method, so ServeMux never reaches its own 405: this looks up the
// path under the other methods and answers 405 with Allow when some route
// serves it, 404 otherwise, both with the JSON error body.
func (a *Authority) notFound(m *http.ServeMux) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, method := range probeMethods {
			if method == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = method
			if _, pattern := m.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, method)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s %s: this endpoint takes %s", r.Method, r.URL.Path, strings.Join(allow, ", "))
		}
		return errorf(http.StatusNotFound, "not_found", "no such endpoint: %s %s", r.Method, r.URL.Path)
	}
}
