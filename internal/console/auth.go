package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/store"
)

const (
	sessionCookie = "herd_console"
	loginCookie   = "herd_login" // the CSRF token of the login form
)

type session struct {
	operator string
	csrf     string
	created  time.Time
	lastUsed time.Time
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashPassword makes the stored hash of a console password (bcrypt).
func HashPassword(password string) ([]byte, error) {
	if len(password) < 12 {
		return nil, errors.New("a console password needs at least 12 characters")
	}
	if len(password) > 72 {
		return nil, errors.New("a console password has at most 72 bytes")
	}
	return bcrypt.GenerateFromPassword([]byte(password), 12)
}

// CreateUser adds a console account with a password.
func CreateUser(ctx context.Context, st store.ConsoleUsers, name, password string, now time.Time) error {
	if name == "" || strings.ContainsAny(name, " \t\r\n:") {
		return errors.New("a console user name is a non-empty word without spaces or colons")
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	return st.CreateConsoleUser(ctx, store.ConsoleUser{Name: name, PasswordHash: h, CreatedAt: now.UTC()})
}

// dummyHash is compared against when the user does not exist, so a
// missing account takes as long to refuse as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("herd console dummy password"), 12)

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console", MaxAge: maxAge,
		HttpOnly: true, Secure: c.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
}

// current returns the request's live session, or nil.
func (c *Console) current(r *http.Request) (string, *session) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return "", nil
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[ck.Value]
	if s == nil {
		return "", nil
	}
	if now.Sub(s.lastUsed) > c.cfg.SessionTTL || now.Sub(s.created) > c.cfg.SessionMax {
		delete(c.sessions, ck.Value)
		return "", nil
	}
	s.lastUsed = now
	return ck.Value, s
}

func (c *Console) page(w http.ResponseWriter, r *http.Request, title string) Page {
	p := Page{Lang: langOf(w, r), Title: title, Path: r.URL.Path}
	if _, s := c.current(r); s != nil {
		p.Operator, p.CSRF = s.operator, s.csrf
	}
	return p
}

// operator wraps a page that needs a signed-in operator; a POST must carry
// the session's CSRF token.
func (c *Console) operator(h func(w http.ResponseWriter, r *http.Request, p Page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, s := c.current(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, http.StatusUnauthorized, i18n.T("Your session has ended. Sign in again.", "会话已结束，请重新登录。"))
			return
		}
		if r.Method == http.MethodPost {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
				c.fail(w, r, http.StatusForbidden, i18n.T("This form has expired. Reload the page and try again.", "此表单已失效，请刷新页面后重试。"))
				return
			}
		}
		p := c.page(w, r, "")
		h(w, r, p)
	}
}

func (c *Console) audit(r *http.Request, actor, action, target string) error {
	return c.d.Store.AppendAudit(r.Context(), store.AuditEntry{At: c.now().UTC(), Actor: actor, Action: action, Target: target, SourceIP: clientAddr(r)})
}

type loginData struct {
	Next  string
	Error string
	Name  string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, s := c.current(r); s != nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	p := c.page(w, r, "Sign in")
	p.CSRF = randomToken()
	c.setCookie(w, loginCookie, p.CSRF, 600)
	p.Data = d
	c.render(w, status, "login", p)
}

// safeNext keeps only a path inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/console/"
}

// authenticate checks a name and password, or an admin API token (name
// empty); it returns the operator's name as audited.
func (c *Console) authenticate(ctx context.Context, name, secret string) (string, error) {
	if name == "" {
		if secret == "" {
			return "", errBadLogin
		}
		h := apitoken.Hash(secret)
		t, err := c.d.Store.AdminTokenByHash(ctx, h)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!apitoken.Equal(t.Hash, h) || !t.RevokedAt.IsZero())) {
			return "", errBadLogin
		}
		if err != nil {
			return "", err
		}
		return t.Name, nil
	}
	u, err := c.d.Store.ConsoleUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(secret))
		return "", errBadLogin
	}
	if err != nil {
		return "", err
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(secret)) != nil || !u.DisabledAt.IsZero() {
		return "", errBadLogin
	}
	return "console:" + u.Name, nil
}

var errBadLogin = errors.New("wrong name, password or token")

func (c *Console) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(ck.Value)) != 1 {
		c.fail(w, r, http.StatusForbidden, i18n.T("This sign-in form has expired. Reload the page and try again.", "此登录表单已失效，请刷新页面后重试。"))
		return
	}
	next := safeNext(r.PostFormValue("next"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	secret := r.PostFormValue("password")
	if secret == "" {
		secret, name = strings.TrimSpace(r.PostFormValue("token")), ""
	}
	addr := clientAddr(r)
	if ok, wait := c.login.Allow(addr, c.now()); !ok {
		w.Header().Set("Retry-After", itoa(int64(wait/time.Second)+1))
		p := c.page(w, r, "")
		c.showLogin(w, r, http.StatusTooManyRequests, loginData{Next: next, Name: name,
			Error: p.T("Too many sign-in attempts. Wait a minute and try again.", "登录尝试次数过多，请稍等一分钟再试。")})
		return
	}
	operator, err := c.authenticate(r.Context(), name, secret)
	if err != nil {
		who := name
		if who == "" {
			who = "token"
		}
		if aerr := c.audit(r, who, "console.login_failed", ""); aerr != nil {
			c.log.Error("console: audit", "error", aerr)
		}
		p := c.page(w, r, "")
		msg := p.T("The name and password, or the token, are not right.", "用户名和密码或令牌不正确。")
		if !errors.Is(err, errBadLogin) {
			c.log.Error("console: sign-in", "error", err)
			msg = p.T("Sign-in is not available right now.", "暂时无法登录。")
		}
		c.showLogin(w, r, http.StatusUnauthorized, loginData{Next: next, Name: name, Error: msg})
		return
	}
	if err := c.audit(r, operator, "console.login", ""); err != nil {
		c.log.Error("console: audit", "error", err)
		c.fail(w, r, http.StatusServiceUnavailable, i18n.T("Sign-in is not available right now.", "暂时无法登录。"))
		return
	}
	id, now := randomToken(), c.now()
	c.mu.Lock()
	for k, s := range c.sessions { // sweep ended sessions
		if now.Sub(s.lastUsed) > c.cfg.SessionTTL || now.Sub(s.created) > c.cfg.SessionMax {
			delete(c.sessions, k)
		}
	}
	c.sessions[id] = &session{operator: operator, csrf: randomToken(), created: now, lastUsed: now}
	c.mu.Unlock()
	c.setCookie(w, loginCookie, "", -1)
	c.setCookie(w, sessionCookie, id, int(c.cfg.SessionMax/time.Second))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p Page) {
	id, s := c.current(r)
	if s != nil {
		c.mu.Lock()
		delete(c.sessions, id)
		c.mu.Unlock()
		if err := c.audit(r, s.operator, "console.logout", ""); err != nil {
			c.log.Error("console: audit", "error", err)
		}
	}
	c.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
