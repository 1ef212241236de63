// Package console is the authority's population-health console for
// operators (/console, behind a login) and its public pages: a guide per
// finding (/learn/<check_id>) and the k-anonymous state of the population
// (/population). Pages are server-rendered with html/template; charts are
// inline SVG with a data table beside them; every asset is embedded, so
// the console loads nothing from elsewhere.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/ratelimit"
	"github.com/herd-health/herd/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Store is what the console reads and writes: devices and their history,
// operators' tokens and accounts, and the audit log.
type Store interface {
	store.Devices
	store.Checkins
	ListDevices(ctx context.Context, f store.DeviceFilter) ([]store.Device, error)
	AdminTokenByHash(ctx context.Context, hash []byte) (store.AdminToken, error)
	store.Audit
	store.ConsoleUsers
	store.ConsoleSessions
}

// Feeds reports the state of threat-intelligence feeds and sightings; the
// console shows what it is given.
type Feeds interface {
	FeedStatus(ctx context.Context) (FeedStatus, error)
}

// FeedStatus is what the feeds page shows.
type FeedStatus struct {
	// IndicatorsVersion is the live indicator set's version (0: none).
	IndicatorsVersion int64
	Feeds             []FeedRow
	// SightingDays is the window of the sighting counts: the outside
	// sightings seen in it, the devices they asked and the devices that
	// confirmed.
	SightingDays                       int
	Sightings, DevicesAsked, Confirmed int64
}

// FeedRow is one feed's state.
type FeedRow struct {
	Name, URL string
	// Configured: the feed is in the serve configuration (else only its
	// indicators or a past import are known).
	Configured bool
	// Indicators is how many live indicators it listed, ByType by type.
	Indicators  int64
	ByType      []TypeCount
	LastImport  time.Time // last successful import
	LastAttempt time.Time
	LastError   string
}

// TypeCount is a count of indicators of one type.
type TypeCount struct {
	Type  string
	Count int64
}

// Config configures the console. Zero values mean the defaults.
type Config struct {
	// Issuer is the authority's public URL; the learn pages are under it.
	Issuer string
	// SecureCookies marks cookies Secure; set it when serving over TLS.
	SecureCookies bool
	// SessionTTL is how long a session lasts without use (default 30 min);
	// SessionMax how long it lasts at most (default 12 h).
	SessionTTL, SessionMax time.Duration
	// MinCount is K of the public population page: no count under it is
	// shown (default 10, at least 2). Epsilon > 0 adds Laplace noise to
	// its counts (0, or at least population.MinEpsilon). Both apply to
	// days not released before: a day keeps the K and ε of its first
	// release, through every channel.
	MinCount int64
	Epsilon  float64
	// Cohorts are the operator's named cohorts: name → expression (see
	// population.CohortMasks).
	Cohorts map[string]string
	// LoginLimit limits login attempts per client address (default 5 a
	// minute, bursts of 5).
	LoginLimit ratelimit.Limit
	// Now gives the time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Deps are what the console runs on.
type Deps struct {
	Store      Store
	Population *population.Service
	// Stats is what the public page exports from (normally the store).
	Stats store.PopulationStats
	// Feeds is optional.
	Feeds Feeds
}

// Console serves the console and the public pages.
type Console struct {
	cfg   Config
	d     Deps
	log   *slog.Logger
	tmpl  map[string]*template.Template
	login *ratelimit.Limiter

	relOnce sync.Once
	rel     *population.Releaser // the public page's day releases (public.go)
}

// New checks the configuration and builds a console.
func New(cfg Config, d Deps) (*Console, error) {
	if d.Store == nil || d.Population == nil {
		return nil, errors.New("console: a store and a population service are required")
	}
	if d.Stats == nil {
		if ps, ok := d.Store.(store.PopulationStats); ok {
			d.Stats = ps
		}
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * time.Minute
	}
	if cfg.SessionMax == 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.MinCount == 0 {
		cfg.MinCount = 10
	}
	if cfg.MinCount < 2 {
		return nil, errors.New("console: the public page's minimum count must be at least 2")
	}
	if err := population.CheckEpsilon(cfg.Epsilon); err != nil {
		return nil, errors.New("console: the public page's " + err.Error())
	}
	if cfg.LoginLimit == (ratelimit.Limit{}) {
		cfg.LoginLimit = ratelimit.Limit{PerSecond: 5.0 / 60, Burst: 5}
	}
	for name, expr := range cfg.Cohorts {
		if _, err := population.CohortMasks(expr); err != nil {
			return nil, errors.New("console: cohort " + name + ": " + err.Error())
		}
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Console{cfg: cfg, d: d, log: log, login: ratelimit.New(cfg.LoginLimit)}
	if err := c.parse(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Console) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}

func (c *Console) parse() error {
	funcs := template.FuncMap{
		"pct":  func(f float64) string { return percent(f) },
		"num":  func(n int64) string { return thousands(n) },
		"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"add":  func(a, b float64) float64 { return a + b },
		"sub":  func(d, x float64) float64 { return x - d },
		"list": func(s ...string) []string { return s },
	}
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/chart.html")
	if err != nil {
		return err
	}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	c.tmpl = map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" || name == "chart" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, p)
		if err != nil {
			return err
		}
		c.tmpl[name] = t
	}
	return nil
}

// Handler serves /console/…, /learn/… and /population.
func (c *Console) Handler() http.Handler {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.loginSubmit)
	m.HandleFunc("POST /console/logout", c.operator("", nil, c.logout))
	m.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	query := func(name string) func(r *http.Request) string {
		return func(r *http.Request) string { return r.URL.Query().Get(name) }
	}
	// Every page view is audited, as the admin API audits its reads:
	// device-level pages with what they showed, aggregate pages too,
	// since the same figures through /v1/population/ are.
	m.HandleFunc("GET /console/{$}", c.operator("population.overview", query("days"), c.overview))
	m.HandleFunc("GET /console/breakdown", c.operator("population.breakdown", func(r *http.Request) string {
		return "dim=" + r.URL.Query().Get("dim") + "&days=" + r.URL.Query().Get("days")
	}, c.breakdown))
	m.HandleFunc("GET /console/cohorts", c.operator("cohort.list", query("expr"), c.cohorts))
	m.HandleFunc("POST /console/cohorts", c.operator("", nil, c.cohortQuery))
	m.HandleFunc("GET /console/alerts", c.operator("population.alerts", query("days"), c.alerts))
	m.HandleFunc("GET /console/devices", c.operator("device.list", func(r *http.Request) string {
		q := r.URL.Query()
		return strings.TrimSpace(q.Get("q")) + "&verdict=" + q.Get("verdict") + "&after=" + q.Get("after")
	}, c.devices))
	m.HandleFunc("POST /console/devices", c.operator("", nil, c.deviceQuery))
	m.HandleFunc("GET /console/devices/{id}", c.operator("device.show", func(r *http.Request) string { return r.PathValue("id") }, c.device))
	m.HandleFunc("GET /console/feeds", c.operator("feeds.show", nil, c.feeds))
	m.HandleFunc("GET /learn/{$}", c.learnIndex)
	m.HandleFunc("GET /learn", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/learn/", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /learn/{id}", c.learn)
	m.HandleFunc("GET /population", c.public)
	return securityHeaders(m)
}

