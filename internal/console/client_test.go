package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// client talks to a console handler in process, keeping its cookies and
// a fixed client address.
type client struct {
	t       testing.TB
	h       http.Handler
	addr    string
	cookies map[string]*http.Cookie
	// header is sent with every request (X-Forwarded-For behind a proxy).
	header http.Header
}

func newClient(t testing.TB, h http.Handler, addr string) *client {
	return &client{t: t, h: h, addr: addr, cookies: map[string]*http.Cookie{}}
}

func (c *client) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	r.RemoteAddr = c.addr + ":40000"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range c.cookies {
		r.AddCookie(ck)
	}
	for k, vs := range c.header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return w
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token in a page's first form.
func csrf(t testing.TB, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%.400s", body)
	}
	return m[1]
}

// login signs in with a name and password and returns the answer's
// status (303 on success).
func (c *client) login(name, password string) int {
	c.t.Helper()
	page := c.do("GET", "/console/login", nil)
	if page.Code != http.StatusOK {
		c.t.Fatalf("login page: %d", page.Code)
	}
	w := c.do("POST", "/console/login", url.Values{"csrf": {csrf(c.t, page.Body.String())}, "name": {name}, "password": {password}, "next": {"/console/"}})
	return w.Code
}
