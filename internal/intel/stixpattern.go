package intel

import (
	"errors"
	"fmt"
	"strings"

	"github.com/herd-health/herd/internal/indicators"
)

// This file reads the STIX 2.1 patterning language (STIX 2.1 part 9)
// far enough to take exact-match indicators out of a pattern:
// observation expressions in brackets joined by AND, OR and FOLLOWEDBY,
// with qualifiers; comparisons joined by AND and OR; the operators =,
// !=, <, >, <=, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET, with NOT.
// Only equality (and IN) on the object paths herd matches give values;
// every other comparison is read and ignored.

type stixTokKind int

const (
	tkEOF stixTokKind = iota
	tkPunct
	tkOp
	tkWord // keyword or number
	tkPath
	tkString
	tkOther // t'…', h'…', b'…'
)

type stixTok struct {
	kind stixTokKind
	text string
}

func lexSTIX(s string) ([]stixTok, error) {
	var out []stixTok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(' || c == ')' || c == '[' || c == ']' || c == ',':
			out = append(out, stixTok{tkPunct, string(c)})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(s) && (s[j] == '=' || (c == '<' && s[j] == '>')) {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return nil, fmt.Errorf("unexpected %q at %d", op, i)
			}
			out = append(out, stixTok{tkOp, op})
			i = j
		case c == '\'':
			str, n, err := lexQuoted(s[i:])
			if err != nil {
				return nil, err
			}
			out = append(out, stixTok{tkString, str})
			i += n
		case (c == 't' || c == 'h' || c == 'b') && i+1 < len(s) && s[i+1] == '\'':
			str, n, err := lexQuoted(s[i+1:])
			if err != nil {
				return nil, err
			}
			out = append(out, stixTok{tkOther, str})
			i += 1 + n
		case isWordByte(c) || c == '-':
			j := i
			isPath := false
			for j < len(s) {
				d := s[j]
				switch {
				case isWordByte(d) || d == '-' || d == '.' || d == '+':
					j++
				case d == ':':
					isPath = true
					j++
				case d == '\'' && j > i && s[j-1] == '.':
					_, n, err := lexQuoted(s[j:])
					if err != nil {
						return nil, err
					}
					j += n
				case d == '[' && isPath:
					k := strings.IndexByte(s[j:], ']')
					if k < 0 || !isIndex(s[j+1:j+k]) {
						goto done
					}
					j += k + 1
				default:
					goto done
				}
			}
		done:
			kind := tkWord
			if isPath {
				kind = tkPath
			}
			out = append(out, stixTok{kind, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	return append(out, stixTok{kind: tkEOF}), nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isIndex(s string) bool {
	if s == "*" {
		return true
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lexQuoted reads a '…' string with \' and \\ escapes; n is the bytes used.
func lexQuoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errors.New("unterminated string")
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errors.New("unterminated string")
}

// patNode is a boolean tree over comparisons.
type patNode struct {
	op   string // "and", "or", or "" for a leaf
	kids []*patNode
	leaf *patValue // nil for a comparison herd does not use
}

// patValue is one usable comparison: an indicator value or a port.
type patValue struct {
	typ   Type
	value string
	port  uint16
	isPrt bool
	path  string // a fileName's object path, for its error message
}

type stixParser struct {
	toks []stixTok
	pos  int
	errs []string // values that failed normalisation
	// sawProcess: the observation being read compares a process's
	// property, so a file name in it is that process's image.
	sawProcess bool
}

// fileName marks a file:name value until its observation is read: the
// name of a running program when the observation is about a process,
// else a file that may never run, which gives no indicator.
const fileName Type = "file name"

func (p *stixParser) peek() stixTok { return p.toks[p.pos] }
func (p *stixParser) next() stixTok {
	t := p.toks[p.pos]
	if t.kind != tkEOF {
		p.pos++
	}
	return t
}

func (p *stixParser) isKw(words ...string) bool {
	t := p.peek()
	if t.kind != tkWord {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			return true
		}
	}
	return false
}

func (p *stixParser) expect(kind stixTokKind, text string) error {
	t := p.next()
	if t.kind != kind || (text != "" && t.text != text) {
		return fmt.Errorf("expected %q, found %q", text, t.text)
	}
	return nil
}

// parseSTIXPattern reads a pattern into a tree.
func parseSTIXPattern(s string) (*patNode, []string, error) {
	toks, err := lexSTIX(s)
	if err != nil {
		return nil, nil, err
	}
	p := &stixParser{toks: toks}
	n, err := p.obsOr(0)
	if err != nil {
		return nil, nil, err
	}
	if p.peek().kind != tkEOF {
		return nil, nil, fmt.Errorf("unexpected %q after the pattern", p.peek().text)
	}
	return n, p.errs, nil
}

const maxPatternDepth = 64

func (p *stixParser) obsOr(depth int) (*patNode, error) {
	return p.chain(depth, "or", []string{"OR"}, func(d int) (*patNode, error) {
		return p.chain(d, "and", []string{"AND", "FOLLOWEDBY"}, p.obsUnit)
	})
}

// chain parses unit (KW unit)* into one node.
func (p *stixParser) chain(depth int, op string, kws []string, unit func(int) (*patNode, error)) (*patNode, error) {
	if depth > maxPatternDepth {
		return nil, errors.New("pattern nests too deeply")
	}
	first, err := unit(depth + 1)
	if err != nil {
		return nil, err
	}
	kids := []*patNode{first}
	for p.isKw(kws...) {
		p.next()
		n, err := unit(depth + 1)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &patNode{op: op, kids: kids}, nil
}

func (p *stixParser) obsUnit(depth int) (*patNode, error) {
	var n *patNode
	var err error
	switch t := p.next(); {
	case t.kind == tkPunct && t.text == "[":
		p.sawProcess = false
		if n, err = p.cmpOr(depth + 1); err != nil {
			return nil, err
		}
		if err := p.expect(tkPunct, "]"); err != nil {
			return nil, err
		}
		p.resolveFileNames(n, p.sawProcess)
	case t.kind == tkPunct && t.text == "(":
		if n, err = p.obsOr(depth + 1); err != nil {
			return nil, err
		}
		if err := p.expect(tkPunct, ")"); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("expected an observation expression, found %q", t.text)
	}
	for {
		switch {
		case p.isKw("WITHIN"):
			p.next()
			p.next() // number
			if err := p.kw("SECONDS"); err != nil {
				return nil, err
			}
		case p.isKw("REPEATS"):
			p.next()
			p.next()
			if err := p.kw("TIMES"); err != nil {
				return nil, err
			}
		case p.isKw("START"):
			p.next()
			p.next()
			if err := p.kw("STOP"); err != nil {
				return nil, err
			}
			p.next()
		default:
			return n, nil
		}
	}
}

func (p *stixParser) kw(w string) error {
	if !p.isKw(w) {
		return fmt.Errorf("expected %s, found %q", w, p.peek().text)
	}
	p.next()
	return nil
}

func (p *stixParser) cmpOr(depth int) (*patNode, error) {
	return p.chain(depth, "or", []string{"OR"}, func(d int) (*patNode, error) {
		return p.chain(d, "and", []string{"AND"}, p.cmpUnit)
	})
}

func (p *stixParser) cmpUnit(depth int) (*patNode, error) {
	if t := p.peek(); t.kind == tkPunct && t.text == "(" {
		p.next()
		n, err := p.cmpOr(depth + 1)
		if err != nil {
			return nil, err
		}
		return n, p.expect(tkPunct, ")")
	}
	path := p.next()
	if path.kind != tkPath {
		return nil, fmt.Errorf("expected an object path, found %q", path.text)
	}
	if obj, _, _ := strings.Cut(path.text, ":"); strings.EqualFold(obj, "process") {
		p.sawProcess = true
	}
	negated := false
	if p.isKw("NOT") {
		p.next()
		negated = true
	}
	var op string
	switch t := p.next(); {
	case t.kind == tkOp:
		op = t.text
	case t.kind == tkWord && (p.isOpWord(t.text)):
		op = strings.ToUpper(t.text)
	default:
		return nil, fmt.Errorf("expected a comparison operator after %s, found %q", path.text, t.text)
	}
	var vals []stixTok
	if op == "IN" {
		if err := p.expect(tkPunct, "("); err != nil {
			return nil, err
		}
		for {
			v := p.next()
			if v.kind == tkEOF || v.kind == tkPunct || v.kind == tkOp || v.kind == tkPath {
				return nil, fmt.Errorf("bad value in IN list: %q", v.text)
			}
			vals = append(vals, v)
			if t := p.next(); t.kind == tkPunct && t.text == ")" {
				break
			} else if t.kind != tkPunct || t.text != "," {
				return nil, fmt.Errorf("expected , or ) in IN list, found %q", t.text)
			}
		}
	} else {
		v := p.next()
		if v.kind == tkEOF || v.kind == tkPunct || v.kind == tkOp || v.kind == tkPath {
			return nil, fmt.Errorf("expected a value after %s %s, found %q", path.text, op, v.text)
		}
		vals = append(vals, v)
	}
	if negated || (op != "=" && op != "IN") {
		return &patNode{}, nil
	}
	var kids []*patNode
	for _, v := range vals {
		kids = append(kids, &patNode{leaf: p.value(path.text, v)})
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &patNode{op: "or", kids: kids}, nil
}

func (p *stixParser) isOpWord(w string) bool {
	switch strings.ToUpper(w) {
	case "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET":
		return true
	}
	return false
}

// value turns "path = value" into an indicator value, or nil when herd
// does not match that path.
func (p *stixParser) value(path string, v stixTok) *patValue {
	obj, prop, _ := strings.Cut(path, ":")
	obj, prop = strings.ToLower(obj), strings.ToLower(prop)
	var t Type
	switch {
	case obj == "network-traffic" && prop == "dst_port":
		if v.kind != tkWord {
			return nil
		}
		n, err := ParsePort(v.text)
		if err != nil || n == 0 {
			p.errs = append(p.errs, fmt.Sprintf("%s: %q is not a port", path, v.text))
			return nil
		}
		return &patValue{port: n, isPrt: true}
	case v.kind != tkString:
		return nil
	case (obj == "ipv4-addr" || obj == "ipv6-addr") && prop == "value",
		obj == "network-traffic" && prop == "dst_ref.value":
		at, av, err := NormalizeAddr(v.text)
		if err == nil {
			return &patValue{typ: at, value: av}
		}
		if errors.Is(err, indicators.ErrNotSpecific) {
			p.errs = append(p.errs, fmt.Sprintf("%s: %v", path, err))
			return nil
		}
		if obj == "network-traffic" {
			t = Domain
		} else {
			p.errs = append(p.errs, fmt.Sprintf("%s: %q is not an IP address", path, v.text))
			return nil
		}
	case obj == "process" && (prop == "name" || prop == "image_ref.name" || prop == "binary_ref.name"):
		t = Process
	case obj == "file" && prop == "name":
		return &patValue{typ: fileName, value: v.text, path: path}
	case obj == "domain-name" && prop == "value":
		t = Domain
	case obj == "url" && prop == "value":
		t = URL
	case obj == "file" && strings.HasPrefix(prop, "hashes."):
		name := strings.Trim(strings.TrimPrefix(prop, "hashes."), "'")
		switch strings.ReplaceAll(name, "-", "") {
		case "sha256":
			t = SHA256
		case "sha1":
			t = SHA1
		case "md5":
			t = MD5
		default:
			return nil
		}
	default:
		return nil
	}
	nt, nv, err := Normalize(t, v.text)
	if err != nil {
		p.errs = append(p.errs, fmt.Sprintf("%s: %v", path, err))
		return nil
	}
	return &patValue{typ: nt, value: nv}
}

// resolveFileNames turns the file names of one observation into process
// names when it is about a process, and drops them otherwise.
func (p *stixParser) resolveFileNames(n *patNode, process bool) {
	if n.leaf != nil && n.leaf.typ == fileName {
		v := n.leaf
		n.leaf = nil
		if !process {
			return
		}
		nt, nv, err := Normalize(Process, v.value)
		if err != nil {
			p.errs = append(p.errs, fmt.Sprintf("%s: %v", v.path, err))
			return
		}
		n.leaf = &patValue{typ: nt, value: nv}
	}
	for _, k := range n.kids {
		p.resolveFileNames(k, process)
	}
}

// maxAlternatives bounds the expansion of AND over OR.
const maxAlternatives = 1024

// patternIndicators lists the indicators a pattern names. Each way the
// pattern can be satisfied is one alternative; in an alternative that
// names exactly one destination port, address and network indicators
// carry that port.
func patternIndicators(n *patNode) []patValue {
	alts := expand(n)
	if alts == nil {
		alts = [][]patValue{flatten(n, nil)} // too many: ignore ports
	}
	seen := map[patValue]bool{}
	var out []patValue
	for _, alt := range alts {
		var ports []uint16
		for _, v := range alt {
			if v.isPrt {
				ports = append(ports, v.port)
			}
		}
		for _, v := range alt {
			if v.isPrt {
				continue
			}
			if len(ports) == 1 && (v.typ == IPv4 || v.typ == IPv6) {
				v.port = ports[0]
			}
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// expand lists n's alternatives (disjunctive normal form); nil when
// there would be more than maxAlternatives.
func expand(n *patNode) [][]patValue {
	switch n.op {
	case "":
		if n.leaf == nil {
			return [][]patValue{{}}
		}
		return [][]patValue{{*n.leaf}}
	case "or":
		var out [][]patValue
		for _, k := range n.kids {
			a := expand(k)
			if a == nil || len(out)+len(a) > maxAlternatives {
				return nil
			}
			out = append(out, a...)
		}
		return out
	default: // and
		out := [][]patValue{{}}
		for _, k := range n.kids {
			a := expand(k)
			if a == nil || len(out)*len(a) > maxAlternatives {
				return nil
			}
			var next [][]patValue
			for _, x := range out {
				for _, y := range a {
					m := append(append([]patValue{}, x...), y...)
					next = append(next, m)
				}
			}
			out = next
		}
		return out
	}
}

func flatten(n *patNode, acc []patValue) []patValue {
	if n.op == "" {
		if n.leaf != nil && !n.leaf.isPrt {
			acc = append(acc, *n.leaf)
		}
		return acc
	}
	for _, k := range n.kids {
		acc = flatten(k, acc)
	}
	return acc
}
