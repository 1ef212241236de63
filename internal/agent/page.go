package agent

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/i18n"
)

// Headers of the status page: nothing but the page's own inline style
// may load, and no other site may frame it.
const (
	pageCSP = "default-src 'none'; style-src 'unsafe-inline'"
)

// pageLabels are the page's fixed words in one language.
type pageLabels struct {
	Title, Authority, LastCheckIn, Verdict, Findings, OtherChecks, Fix, Learn,
	WhatToDo, Signed, NotEnrolled, NoCheckIn, OtherLang string
}

func labels(lang i18n.Lang) pageLabels {
	t := func(en, zh string) string { return i18n.T(en, zh).In(lang) }
	l := pageLabels{
		Title:       t("Device health", "设备健康状况"),
		Authority:   t("Health authority:", "健康机构："),
		LastCheckIn: t("Last check-in:", "上次签到："),
		Verdict:     t("Verdict:", "结论："),
		Findings:    t("What to fix", "需要修复的问题"),
		OtherChecks: t("Other checks", "其他检查"),
		Fix:         t("How to fix:", "修复方法："),
		Learn:       t("Learn more", "了解更多"),
		WhatToDo:    t("What to do:", "怎么做："),
		Signed:      t("Signed by your health authority on", "由你的健康认证机构签发于"),
		NotEnrolled: t("This device is not enrolled with a health authority yet: run herd-agent enroll URL.", "此设备尚未在健康认证机构注册：请运行 herd-agent enroll URL。"),
		NoCheckIn:   t("No check-in yet: run herd-agent run.", "尚未签到：请运行 herd-agent run。"),
		OtherLang:   "中文",
	}
	if lang == i18n.Chinese {
		l.OtherLang = "English"
	}
	return l
}

// pageCheck is one row of the status page.
type pageCheck struct {
	ID, Title, Status, Class, Reason, Fix, Learn string
	Steps                                        []string
}

