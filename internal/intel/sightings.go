package intel

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Sighting is an outside report that an address talked to a botnet: a
// lead about whichever devices used that address then, not a diagnosis.
type Sighting struct {
	IP     string    `json:"ip"`
	SeenAt time.Time `json:"seen_at"`
	Family string    `json:"family,omitempty"`
	// C2 is the botnet server the address talked to, "ip" or "ip:port"
	// ("[v6]:port"); empty when the report does not name one.
	C2     string `json:"c2,omitempty"`
	Source string `json:"source"`
}

// SightingFormat is a sighting report layout.
type SightingFormat string

const (
	// ShadowserverEvents: Shadowserver event reports (event4 sinkhole,
	// botnet drone): a header naming timestamp, the victim (src_ip or
	// ip) and the family (infection or tag), with the C2 in dst_ip and
	// dst_port (or cc and cc_port) when present.
	ShadowserverEvents SightingFormat = "shadowserver"
	// PlainSightings: "ip,timestamp,family[,c2]", with or without that
	// header line.
	PlainSightings SightingFormat = "plain"
)

// SightingResult is what one sighting parse found.
type SightingResult struct {
	Format   SightingFormat `json:"format"`
	Count    int            `json:"sightings"`
	Skipped  int            `json:"skipped"`
	Errors   []string       `json:"errors"`
	Sighting []Sighting     `json:"-"` // when Emit is nil
}

// SightingOptions tunes a sighting parse.
type SightingOptions struct {
	// Source names the report in every sighting (default "shadowserver"
	// or "sightings").
	Source string
	// Emit receives each sighting; when nil they are collected. An error
	// from Emit stops the parse and is returned.
	Emit func(Sighting) error
}

// lastByte remembers the last byte read through it.
type lastByte struct {
	r    io.Reader
	last byte
}

func (l *lastByte) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		l.last = p[n-1]
	}
	return n, err
}

// ParseSightings reads a sighting report; the layout is chosen by its
// header line, never by the file's name, and a leading UTF-8 byte-order
// mark is skipped. Malformed rows are skipped and counted with their
// line numbers; a truncated file (the last line without its newline
// does not parse, or a quote runs to the end) returns what was read and
// ErrTruncated.
func ParseSightings(r io.Reader, opts SightingOptions) (SightingResult, error) {
	res := SightingResult{Errors: []string{}}
	dropped := 0
	fail := func(line int, msg string) {
		res.Skipped++
		if len(res.Errors) >= MaxErrors {
			dropped++
			return
		}
		res.Errors = append(res.Errors, fmt.Sprintf("line %d: %s", line, msg))
	}
	defer func() {
		if dropped > 0 {
			res.Errors = append(res.Errors, fmt.Sprintf("… and %d more errors", dropped))
		}
	}()
	tail := &lastByte{r: skipBOM(r)}
	br := bufio.NewReader(tail)
	// atCut: the row just read is the input's last and has no newline.
	atCut := func() bool {
		_, err := br.Peek(1)
		return err != nil && tail.last != '\n'
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	var cols map[string]int
	ncols := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if res.Format == "" {
				return res, fmt.Errorf("%w: no sighting rows", ErrFormat)
			}
			return res, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) {
				// A bad quote on the last line is a cut file; earlier,
				// a malformed row.
				if _, perr := br.Peek(1); perr != nil {
					fail(pe.Line, "bad quoting")
					return res, ErrTruncated
				}
				fail(pe.Line, "bad quoting")
				continue
			}
			if errors.As(err, &pe) {
				fail(pe.Line, pe.Err.Error())
				continue
			}
			return res, err
		}
		line, _ := cr.FieldPos(0)
		if res.Format == "" {
			f, c := sightingHeader(rec)
			res.Format = f
			if opts.Source == "" {
				opts.Source = "sightings"
				if f == ShadowserverEvents {
					opts.Source = "shadowserver"
				}
			}
			if c != nil {
				cols, ncols = c, len(rec)
				continue
			}
			if f == "" {
				return res, fmt.Errorf("%w: line %d is no sighting header (want Shadowserver columns or ip,timestamp,family[,c2])", ErrFormat, line)
			}
			cols = map[string]int{"ip": 0, "timestamp": 1, "family": 2, "c2": 3}
		}
		if ncols > 0 && len(rec) != ncols {
			fail(line, fmt.Sprintf("%d fields, the header has %d", len(rec), ncols))
			if atCut() {
				return res, ErrTruncated
			}
			continue
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		s, msg := sightingRow(get, res.Format)
		if msg != "" {
			fail(line, msg)
			if atCut() {
				return res, ErrTruncated
			}
			continue
		}
		s.Source = opts.Source
		if opts.Emit != nil {
			if err := opts.Emit(s); err != nil {
				return res, err
			}
		} else {
			res.Sighting = append(res.Sighting, s)
		}
		res.Count++
	}
}

