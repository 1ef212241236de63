package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/herd-health/herd/internal/node"
)

// TestAdminUserDeleteEndsSessions: an operator signed in to a running
// console is signed out when `herd admin user delete` deletes the
// account; the deletion is audited with its outcome.
func TestAdminUserDeleteEndsSessions(t *testing.T) {
	n, _, dsn := testNode(t, node.Config{})
	defer func(r io.Reader) { passwordInput = r }(passwordInput)
	passwordInput = strings.NewReader("a long enough password\n")
	if code, _, errs := herd(t, "admin", "user", "create", "--db", dsn, "--name", "alice"); code != 0 {
		t.Fatalf("create: %s", errs)
	}
	h := n.Handler()
	cookies := map[string]*http.Cookie{}
	do := func(method, path string, form url.Values) *httptest.ResponseRecorder {
		var r *http.Request
		if form != nil {
			r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(method, path, nil)
		}
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			cookies[c.Name] = c
		}
		return w
	}
	page := do("GET", "/console/login", nil)
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.Body.String())
	if tok == nil {
		t.Fatal("no login form")
	}
	if w := do("POST", "/console/login", url.Values{"csrf": {tok[1]}, "name": {"alice"}, "password": {"a long enough password"}, "next": {"/console/"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", w.Code)
	}
	if w := do("GET", "/console/", nil); w.Code != http.StatusOK {
		t.Fatalf("overview: %d", w.Code)
	}
	code, out, errs := herd(t, "admin", "user", "delete", "--db", dsn, "--name", "alice")
	if code != 0 || !strings.Contains(out, "deleted console user alice") {
		t.Fatalf("delete: exit %d %q %q", code, out, errs)
	}
	if w := do("GET", "/console/", nil); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/console/login") {
		t.Errorf("after deleting the account the console answers %d %s; want a redirect to sign in", w.Code, w.Header().Get("Location"))
	}
	if code, _, errs := herd(t, "admin", "user", "delete", "--db", dsn, "--name", "alice"); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("deleting again: exit %d %q", code, errs)
	}
	st, err := openOps(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, _ := st.AuditLog(context.Background(), 20)
	var outcomes []string
	for _, e := range log {
		if e.Action == "console_user.delete" && e.Target == "alice" {
			outcomes = append(outcomes, e.Outcome)
		}
	}
	if strings.Join(outcomes, ",") != "error,ok" {
		t.Errorf("console_user.delete outcomes %v, want error (the second) and ok", outcomes)
	}
}
