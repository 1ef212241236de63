package updates

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ParseDefaults reads the old-style property list that `defaults read`
// prints: dictionaries { key = value; }, arrays ( a, b ), quoted and bare
// strings, and <hex> data. Numbers and booleans come back as the strings
// defaults prints ("1", "0"); dictionaries as map[string]any, arrays as
// []any, data as its hex text.
func ParseDefaults(text string) (any, error) {
	p := &plistParser{s: text}
	p.skip()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("plist: unexpected %q at offset %d", p.s[p.i], p.i)
	}
	return v, nil
}

type plistParser struct {
	s string
	i int
}

var errPlistEOF = errors.New("plist: unexpected end")

const maxPlistDepth = 64

func (p *plistParser) skip() {
	for p.i < len(p.s) {
		switch {
		case strings.ContainsRune(" \t\r\n", rune(p.s[p.i])):
			p.i++
		case strings.HasPrefix(p.s[p.i:], "//"):
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		case strings.HasPrefix(p.s[p.i:], "/*"):
			end := strings.Index(p.s[p.i+2:], "*/")
			if end < 0 {
				p.i = len(p.s)
				return
			}
			p.i += end + 4
		default:
			return
		}
	}
}

func (p *plistParser) value(depth int) (any, error) {
	if depth > maxPlistDepth {
		return nil, errors.New("plist: nested too deeply")
	}
	p.skip()
	if p.i >= len(p.s) {
		return nil, errPlistEOF
	}
	switch p.s[p.i] {
	case '{':
		p.i++
		m := map[string]any{}
		for {
			p.skip()
			if p.i >= len(p.s) {
				return nil, errPlistEOF
			}
			if p.s[p.i] == '}' {
				p.i++
				return m, nil
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.skip()
			if p.i >= len(p.s) || p.s[p.i] != '=' {
				return nil, fmt.Errorf("plist: want = after %q", k)
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[k] = v
			p.skip()
			if p.i < len(p.s) && p.s[p.i] == ';' {
				p.i++
			}
		}
	case '(':
		p.i++
		var a []any
		for {
			p.skip()
			if p.i >= len(p.s) {
				return nil, errPlistEOF
			}
			if p.s[p.i] == ')' {
				p.i++
				if a == nil {
					a = []any{}
				}
				return a, nil
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			p.skip()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
			}
		}
	case '<':
		end := strings.IndexByte(p.s[p.i:], '>')
		if end < 0 {
			return nil, errPlistEOF
		}
		v := strings.ReplaceAll(p.s[p.i+1:p.i+end], " ", "")
		p.i += end + 1
		return v, nil
	}
	return p.str()
}

func (p *plistParser) str() (string, error) {
	if p.i >= len(p.s) {
		return "", errPlistEOF
	}
	if p.s[p.i] == '"' {
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			c := p.s[p.i]
			switch {
			case c == '"':
				p.i++
				return b.String(), nil
			case c == '\\' && p.i+1 < len(p.s):
				p.i++
				switch p.s[p.i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(p.s[p.i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", errPlistEOF
	}
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" \t\r\n{}()=;,<>\"", rune(p.s[p.i])) {
		p.i++
	}
	if p.i == start {
		return "", fmt.Errorf("plist: unexpected %q at offset %d", p.s[p.i], p.i)
	}
	return p.s[start:p.i], nil
}

// plistBool reads a defaults boolean ("1", "0", "true", "YES"); ok is
// false when the key is absent or not a boolean.
func plistBool(m map[string]any, key string) (b, ok bool) {
	s, isStr := m[key].(string)
	if !isStr {
		return false, false
	}
	switch strings.ToLower(s) {
	case "1", "true", "yes":
		return true, true
	case "0", "false", "no":
		return false, true
	}
	return false, false
}

// plistDate reads a date as defaults prints it ("2026-11-30 10:00:00 +0000").
func plistDate(m map[string]any, key string) (time.Time, bool) {
	s, ok := m[key].(string)
	if !ok {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02 15:04:05 -0700", time.RFC3339} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