// Routes lists the path patterns Handler serves, for mounting it beside
// the authority's API.
var Routes = []string{"/console", "/console/", "/learn", "/learn/", "/population"}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// langOf picks the page language: ?lang=, then the lang cookie, then
// Accept-Language, then English. A ?lang= choice on a console page is
// remembered in the cookie. Public pages (/population, /learn/) follow
// only ?lang= and Accept-Language: a choice made in the console does not
// follow a visitor (or a link shared with them) to the public pages.
func langOf(w http.ResponseWriter, r *http.Request) i18n.Lang {
	public := !strings.HasPrefix(r.URL.Path, "/console")
	if public {
		w.Header().Add("Vary", "Accept-Language")
	}
	if q := r.URL.Query().Get("lang"); q != "" {
		if l, ok := i18n.Parse(q); ok && public {
			return l
		} else if ok {
			http.SetCookie(w, &http.Cookie{Name: "herd_lang", Value: string(l), Path: "/", MaxAge: 365 * 86400, SameSite: http.SameSiteLaxMode, HttpOnly: true})
			return l
		}
	}
	if ck, err := r.Cookie("herd_lang"); err == nil && !public {
		if l, ok := i18n.Parse(ck.Value); ok {
			return l
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if l, ok := i18n.Parse(tag); ok {
			return l
		}
	}
	return i18n.English
}

// Page is what every template gets: the language, the signed-in
// operator (if any), the CSRF token and the page's own data.
type Page struct {
	Lang     i18n.Lang
	Title    string
	Nav      string // the active navigation item
	Operator string
	CSRF     string
	Path     string
	Data     any
}

// T picks the text in the page's language.
func (p Page) T(en, zh string) string {
	if p.Lang == i18n.Chinese {
		return zh
	}
	return en
}

// Zh reports whether the page is in Chinese.
func (p Page) Zh() bool { return p.Lang == i18n.Chinese }

// Tx picks an i18n.Text in the page's language.
func (p Page) Tx(t i18n.Text) string { return t.In(p.Lang) }

func (c *Console) render(w http.ResponseWriter, status int, name string, p Page) {
	t := c.tmpl[name]
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name+".html", p); err != nil {
		c.log.Error("console: rendering", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		// A page that says nothing about caching (every console page) is
		// never stored; a public page may say how long it keeps.
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg i18n.Text) {
	p := c.page(w, r, msg.En)
	p.Data = msg.In(p.Lang)
	c.render(w, status, "error", p)
}