// sightingHeader names a report's layout by its first row. cols maps the
// canonical names (ip, timestamp, family, tag, c2, c2_port) to column
// indexes; nil for a headerless plain file.
func sightingHeader(rec []string) (SightingFormat, map[string]int) {
	idx := map[string]int{}
	for i, c := range rec {
		idx[strings.ToLower(strings.TrimSpace(c))] = i
	}
	has := func(n string) bool { _, ok := idx[n]; return ok }
	cols := map[string]int{}
	alias := func(to string, from ...string) {
		for _, f := range from {
			if i, ok := idx[f]; ok {
				cols[to] = i
				return
			}
		}
	}
	switch {
	case has("timestamp") && (has("src_ip") || has("ip")) && (has("infection") || has("tag")):
		alias("ip", "src_ip", "ip")
		alias("timestamp", "timestamp")
		alias("family", "infection")
		alias("tag", "tag")
		alias("c2", "dst_ip", "cc_ip", "cc")
		alias("c2_port", "dst_port", "cc_port")
		return ShadowserverEvents, cols
	case has("ip") && has("timestamp") && has("family"):
		alias("ip", "ip")
		alias("timestamp", "timestamp")
		alias("family", "family")
		alias("c2", "c2")
		return PlainSightings, cols
	}
	if len(rec) >= 3 && len(rec) <= 4 {
		if _, err := netip.ParseAddr(strings.TrimSpace(rec[0])); err == nil {
			return PlainSightings, nil
		}
	}
	return "", nil
}

// sightingRow reads one row; msg says what is wrong with a bad one.
func sightingRow(get func(string) string, f SightingFormat) (Sighting, string) {
	ip, err := netip.ParseAddr(get("ip"))
	if err != nil {
		return Sighting{}, fmt.Sprintf("%q is not an IP address", get("ip"))
	}
	at, ok := parseSightingTime(get("timestamp"))
	if !ok {
		return Sighting{}, fmt.Sprintf("%q is not a timestamp", get("timestamp"))
	}
	s := Sighting{IP: ip.Unmap().String(), SeenAt: at, Family: get("family")}
	if s.Family == "" {
		s.Family = get("tag")
	}
	c2, port := get("c2"), get("c2_port")
	if c2 == "" {
		return s, ""
	}
	if f == PlainSightings {
		if ap, err := netip.ParseAddrPort(c2); err == nil && ap.Port() != 0 {
			s.C2 = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
			return s, ""
		}
	}
	a, err := netip.ParseAddr(c2)
	if err != nil {
		return Sighting{}, fmt.Sprintf("%q is not a C2 address", c2)
	}
	s.C2 = a.Unmap().String()
	if port != "" && port != "0" {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			return Sighting{}, fmt.Sprintf("%q is not a port number", port)
		}
		s.C2 = netip.AddrPortFrom(a.Unmap(), uint16(p)).String()
	}
	return s, ""
}

// parseSightingTime reads Shadowserver's "2006-01-02 15:04:05" (UTC),
// RFC 3339, or Unix seconds.
func parseSightingTime(v string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05Z", time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 && n < 1<<40 {
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
}
