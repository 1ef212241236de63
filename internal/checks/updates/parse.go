package updates

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseAPTConfig reads APT configuration, either files in the apt.conf(5)
// syntax (nested "A { B "v"; };" scopes, //, # and /* */ comments) or the
// flat output of `apt-config dump`. Keys are returned lower-cased with "::"
// separators, as APT matches them case-insensitively; a later assignment
// overrides an earlier one, so parsing files in order into the same map
// gives APT's own answer.
func ParseAPTConfig(text string, into map[string]string) map[string]string {
	if into == nil {
		into = map[string]string{}
	}
	var scope []string
	key, val, haveVal := "", "", false
	full := func(k string) string {
		parts := append(append([]string(nil), scope...), k)
		return strings.ToLower(strings.Join(parts, "::"))
	}
	for _, tok := range aptTokens(text) {
		switch {
		case tok == ";":
			if key != "" && haveVal {
				into[full(key)] = val
			}
			key, val, haveVal = "", "", false
		case tok == "{":
			if key != "" {
				scope = append(scope, key)
			} else {
				scope = append(scope, "")
			}
			key, val, haveVal = "", "", false
		case tok == "}":
			if len(scope) > 0 {
				scope = scope[:len(scope)-1]
			}
			key, val, haveVal = "", "", false
		case strings.HasPrefix(tok, "\""):
			if key != "" && !haveVal {
				val, haveVal = tok[1:], true
			}
		default:
			if key == "" {
				key = tok
			} else if !haveVal {
				val, haveVal = tok, true
			}
		}
	}
	return into
}

// aptTokens splits APT configuration into words, quoted strings (kept
// with a leading `"` and no closing one), and the punctuation ; { }.
func aptTokens(text string) []string {
	var out []string
	i := 0
	for i < len(text) {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '/' && i+1 < len(text) && text[i+1] == '/':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case c == '#' && (i == 0 || text[i-1] == '\n' || strings.TrimSpace(lineBefore(text, i)) == ""):
			// Comments and #clear/#include directives run to the end of the line.
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			out = append(out, string(c))
			i++
		case c == '"':
			end := strings.IndexByte(text[i+1:], '"')
			if end < 0 {
				out = append(out, "\""+text[i+1:])
				return out
			}
			out = append(out, "\""+text[i+1:i+1+end])
			i += end + 2
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t\r\n;{}\"", rune(text[j])) {
				if text[j] == '/' && j+1 < len(text) && (text[j+1] == '/' || text[j+1] == '*') {
					break
				}
				j++
			}
			if j == i {
				j++
			}
			out = append(out, text[i:j])
			i = j
		}
	}
	return out
}

func lineBefore(text string, i int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	return text[start:i]
}

// APTPeriodicEnabled reads an APT::Periodic interval ("1", "0", "always",
// "7d", "12h"): enabled unless zero. ok is false for an unreadable value.
func APTPeriodicEnabled(v string) (enabled, ok bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case "", "0":
		return false, true
	case "always":
		return true, true
	}
	num := strings.TrimRight(v, "smhd")
	if len(v)-len(num) > 1 {
		return false, false
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return false, false
	}
	return n > 0, true
}

// ParseDpkgStatus reads /var/lib/dpkg/status and returns each package's
// Status field ("install ok installed", "deinstall ok config-files", …).
func ParseDpkgStatus(text string) map[string]string {
	out := map[string]string{}
	pkg, status := "", ""
	flush := func() {
		if pkg != "" {
			out[pkg] = status
		}
		pkg, status = "", ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "Package:"):
			pkg = strings.TrimSpace(line[len("Package:"):])
		case strings.HasPrefix(line, "Status:"):
			status = strings.TrimSpace(line[len("Status:"):])
		}
	}
	flush()
	return out
}

