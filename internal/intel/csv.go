package intel

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxLine bounds one CSV line; a longer one is skipped as malformed.
const maxLine = 1 << 20

// lineReader reads lines of any length up to maxLine, counting them.
type lineReader struct {
	br   *bufio.Reader
	n    int  // number of the line last returned, from 1
	eol  bool // the line last returned ended with a newline
	long bool // the line last returned was longer than maxLine (and cut)
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its line ending; io.EOF at the end.
func (l *lineReader) next() (string, error) {
	var buf []byte
	l.long = false
	for {
		chunk, err := l.br.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxLine {
			buf = append(buf, chunk...)
		} else {
			l.long = true
		}
		switch {
		case err == nil:
			l.n++
			l.eol = true
			return strings.TrimRight(string(buf), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 && !l.long {
				return "", io.EOF
			}
			l.n++
			l.eol = false
			return strings.TrimRight(string(buf), "\r"), nil
		default:
			return "", err
		}
	}
}

// csvRow is one data row with access by column name.
type csvRow struct {
	cols   map[string]int
	fields []string
}

func (r csvRow) get(name string) string {
	if i, ok := r.cols[name]; ok && i < len(r.fields) {
		v := strings.TrimSpace(r.fields[i])
		if emptyValue(v) {
			return ""
		}
		return v
	}
	return ""
}

// parseCSV reads the abuse.ch CSV layouts: a '#' banner, a header line
// (commented or not), then one quoted record a line.
func (p *parser) parseCSV(r io.Reader) error {
	lr := newLineReader(r)
	var cols map[string]int
	ncols := 0
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", lr.n+1, err)
		}
		where := "line " + strconv.Itoa(lr.n)
		if lr.long {
			p.skip(where, "line is too long")
			continue
		}
		trimmed := strings.TrimSpace(line)
		if cols == nil {
			if h := headerColumns(trimmed); formatOfHeader(h) == p.format {
				cols = make(map[string]int, len(h))
				for i, c := range h {
					if _, dup := cols[c]; !dup {
						cols[c] = i
					}
				}
				ncols = len(h)
				continue
			}
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			p.skip(where, "data before the header line")
			continue
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		fields, perr := splitCSVLine(line)
		if perr == nil && len(fields) != ncols {
			perr = fmt.Errorf("%d fields, the header has %d", len(fields), ncols)
		}
		if perr != nil {
			p.skip(where, perr.Error())
			if !lr.eol {
				return fmt.Errorf("%s: %w", where, ErrTruncated)
			}
			continue
		}
		p.csvRecord(where, csvRow{cols: cols, fields: fields})
		if p.stop != nil {
			return p.stop
		}
	}
	if cols == nil {
		return fmt.Errorf("%w: no %s header line", ErrFormat, p.format)
	}
	return nil
}

// splitCSVLine parses one line of quoted fields, with or without a space
// after each comma.
func splitCSVLine(line string) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(line))
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	rec, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("bad quoting: %v", pe.Err)
		}
		return nil, err
	}
	if _, err := cr.Read(); !errors.Is(err, io.EOF) {
		return nil, errors.New("a quoted field runs past the end of the line")
	}
	return rec, nil
}

func (p *parser) csvRecord(where string, row csvRow) {
	switch p.format {
	case FeodoCSV:
		p.feodo(where, row.get("dst_ip"), row.get("dst_port"), row.get("malware"),
			row.get("first_seen_utc"), row.get("last_online"), row.get("c2_status"))
	case URLhausCSV:
		v, err := NormalizeURL(row.get("url"))
		if err != nil {
			p.skip(where, err.Error())
			return
		}
		p.emit(Indicator{
			Type: URL, Value: v, Source: "urlhaus",
			FirstSeen: parseTime(row.get("dateadded")), LastSeen: parseTime(row.get("last_online")),
			Tags: splitTags(row.get("tags")),
		})
	case MalwareBazaarCSV:
		p.bazaar(where, row)
	case ThreatFoxCSV:
		p.threatFox(where, tfRecord{
			Value: row.get("ioc_value"), Type: row.get("ioc_type"),
			Malware: row.get("malware_printable"), MalwareID: row.get("fk_malware"),
			FirstSeen: row.get("first_seen_utc"), LastSeen: row.get("last_seen_utc"),
			Confidence: row.get("confidence_level"), Tags: row.get("tags"),
		})
	}
}

// feodo turns one Feodo Tracker entry (CSV row or JSON object) into an
// address indicator bound to its C2 port.
func (p *parser) feodo(where, ip, port, family, first, last, status string) {
	t, v, err := NormalizeAddr(ip)
	if err == nil && strings.Contains(v, "/") {
		err = fmt.Errorf("%q is a network, not a C2 address", ip)
	}
	if err != nil {
		p.skip(where, err.Error())
		return
	}
	pn, err := ParsePort(port)
	if err != nil {
		p.skip(where, err.Error())
		return
	}
	var tags []string
	if status != "" {
		tags = []string{status}
	}
	p.emit(Indicator{
		Type: t, Value: v, Port: pn, Source: "feodotracker", Family: family,
		FirstSeen: parseTime(first), LastSeen: parseTime(last), Tags: tags,
	})
}

// bazaar turns one MalwareBazaar sample into its SHA-256, MD5 and SHA-1
// indicators. A row with a malformed hash is skipped as a whole.
func (p *parser) bazaar(where string, row csvRow) {
	var out []Indicator
	for _, h := range []struct {
		t   Type
		col string
	}{{SHA256, "sha256_hash"}, {MD5, "md5_hash"}, {SHA1, "sha1_hash"}} {
		raw := row.get(h.col)
		if raw == "" {
			continue
		}
		v, err := NormalizeHash(h.t, raw)
		if err != nil {
			p.skip(where, err.Error())
			return
		}
		out = append(out, Indicator{
			Type: h.t, Value: v, Source: "malwarebazaar", Family: row.get("signature"),
			FirstSeen: parseTime(row.get("first_seen_utc")), Tags: splitTags(row.get("tags")),
		})
	}
	if len(out) == 0 {
		p.skip(where, "no hash in the row")
		return
	}
	for _, ind := range out {
		if !p.emit(ind) {
			return
		}
	}
}
