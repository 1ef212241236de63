package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// lineIndex wraps a reader and remembers where its newlines are, so a
// streaming JSON decoder's byte offset can be told as a line number. It
// forgets newlines behind the last offset asked about, so it holds no
// more than the decoder's read-ahead.
type lineIndex struct {
	r       io.Reader
	read    int64   // bytes read so far
	nl      []int64 // offsets of newlines not yet forgotten
	dropped int     // newlines forgotten
}

func (l *lineIndex) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	for i := 0; i < n; i++ {
		if b[i] == '\n' {
			l.nl = append(l.nl, l.read+int64(i))
		}
	}
	l.read += int64(n)
	return n, err
}

// line is the 1-based line holding byte offset off; offsets must not
// decrease between calls.
func (l *lineIndex) line(off int64) int {
	i := 0
	for i < len(l.nl) && l.nl[i] < off {
		i++
	}
	l.dropped += i
	l.nl = l.nl[i:]
	return l.dropped + 1
}

// jsonStream is a json.Decoder over a lineIndex.
type jsonStream struct {
	idx *lineIndex
	dec *json.Decoder
}

func newJSONStream(r io.Reader) *jsonStream {
	idx := &lineIndex{r: r}
	dec := json.NewDecoder(idx)
	dec.UseNumber()
	return &jsonStream{idx: idx, dec: dec}
}

// where names the position after the decoder's last token or value.
func (s *jsonStream) where() string {
	return "line " + strconv.Itoa(s.idx.line(s.dec.InputOffset()))
}

// delim reads the next token and checks it is d.
func (s *jsonStream) delim(d json.Delim) error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.fatal(err)
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("%s: %w: expected %q, found %v", s.where(), ErrFormat, d, tok)
	}
	return nil
}

// key reads an object key; ok is false at the object's end.
func (s *jsonStream) key() (string, bool, error) {
	tok, err := s.dec.Token()
	if err != nil {
		return "", false, s.fatal(err)
	}
	switch t := tok.(type) {
	case string:
		return t, true, nil
	case json.Delim:
		if t == '}' {
			return "", false, nil
		}
	}
	return "", false, fmt.Errorf("%s: %w: expected an object key, found %v", s.where(), ErrFormat, tok)
}

// skipValue reads and discards one value.
func (s *jsonStream) skipValue() error {
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		return s.fatal(err)
	}
	return nil
}

// fatal turns a decoder error that stops the parse into ErrTruncated or
// ErrFormat with a line number.
func (s *jsonStream) fatal(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The input ended: parsing stopped at its last byte, not at the
		// start of the value it was reading.
		return fmt.Errorf("line %d: %w", s.idx.line(s.idx.read), ErrTruncated)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: %w: %v", s.idx.line(se.Offset), ErrFormat, err)
	}
	return fmt.Errorf("%s: %w", s.where(), err)
}

// decodeElem decodes the next value into v. A value of the wrong shape is
// consumed and reported as recoverable (ok false, err nil after the
// caller records it as skipped); a syntax error or EOF is fatal.
func (s *jsonStream) decodeElem(v any) (recoverable error, fatal error) {
	err := s.dec.Decode(v)
	if err == nil {
		return nil, nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return err, nil
	}
	return nil, s.fatal(err)
}

// flex is a JSON scalar read as text whatever its JSON type: feeds write
// numbers and booleans as strings, and strings as numbers.
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(s)
	case b[0] == '{' || b[0] == '[':
		return &json.UnmarshalTypeError{Value: "object or array", Type: reflect.TypeFor[string]()}
	default:
		*f = flex(b)
	}
	return nil
}

func (f flex) String() string { return strings.TrimSpace(string(f)) }