// ParseINI reads an INI file (dnf's automatic.conf) or a shell-style
// KEY="value" file (/etc/sysconfig): section → key → value, sections and
// keys lower-cased, values unquoted; keys before any section are in "".
func ParseINI(text string) map[string]map[string]string {
	out := map[string]map[string]string{"": {}}
	sec := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && strings.HasSuffix(line, "]") {
			sec = strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			if out[sec] == nil {
				out[sec] = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[sec][strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}

// parseBool reads yes/no, true/false, on/off, 1/0; ok is false otherwise.
func parseBool(v string) (b, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "on", "1":
		return true, true
	case "no", "false", "off", "0":
		return false, true
	}
	return false, false
}

// AptUpgrade is one package `apt-get -s dist-upgrade` would install.
type AptUpgrade struct {
	Package string
	From    string // installed version; empty for a new package
	To      string
	// Origins are "Label:Version/suite" entries, e.g.
	// "Debian-Security:12/oldstable-security".
	Origins  []string
	Security bool // one origin is a -security suite
}

// ParseAptSimulate reads the Inst lines of `apt-get -s dist-upgrade`:
//
//	Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
func ParseAptSimulate(text string) []AptUpgrade {
	var out []AptUpgrade
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "Inst ") {
			continue
		}
		rest := strings.TrimSpace(line[len("Inst "):])
		name, rest, _ := strings.Cut(rest, " ")
		if name == "" {
			continue
		}
		u := AptUpgrade{Package: name}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "[") {
			if end := strings.IndexByte(rest, ']'); end > 0 {
				u.From = rest[1:end]
				rest = strings.TrimSpace(rest[end+1:])
			}
		}
		if strings.HasPrefix(rest, "(") {
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				end = len(rest)
			}
			inner := rest[1:end]
			if i := strings.LastIndex(inner, " ["); i >= 0 {
				inner = inner[:i]
			}
			ver, origins, _ := strings.Cut(inner, " ")
			u.To = ver
			for _, o := range strings.Split(origins, ",") {
				o = strings.TrimSpace(o)
				if o == "" {
					continue
				}
				u.Origins = append(u.Origins, o)
				_, suite, _ := strings.Cut(o, "/")
				if strings.HasSuffix(suite, "-security") {
					u.Security = true
				}
			}
		}
		out = append(out, u)
	}
	return out
}

// ReleaseInfo is the header of an APT Release or InRelease file.
type ReleaseInfo struct {
	Suite, Codename, Label string
	Date                   time.Time
}

// ParseRelease reads the header fields of an APT Release/InRelease file.
// The Date field is when the repository published this index.
func ParseRelease(text string) (ReleaseInfo, error) {
	var r ReleaseInfo
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Suite":
			r.Suite = v
		case "Codename":
			r.Codename = v
		case "Label":
			r.Label = v
		case "Date":
			if r.Date.IsZero() {
				for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
					if t, err := time.Parse(layout, v); err == nil {
						r.Date = t.UTC()
						break
					}
				}
			}
		}
	}
	if r.Date.IsZero() {
		return r, fmt.Errorf("release file has no readable Date")
	}
	return r, nil
}

// Advisory is one security advisory dnf lists as applicable.
type Advisory struct {
	ID       string
	Severity string
	Package  string
	Issued   time.Time // zero when the output has no date (dnf 4)
}

