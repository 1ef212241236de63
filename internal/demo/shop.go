// Package demo runs herd end to end on one machine: a health authority on
// a temporary SQLite database, a small payment-style relying party that
// acts on health certificates, and this machine's agent running its real
// checks. It is what `herd demo` starts.
package demo

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/verify"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"in":       func(t i18n.Text, l i18n.Lang) string { return t.In(l) },
	"commands": commands,
}).ParseFS(templateFS, "templates/*.html"))

// commands renders a fix text, setting the `quoted` commands in it as
// code whose words never break inside (a line may break only between
// words, never at the hyphen of an option such as --now).
func commands(s string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(s, "`") {
		if i%2 == 0 {
			b.WriteString(template.HTMLEscapeString(part))
			continue
		}
		b.WriteString(`<code class="cmd">`)
		for j, w := range strings.Fields(part) {
			if j > 0 {
				b.WriteString(" ")
			}
			b.WriteString("<span>" + template.HTMLEscapeString(w) + "</span>")
		}
		b.WriteString("</code>")
	}
	return template.HTML(b.String())
}

// Shop is the demo relying party: a checkout that lets a healthy device
// pay, warns about a device with findings (the user may continue), keeps
// an infected one to the help pages, and asks a device without a
// certificate to install the agent.
type Shop struct {
	// Audience is the shop's identity in certificates (its origin).
	Audience string
	// AgentEndpoint is the device agent's loopback endpoint base URL.
	AgentEndpoint string
	// Verifier checks certificates against the authority's keys.
	Verifier *verify.Verifier
	// Rules map verdicts to decisions.
	Rules verify.Rules
	// DeviceOS is used to pick fix instructions; the certificate does not
	// say which OS a device runs.
	DeviceOS string
	// LearnBase is the authority's issuer URL; each finding links to its
	// public page there (LearnBase + "/learn/" + id). Empty: no links.
	LearnBase string
}

// DefaultRules are the shop's rules: allow healthy devices, warn about
// devices with findings and about requests without a certificate, and
// restrict infected devices to help and account basics.
func DefaultRules() verify.Rules {
	return verify.Rules{
		Affirming:       verify.Allow,
		Warning:         verify.Warn,
		Contraindicated: verify.Restrict,
		None:            verify.Warn,
		SafePaths:       []string{"/help/", "/account", "/static/"},
		Enforce:         true,
	}
}

// Decision is what the shop's API says about a request's device.
type Decision struct {
	Tier     health.Tier      `json:"tier"`
	Decision verify.Decision  `json:"decision"`
	Findings []health.Finding `json:"findings"`
	Reason   string           `json:"reason,omitempty"`
}

// Handler returns the shop's routes.
func (s *Shop) Handler() http.Handler {
	protected := http.NewServeMux()
	protected.HandleFunc("POST /pay", s.pay)
	protected.HandleFunc("GET /account", s.account)
	protected.HandleFunc("GET /help/{id}", s.help)

	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.index)
	// The decision API tells what the shop would do, so it is never
	// itself blocked.
	observe := s.Rules
	observe.Enforce = false
	m.Handle("GET /api/decision", verify.Middleware(s.Verifier, observe, http.HandlerFunc(s.decision)))
	// The checkout page explains a restriction itself (with its banner
	// and the help links), still answering 403; paying stays enforced.
	m.Handle("GET /checkout", verify.Middleware(s.Verifier, observe, http.HandlerFunc(s.checkout)))
	m.Handle("/", verify.Middleware(s.Verifier, s.Rules, protected))
	return securityHeaders(m)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

func lang(r *http.Request) i18n.Lang {
	if q := r.URL.Query().Get("lang"); q != "" {
		l, _ := i18n.Parse(q)
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if l, ok := i18n.Parse(tag); ok {
			return l
		}
	}
	return i18n.English
}

type finding struct {
	ID     health.CheckID
	Status health.Status
	Title  string
	Why    string
	Fix    string
	Learn  string // the authority's public page about the finding
}

type pageData struct {
	Lang          i18n.Lang
	Zh            bool
	Audience      string
	AgentEndpoint string
	Tier          health.Tier
	Decision      verify.Decision
	Reason        string
	Findings      []finding
	Paid          bool
	Help          *finding
}

func (s *Shop) data(r *http.Request) pageData {
	l := lang(r)
	d := pageData{Lang: l, Zh: l == i18n.Chinese, Audience: s.Audience, AgentEndpoint: s.AgentEndpoint}
	a, ok := verify.FromContext(r.Context())
	if !ok {
		d.Tier, d.Decision = health.None, s.Rules.Decide(health.None)
		return d
	}
	d.Tier, d.Decision = a.Tier, a.Decision
	if a.Err != nil {
		d.Reason = a.Err.Error()
	}
	for _, f := range a.Findings() {
		d.Findings = append(d.Findings, s.describe(f.ID, f.Status, l))
	}
	return d
}

func (s *Shop) describe(id health.CheckID, st health.Status, l i18n.Lang) finding {
	e, ok := guide.For(id)
	if !ok {
		return finding{ID: id, Status: st, Title: string(id)}
	}
	f := finding{ID: id, Status: st, Title: e.Title.In(l), Why: e.Why.In(l), Fix: e.FixFor(s.DeviceOS).In(l)}
	if s.LearnBase != "" {
		f.Learn = guide.LearnURL(s.LearnBase, id)
		if l == i18n.Chinese {
			f.Learn += "?lang=zh-CN"
		}
	}
	return f
}

func render(w http.ResponseWriter, status int, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		http.Error(w, "page error", http.StatusInternalServerError)
	}
}

// index is the page a browser opens: it asks the agent for a certificate
// and loads the checkout with it.
func (s *Shop) index(w http.ResponseWriter, r *http.Request) {
	d := pageData{Lang: lang(r), Audience: s.Audience, AgentEndpoint: s.AgentEndpoint}
	d.Zh = d.Lang == i18n.Chinese
	render(w, http.StatusOK, "index.html", d)
}

func (s *Shop) checkout(w http.ResponseWriter, r *http.Request) {
	d := s.data(r)
	status := http.StatusOK
	if d.Decision == verify.Restrict || d.Decision == verify.Block {
		status = http.StatusForbidden
	}
	render(w, status, "checkout.html", d)
}

func (s *Shop) pay(w http.ResponseWriter, r *http.Request) {
	d := s.data(r)
	if d.Decision != verify.Allow && r.FormValue("continue") != "yes" {
		render(w, http.StatusForbidden, "checkout.html", d)
		return
	}
	d.Paid = true
	render(w, http.StatusOK, "checkout.html", d)
}

func (s *Shop) account(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "account.html", s.data(r))
}

func (s *Shop) help(w http.ResponseWriter, r *http.Request) {
	id := health.CheckID(r.PathValue("id"))
	if !id.Valid() {
		http.NotFound(w, r)
		return
	}
	d := s.data(r)
	f := s.describe(id, health.Fail, d.Lang)
	d.Help = &f
	render(w, http.StatusOK, "help.html", d)
}

func (s *Shop) decision(w http.ResponseWriter, r *http.Request) {
	d := s.data(r)
	out := Decision{Tier: d.Tier, Decision: d.Decision, Reason: d.Reason, Findings: []health.Finding{}}
	if a, ok := verify.FromContext(r.Context()); ok && a.Findings() != nil {
		out.Findings = a.Findings()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(out)
}