// Bool reads true/false, 1/0 and their string forms.
func (f flex) Bool() bool {
	switch strings.ToLower(f.String()) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// parseFeodoJSON reads Feodo Tracker's JSON blocklist: one array of
// objects with ip_address, port, status, malware, first_seen, last_online.
func (p *parser) parseFeodoJSON(r io.Reader) error {
	s := newJSONStream(r)
	if err := s.delim('['); err != nil {
		return err
	}
	for s.dec.More() {
		var e struct {
			IP        flex `json:"ip_address"`
			Port      flex `json:"port"`
			Status    flex `json:"status"`
			Malware   flex `json:"malware"`
			FirstSeen flex `json:"first_seen"`
			LastSeen  flex `json:"last_online"`
		}
		rec, err := s.decodeElem(&e)
		if err != nil {
			return err
		}
		where := s.where()
		if rec != nil {
			p.skip(where, "malformed entry: "+rec.Error())
			continue
		}
		p.feodo(where, e.IP.String(), e.Port.String(), e.Malware.String(), e.FirstSeen.String(), e.LastSeen.String(), e.Status.String())
		if p.stop != nil {
			return p.stop
		}
	}
	return s.delim(']')
}

// tfRecord is one ThreatFox IOC, from the JSON export or the CSV.
type tfRecord struct {
	Value      string
	Type       string
	Malware    string // malware_printable
	MalwareID  string // fk_malware / malware, e.g. win.qakbot
	FirstSeen  string
	LastSeen   string
	Confidence string
	Tags       string
}

// threatFox turns one ThreatFox IOC into an indicator. IOC types herd does
// not match (e.g. sha3_384_hash) are skipped without an error.
func (p *parser) threatFox(where string, rec tfRecord) {
	ind := Indicator{Source: "threatfox", Family: rec.Malware,
		FirstSeen: parseTime(rec.FirstSeen), LastSeen: parseTime(rec.LastSeen), Tags: splitTags(rec.Tags)}
	if ind.Family == "" || strings.EqualFold(ind.Family, "Unknown malware") {
		ind.Family = ""
		if rec.MalwareID != "" && rec.MalwareID != "unknown" {
			ind.Family = rec.MalwareID
		}
	}
	if c, err := strconv.Atoi(rec.Confidence); err == nil && c >= 0 && c <= 100 {
		ind.Confidence = c
	}
	var err error
	switch strings.ToLower(rec.Type) {
	case "ip:port":
		ind.Type, ind.Value, ind.Port, err = NormalizeAddrPort(rec.Value)
	case "domain":
		ind.Type, ind.Value, err = Normalize(Domain, rec.Value)
	case "url":
		ind.Type, ind.Value, err = Normalize(URL, rec.Value)
	case "md5_hash":
		ind.Type, ind.Value, err = Normalize(MD5, rec.Value)
	case "sha1_hash":
		ind.Type, ind.Value, err = Normalize(SHA1, rec.Value)
	case "sha256_hash":
		ind.Type, ind.Value, err = Normalize(SHA256, rec.Value)
	case "":
		p.skip(where, "no ioc_type")
		return
	default:
		p.skip(where, "")
		return
	}
	if err != nil {
		p.skip(where, err.Error())
		return
	}
	p.emit(ind)
}

// tfJSON is one IOC object of ThreatFox's JSON export (ioc_value,
// first_seen_utc, last_seen_utc, tags as "a,b") or of its API answer
// (ioc, first_seen, last_seen as "2006-01-02 15:04:05 UTC", tags as a
// list).
type tfJSON struct {
	Value      flex            `json:"ioc_value"`
	IOC        flex            `json:"ioc"`
	Type       flex            `json:"ioc_type"`
	Malware    flex            `json:"malware"`
	Printable  flex            `json:"malware_printable"`
	FirstSeen  flex            `json:"first_seen_utc"`
	FirstSeen2 flex            `json:"first_seen"`
	LastSeen   flex            `json:"last_seen_utc"`
	LastSeen2  flex            `json:"last_seen"`
	Confidence flex            `json:"confidence_level"`
	Tags       json.RawMessage `json:"tags"`
}

func (e tfJSON) record() tfRecord {
	v, first, last := e.Value.String(), e.FirstSeen.String(), e.LastSeen.String()
	if v == "" {
		v = e.IOC.String()
	}
	if first == "" {
		first = e.FirstSeen2.String()
	}
	if last == "" {
		last = e.LastSeen2.String()
	}
	return tfRecord{
		Value: v, Type: e.Type.String(), Malware: e.Printable.String(), MalwareID: e.Malware.String(),
		FirstSeen: first, LastSeen: last, Confidence: e.Confidence.String(), Tags: tagList(e.Tags),
	}
}

// parseThreatFoxJSON reads ThreatFox's JSON export, an object keyed by IOC
// id whose values are lists of IOC objects, and the answer of its API
// (v1 get_iocs, search_ioc, malwareinfo, taginfo…), {"query_status":
// "ok", "data": [IOC…]}. An answer whose query_status is "no_result"
// holds no IOC; any other status but "ok" is an error.
func (p *parser) parseThreatFoxJSON(r io.Reader) error {
	s := newJSONStream(r)
	if err := s.delim('{'); err != nil {
		return err
	}
	status := ""
	for {
		k, ok, err := s.key()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if k == "query_status" {
			var st flex
			if rec, err := s.decodeElem(&st); err != nil {
				return err
			} else if rec != nil {
				return fmt.Errorf("%s: %w: query_status is not a string", s.where(), ErrFormat)
			}
			switch status = st.String(); status {
			case "ok", "no_result":
			default:
				return fmt.Errorf("%s: %w: ThreatFox answered query_status %q, not ok", s.where(), ErrFormat, status)
			}
			continue
		}
		where := s.where()
		if k == "data" && status != "" {
			if err := p.threatFoxAPIData(s, status); err != nil {
				return err
			}
			continue
		}
		var list []struct {
			Value      flex            `json:"ioc_value"`
			Type       flex            `json:"ioc_type"`
			Malware    flex            `json:"malware"`
			Printable  flex            `json:"malware_printable"`
			FirstSeen  flex            `json:"first_seen_utc"`
			FirstSeen2 flex            `json:"first_seen"`
			LastSeen   flex            `json:"last_seen_utc"`
			LastSeen2  flex            `json:"last_seen"`
			Confidence flex            `json:"confidence_level"`
			Tags       json.RawMessage `json:"tags"`
		}
		rec, err := s.decodeElem(&list)
		if err != nil {
			return err
		}
		if rec != nil {
			p.skip(where, fmt.Sprintf("IOC %q: malformed entry: %v", k, rec))
			continue
		}
		for _, e := range list {
			first, last := e.FirstSeen.String(), e.LastSeen.String()
			if first == "" {
				first = e.FirstSeen2.String()
			}
			if last == "" {
				last = e.LastSeen2.String()
			}
			p.threatFox(where, tfRecord{
				Value: e.Value.String(), Type: e.Type.String(),
				Malware: e.Printable.String(), MalwareID: e.Malware.String(),
				FirstSeen: first, LastSeen: last, Confidence: e.Confidence.String(),
				Tags: tagList(e.Tags),
			})
			if p.stop != nil {
				return p.stop
			}
		}
	}
}

// threatFoxAPIData reads the API answer's data: a list of IOC objects,
// or, with no_result, a message.
func (p *parser) threatFoxAPIData(s *jsonStream, status string) error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.fatal(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		if _, isText := tok.(string); isText && status == "no_result" {
			return nil
		}
		return fmt.Errorf("%s: %w: data is not a list of IOCs", s.where(), ErrFormat)
	}
	for s.dec.More() {
		var e tfJSON
		rec, err := s.decodeElem(&e)
		if err != nil {
			return err
		}
		where := s.where()
		if rec != nil {
			p.skip(where, "malformed IOC: "+rec.Error())
			continue
		}
		p.threatFox(where, e.record())
		if p.stop != nil {
			return p.stop
		}
	}
	return s.delim(']')
}

// tagList reads tags given as "a,b" or ["a","b"] and joins them with commas.
func tagList(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var l []string
	if json.Unmarshal(raw, &l) == nil {
		return strings.Join(l, ",")
	}
	return ""
}