type pageData struct {
	Lang, OtherLangQuery string
	L                    pageLabels
	Notice               *UserNotice
	NoticeSigned         string
	Enrolled, CheckedIn  bool
	Authority, CheckedAt string
	Verdict, VerdictTier string
	Findings, Others     []pageCheck
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>herd · {{.L.Title}}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.notice{border:3px solid #b00020;background:#fff0f0;padding:1rem 1.25rem;border-radius:6px}
.notice h2{margin-top:0;color:#b00020}
.verdict-affirming{color:#116b2e}.verdict-warning{color:#8a5a00}.verdict-contraindicated,.verdict-none{color:#b00020}
li.check{margin:.75rem 0;list-style:none}
.fail{color:#b00020;font-weight:bold}.unknown{color:#8a5a00;font-weight:bold}.pass{color:#116b2e}.not_applicable{color:#666}
.small{color:#555;font-size:.9rem}
</style>
</head>
<body>
<p class="small"><a href="?lang={{.OtherLangQuery}}">{{.L.OtherLang}}</a></p>
{{with .Notice}}<section class="notice" role="alert">
<h2>{{.Title}}</h2>
<p>{{.Message}}</p>
{{if .Steps}}<p><strong>{{$.L.WhatToDo}}</strong></p>
<ol>{{range .Steps}}<li>{{.}}</li>{{end}}</ol>{{end}}
<p class="small">{{$.L.Signed}} {{$.NoticeSigned}}</p>
</section>{{end}}
<h1>{{.L.Title}}</h1>
{{if not .Enrolled}}<p>{{.L.NotEnrolled}}</p>
{{else}}<p>{{.L.Authority}} {{.Authority}}</p>
{{if not .CheckedIn}}<p>{{.L.NoCheckIn}}</p>
{{else}}<p>{{.L.LastCheckIn}} {{.CheckedAt}}</p>
<p><strong>{{.L.Verdict}} <span class="verdict-{{.VerdictTier}}">{{.Verdict}}</span></strong></p>
{{if .Findings}}<h2>{{.L.Findings}}</h2>
<ul>{{range .Findings}}<li class="check" id="{{.ID}}"><span class="{{.Class}}">{{.Status}}</span> <strong>{{.Title}}</strong>: {{.Reason}}
{{if .Fix}}<br>{{$.L.Fix}} {{.Fix}}{{end}}
{{if .Steps}}<ol>{{range .Steps}}<li>{{.}}</li>{{end}}</ol>{{end}}
{{if .Learn}}<br><a href="{{.Learn}}">{{$.L.Learn}}</a>{{end}}</li>
{{end}}</ul>{{end}}
{{if .Others}}<h2>{{.L.OtherChecks}}</h2>
<ul>{{range .Others}}<li class="check" id="{{.ID}}"><span class="{{.Class}}">{{.Status}}</span> <strong>{{.Title}}</strong>: {{.Reason}}</li>
{{end}}</ul>{{end}}
{{end}}{{end}}
</body>
</html>
`))

// pageLang picks the page's language: ?lang= when it names a supported
// one, else the browser's first Accept-Language, else English.
func pageLang(r *http.Request) i18n.Lang {
	if l, ok := i18n.Parse(r.URL.Query().Get("lang")); ok {
		return l
	}
	for _, tag := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ = strings.Cut(tag, ";")
		if l, ok := i18n.Parse(tag); ok {
			return l
		}
	}
	return i18n.English
}

// servePage answers GET / with a small HTML page: the verified notice
// on top, the verdict, and each check with how to fix the findings (a
// confirmed outside sighting named by the notice as the malware one).
// It carries no CORS headers, so other sites cannot read it.
func (e *Endpoint) servePage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	lang := pageLang(r)
	d := e.pageData(lang)
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, d); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Language")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(b.Bytes())
	}
}

func (e *Endpoint) pageData(lang i18n.Lang) pageData {
	a := e.Agent
	d := pageData{Lang: string(lang), L: labels(lang), OtherLangQuery: string(i18n.Chinese)}
	if lang == i18n.Chinese {
		d.OtherLangQuery = string(i18n.English)
	}
	st, err := a.Store.LoadState()
	if err != nil {
		return d
	}
	d.Enrolled, d.Authority = true, st.Authority
	last, err := a.Store.LoadLast()
	goos := a.Source.OS()
	if err == nil && last.OS != "" {
		goos = last.OS
	}
	if n, ok := a.NoticeFor(goos, lang); ok {
		d.Notice, d.NoticeSigned = n, FormatTime(n.IssuedAt)
	}
	if err != nil {
		return d
	}
	d.CheckedIn = true
	d.CheckedAt = FormatTime(last.CheckedAt)
	d.Verdict, d.VerdictTier = VerdictText(last.Response.Verdict).In(lang), string(last.Response.Verdict)
	if d.VerdictTier == "" {
		d.VerdictTier = string(health.None)
	}
	base := st.Authority
	if base == "" {
		base = st.Discovery.Issuer
	}
	finding := map[health.CheckID]bool{}
	for _, f := range last.Response.Findings {
		finding[f.ID] = true
	}
	// A verdict resting on a confirmed outside sighting shows that, from
	// the verified notice only, as the malware result, so the list agrees
	// with the notice and with herd-agent status.
	sighting, _ := a.SightingFor(lang)
	seen := map[health.CheckID]bool{}
	for _, r := range WithSighting(checks.Render(last.Outcomes, lang), sighting, lang) {
		seen[r.ID] = true
		c := pageCheck{ID: string(r.ID), Title: string(r.ID), Status: statusWords[r.Status].In(lang), Class: string(r.Status), Reason: r.Reason}
		e, known := guide.For(r.ID)
		if known {
			c.Title = e.Title.In(lang)
		}
		if r.Status != health.Fail && !finding[r.ID] {
			d.Others = append(d.Others, c)
			continue
		}
		c.Fix = r.Remediation
		if c.Fix == "" && known {
			c.Steps = guide.Steps(r.ID, goos, lang)
		}
		if known {
			c.Learn = guide.LearnURL(base, r.ID)
		}
		d.Findings = append(d.Findings, c)
	}
	// A finding about a check this device did not report (a required
	// check it could not run).
	for _, f := range last.Response.Findings {
		if seen[f.ID] {
			continue
		}
		c := pageCheck{ID: string(f.ID), Title: string(f.ID), Status: statusWords[f.Status].In(lang), Class: string(f.Status),
			Reason: i18n.T("This device did not report this check, and the policy requires it.", "此设备没有报告这项检查，而策略要求这项检查。").In(lang)}
		if e, ok := guide.For(f.ID); ok {
			c.Title = e.Title.In(lang)
			c.Steps, c.Learn = guide.Steps(f.ID, goos, lang), guide.LearnURL(base, f.ID)
		}
		d.Findings = append(d.Findings, c)
	}
	slices.SortStableFunc(d.Findings, func(x, y pageCheck) int {
		return strings.Compare(rank(x.Class), rank(y.Class))
	})
	return d
}

// rank orders findings: failures before checks that could not be read.
func rank(status string) string {
	if status == string(health.Fail) {
		return "0"
	}
	return "1"
}