var (
	advisoryID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*-[0-9A-Za-z][\w:.\-]*$`)
	dateTime   = regexp.MustCompile(`(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2}))?\s*$`)
)

// ParseDNFUpdateInfo reads `dnf updateinfo list --security` in both forms:
// dnf 4 ("FEDORA-2024-1a2b Moderate/Sec.  curl-8.6.0-7.fc40.x86_64") and
// dnf 5 (columns Name, Type, Severity, Package, Issued).
func ParseDNFUpdateInfo(text string) []Advisory {
	var out []Advisory
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !advisoryID.MatchString(f[0]) || !strings.ContainsAny(f[0], "0123456789") {
			continue
		}
		a := Advisory{ID: f[0]}
		switch {
		case strings.HasSuffix(f[1], "/Sec."):
			a.Severity = strings.TrimSuffix(f[1], "/Sec.")
			a.Package = f[2]
		case strings.EqualFold(f[1], "security") && len(f) >= 4:
			a.Severity, a.Package = f[2], f[3]
		case strings.EqualFold(f[1], "security"):
			a.Package = f[2]
		default:
			continue // bugfix or enhancement
		}
		if m := dateTime.FindStringSubmatch(line); m != nil {
			stamp := m[1] + " 00:00:00"
			if m[2] != "" {
				stamp = m[1] + " " + m[2]
			}
			if t, err := time.Parse(time.DateTime, stamp); err == nil {
				a.Issued = t
			}
		}
		out = append(out, a)
	}
	return out
}

// Patch is one row of `zypper list-patches`.
type Patch struct {
	ID, Category, Severity, Status string
	Issued                         time.Time // zero when no date column
}

// ParseZypperPatches reads the table of `zypper list-patches`, by its
// header (Name, Category, Severity, Status, and Issued or Since when
// present), so column order and extra columns do not matter.
func ParseZypperPatches(text string) []Patch {
	var out []Patch
	col := map[string]int{}
	for _, line := range strings.Split(text, "\n") {
		if !strings.Contains(line, "|") {
			continue
		}
		cells := strings.Split(line, "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(col) == 0 {
			for i, c := range cells {
				col[strings.ToLower(c)] = i
			}
			if _, ok := col["name"]; !ok {
				col = map[string]int{}
			}
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(cells) {
				return cells[i]
			}
			return ""
		}
		p := Patch{ID: get("name"), Category: get("category"), Severity: get("severity"), Status: get("status")}
		if p.ID == "" || strings.Trim(p.ID, "-+") == "" {
			continue
		}
		for _, name := range []string{"issued", "since", "released"} {
			if v := get(name); v != "" {
				if m := dateTime.FindStringSubmatch(v); m != nil {
					if t, err := time.Parse(time.DateOnly, m[1]); err == nil {
						p.Issued = t
					}
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// WUUpdate is one update the Windows Update Agent offers but has not
// installed, from herd's PowerShell query (see windows.go).
type WUUpdate struct {
	Title      string   `json:"Title"`
	KB         string   `json:"KB"`
	Categories []string `json:"Categories"`
	Severity   string   `json:"MsrcSeverity"`
	// Published is LastDeploymentChangeTime: when Microsoft released it.
	Published time.Time `json:"-"`
}

// Security reports whether the update fixes security problems.
func (u WUUpdate) Security() bool {
	if u.Severity != "" {
		return true
	}
	for _, c := range u.Categories {
		if strings.EqualFold(c, "Security Updates") {
			return true
		}
	}
	return false
}

// WUResult is the answer of herd's Windows Update query.
type WUResult struct {
	Updates []WUUpdate
	// LastInstall is the date of the most recent install in the Windows
	// Update history; zero when there is none.
	LastInstall time.Time
}

// ParseWUQuery reads the JSON herd's PowerShell query prints:
// {"Updates": [{"Title", "KB", "Categories", "MsrcSeverity", "Published"}], "LastInstall": "…"}.
// ConvertTo-Json writes a one-element list as a bare object and an empty
// one as null; both are accepted. Dates are ISO 8601 or /Date(ms)/.
func ParseWUQuery(text string) (WUResult, error) {
	var raw struct {
		Updates     json.RawMessage `json:"Updates"`
		LastInstall string          `json:"LastInstall"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(text)), &raw); err != nil {
		return WUResult{}, fmt.Errorf("windows update query: %w", err)
	}
	type item struct {
		WUUpdate
		Categories json.RawMessage `json:"Categories"`
		Published  string          `json:"Published"`
	}
	var items []item
	u := strings.TrimSpace(string(raw.Updates))
	switch {
	case u == "" || u == "null":
	case strings.HasPrefix(u, "["):
		if err := json.Unmarshal(raw.Updates, &items); err != nil {
			return WUResult{}, fmt.Errorf("windows update query: %w", err)
		}
	default:
		var one item
		if err := json.Unmarshal(raw.Updates, &one); err != nil {
			return WUResult{}, fmt.Errorf("windows update query: %w", err)
		}
		items = []item{one}
	}
	var res WUResult
	for _, it := range items {
		w := it.WUUpdate
		w.Categories = nil
		var cats []string
		if json.Unmarshal(it.Categories, &cats) == nil {
			w.Categories = cats
		} else {
			var one string
			if json.Unmarshal(it.Categories, &one) == nil && one != "" {
				w.Categories = []string{one}
			}
		}
		w.Published, _ = parseWinTime(it.Published)
		res.Updates = append(res.Updates, w)
	}
	res.LastInstall, _ = parseWinTime(raw.LastInstall)
	return res, nil
}

var msDate = regexp.MustCompile(`^/Date\((-?\d+)(?:[+-]\d{4})?\)/$`)

// parseWinTime reads ISO 8601, "2006-01-02 15:04:05" (UTC, as Windows
// Update writes LastSuccessTime) and JSON's /Date(ms)/.
func parseWinTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if m := msDate.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", time.DateTime} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// ParseStatMtime reads `stat -c %Y FILE` (seconds since the epoch).
func ParseStatMtime(text string) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}
