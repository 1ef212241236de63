package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
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

// session is the signed-in operator of a request, as the store keeps it.
type session struct {
	operator string
	csrf     string
}

// sessionHash is what the store keeps of a session id: its SHA-256.
func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
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
// missing account takes as long to refuse as a wrong password. It is
// made at the first sign-in that needs it: a bcrypt hash costs a quarter
// of a second, which no herd command but the console should pay.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("herd console dummy password"), 12)
	return h
})

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

// current returns the request's live session: nil without an error when
// there is none (no cookie, an unknown or ended session). A use is
// recorded in the store at most every touchEvery, so a page view reads
// the session and only now and then writes it; the idle deadline counts
// from the last recorded use.
func (c *Console) current(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil, nil
	}
	now := c.now()
	h := sessionHash(ck.Value)
	cs, err := c.d.Store.ConsoleSession(r.Context(), h, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &session{operator: cs.Operator, csrf: cs.CSRF}
	if now.Sub(cs.LastUsed) >= c.touchEvery() {
		err := c.d.Store.TouchConsoleSession(r.Context(), h, now, now.Add(c.cfg.SessionTTL))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return s, nil
}

// touchEvery is how often a session's use is recorded: a minute, or a
// tenth of the idle timeout when that is shorter.
func (c *Console) touchEvery() time.Duration {
	return min(time.Minute, c.cfg.SessionTTL/10)
}

// page starts a page for r; the operator and CSRF token are set when a
// session is live.
func (c *Console) page(w http.ResponseWriter, r *http.Request, title string) Page {
	p := Page{Lang: langOf(w, r), Title: title, Path: r.URL.Path}
	if s, err := c.current(r); err == nil && s != nil {
		p.Operator, p.CSRF = s.operator, s.csrf
	}
	return p
}

// operator wraps a page that needs a signed-in operator; a POST must carry
// the session's CSRF token. A GET is a page view: it is audited as
// action on what target names (see auditStart) before the page reads
// anything, and the record gets the page's status when it is done. A
// POST only redirects to the GET that shows its result, which is
// audited there.
func (c *Console) operator(action string, target func(r *http.Request) string, h func(w http.ResponseWriter, r *http.Request, p Page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.current(r)
		if err != nil {
			c.unavailable(w, r, err)
			return
		}
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, http.StatusUnauthorized, i18n.T("Your session has ended. Sign in again.", "会话已结束，请重新登录。"))
			return
		}
		p := Page{Lang: langOf(w, r), Path: r.URL.Path, Operator: s.operator, CSRF: s.csrf}
		if r.Method == http.MethodPost {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
				c.fail(w, r, http.StatusForbidden, i18n.T("This form has expired. Reload the page and try again.", "此表单已失效，请刷新页面后重试。"))
				return
			}
			h(w, r, p)
			return
		}
		var t string
		if target != nil {
			t = target(r)
		}
		finish, err := c.auditStart(r, s.operator, action, t)
		if err != nil {
			c.unavailable(w, r, err)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h(sw, r, p)
		finish(sw.status)
	}
}

// statusWriter remembers the status a page answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// auditStart writes the audit record of an operator's action before it
// happens (no audit record, no action): pending when the store keeps
// outcomes, then, through finish, the HTTP status the console answered
// with, as the admin API records its calls.
func (c *Console) auditStart(r *http.Request, actor, action, target string) (finish func(status int), err error) {
	e := store.AuditEntry{At: c.now().UTC(), Actor: actor, Action: action, Target: target, SourceIP: clientAddr(r)}
	ao, ok := c.d.Store.(store.AuditOutcomes)
	if !ok {
		return func(int) {}, c.d.Store.AppendAudit(r.Context(), e)
	}
	e.Outcome = store.AuditPending
	id, err := ao.StartAudit(r.Context(), e)
	if err != nil {
		return nil, err
	}
	return func(status int) {
		if err := ao.SetAuditOutcome(context.WithoutCancel(r.Context()), id, strconv.Itoa(status)); err != nil {
			c.log.Error("console: audit outcome", "error", err)
		}
	}, nil
}

func (c *Console) audit(r *http.Request, actor, action, target string) error {
	return c.d.Store.AppendAudit(r.Context(), store.AuditEntry{At: c.now().UTC(), Actor: actor, Action: action, Target: target, SourceIP: clientAddr(r)})
}

// unavailable answers when the store cannot say who is signed in or
// cannot record the audit: nothing is shown.
func (c *Console) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	c.log.Error("console: store", "path", r.URL.Path, "error", err)
	c.fail(w, r, http.StatusServiceUnavailable, i18n.T("The console is not available right now; try again in a moment.", "控制台暂时不可用，请稍后再试。"))
}

type loginData struct {
	Next  string
	Error string
	Name  string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if s, err := c.current(r); err == nil && s != nil {
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

// credential is who signed in and what the session rests on.
type credential struct {
	operator  string // as audited
	user      string // the console account, or ""
	tokenHash []byte // the admin token's hash, or nil
}

// authenticate checks a name and password, or an admin API token (name
// empty).
func (c *Console) authenticate(ctx context.Context, name, secret string) (credential, error) {
	if name == "" {
		if secret == "" {
			return credential{}, errBadLogin
		}
		h := apitoken.Hash(secret)
		t, err := c.d.Store.AdminTokenByHash(ctx, h)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!apitoken.Equal(t.Hash, h) || !t.RevokedAt.IsZero())) {
			return credential{}, errBadLogin
		}
		if err != nil {
			return credential{}, err
		}
		return credential{operator: t.Name, tokenHash: t.Hash}, nil
	}
	u, err := c.d.Store.ConsoleUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(secret))
		return credential{}, errBadLogin
	}
	if err != nil {
		return credential{}, err
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(secret)) != nil || !u.DisabledAt.IsZero() {
		return credential{}, errBadLogin
	}
	return credential{operator: "console:" + u.Name, user: u.Name}, nil
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
	cred, err := c.authenticate(r.Context(), name, secret)
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
	if err := c.audit(r, cred.operator, "console.login", ""); err != nil {
		c.log.Error("console: audit", "error", err)
		c.fail(w, r, http.StatusServiceUnavailable, i18n.T("Sign-in is not available right now.", "暂时无法登录。"))
		return
	}
	id, now := randomToken(), c.now()
	err = c.d.Store.CreateConsoleSession(r.Context(), store.ConsoleSession{IDHash: sessionHash(id), Operator: cred.operator,
		User: cred.user, TokenHash: cred.tokenHash, CSRF: randomToken(), CreatedAt: now, LastUsed: now,
		IdleUntil: now.Add(c.cfg.SessionTTL), ExpiresAt: now.Add(c.cfg.SessionMax)})
	if err != nil {
		c.log.Error("console: session", "error", err)
		c.fail(w, r, http.StatusServiceUnavailable, i18n.T("Sign-in is not available right now.", "暂时无法登录。"))
		return
	}
	c.setCookie(w, loginCookie, "", -1)
	c.setCookie(w, sessionCookie, id, int(c.cfg.SessionMax/time.Second))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p Page) {
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		err := c.d.Store.DeleteConsoleSession(r.Context(), sessionHash(ck.Value))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			c.unavailable(w, r, err)
			return
		}
		if err := c.audit(r, p.Operator, "console.logout", ""); err != nil {
			c.log.Error("console: audit", "error", err)
		}
	}
	c.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
