package ossupport

import (
	"bufio"
	"strings"
	"time"
)

// ParseOSRelease reads an os-release(5) file: KEY=value lines, values
// optionally in single or double quotes with backslash escapes in double
// quotes; comments and blank lines are skipped.
func ParseOSRelease(text string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		out[k] = unquote(strings.TrimSpace(v))
	}
	return out
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}

// ParseSwVers reads the output of macOS sw_vers ("ProductVersion:\t15.1").
func ParseSwVers(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// macOSRelease turns a ProductVersion into the release the table lists:
// "10.15.7" → "10.15", "15.1" → "15", "26.0.1" → "26".
func macOSRelease(version string) string {
	parts := strings.Split(version, ".")
	if parts[0] == "10" && len(parts) > 1 {
		return parts[0] + "." + parts[1]
	}
	return parts[0]
}

// ParsePacmanLog returns the time of the last full system upgrade
// ("starting full system upgrade") in a pacman.log; ok is false when there
// is none. Both timestamp forms are read: "[2026-11-30T10:00:00+0000]" and
// the older "[2019-01-01 10:00]".
func ParsePacmanLog(text string) (last time.Time, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "starting full system upgrade") || !strings.HasPrefix(line, "[") {
			continue
		}
		end := strings.IndexByte(line, ']')
		if end < 0 {
			continue
		}
		stamp := line[1:end]
		for _, layout := range []string{"2006-01-02T15:04:05-0700", "2006-01-02T15:04:05Z07:00", "2006-01-02 15:04"} {
			if t, err := time.Parse(layout, stamp); err == nil {
				if t.After(last) {
					last, ok = t, true
				}
				break
			}
		}
	}
	return last, ok
}
