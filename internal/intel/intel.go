// Package intel reads public threat-intelligence feeds in their real
// published layouts (abuse.ch Feodo Tracker, URLhaus, MalwareBazaar and
// ThreatFox; STIX 2.1 bundles; MISP events and feed manifests) and turns
// them into normalised indicators of compromise.
//
// The format of a file is chosen from its content with Detect, never from
// its name. Parse streams the records: a malformed record is skipped and
// counted with its line number, a truncated file yields what was read
// before the cut plus an error, and no input makes the parsers panic.
package intel

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// Type is the kind of an indicator. The names are the keys of
// `herd intel import --json`'s "imported" object.
type Type string

const (
	IPv4   Type = "ipv4"
	IPv6   Type = "ipv6"
	Domain Type = "domain"
	URL    Type = "url"
	SHA256 Type = "sha256"
	SHA1   Type = "sha1"
	MD5    Type = "md5"
	// Process is the name of a running program only malware uses (see
	// indicators.ProcessName), lowercase.
	Process Type = "process"
)

// Types lists every indicator type in a stable order.
var Types = []Type{IPv4, IPv6, Domain, URL, SHA256, SHA1, MD5, Process}

// Indicator is one normalised indicator of compromise.
//
// An address indicator's Value is the address as net/netip prints it, or
// a CIDR prefix ("192.0.2.0/24") when the feed lists a network; Port is
// set when the feed ties the address to one port (a C2 listening on
// 203.0.113.77:443), and zero when any port matches. Domains and hashes
// are lowercase; a URL keeps its path as published, with the scheme and
// host lowercased.
type Indicator struct {
	Type       Type      `json:"type"`
	Value      string    `json:"value"`
	Port       uint16    `json:"port,omitempty"`
	Source     string    `json:"source"`
	Family     string    `json:"family,omitempty"`
	FirstSeen  time.Time `json:"first_seen,omitzero"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	Confidence int       `json:"confidence,omitempty"` // 0–100; 0 when the feed does not say
	Tags       []string  `json:"tags,omitempty"`
	// ValidUntil is when the feed says the indicator stops being valid
	// (STIX valid_until); zero when it gives no end.
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// Withdrawn says the feed takes the indicator back: a STIX indicator
	// published revoked, or whose valid_until has passed. It is not
	// counted as imported; the store drops this source's listing.
	Withdrawn bool `json:"withdrawn,omitempty"`
}

// Result is what one parse found.
type Result struct {
	// Format is the format that was parsed.
	Format Format `json:"format"`
	// Imported counts this file's distinct valid indicators by type: an
	// indicator the file lists twice counts once.
	Imported map[Type]int `json:"imported"`
	// Skipped counts records that gave no indicator: malformed rows,
	// MISP attributes not meant for detection (to_ids false) or deleted,
	// values too broad or too common to be indicators, and types herd
	// does not match.
	Skipped int `json:"skipped"`
	// Withdrawn counts the indicators the feed takes back (revoked or
	// expired STIX indicators), one per value.
	Withdrawn int `json:"withdrawn"`
	// Errors says what was wrong with malformed records, with their line
	// numbers; at most MaxErrors messages are kept.
	Errors []string `json:"errors"`
	// Indicators holds the indicators (and withdrawals) when
	// Options.Emit is nil.
	Indicators []Indicator `json:"-"`
	// Source is the feed's name: Options.Source, else the name the feed
	// gave its first indicator, else, when the parse stopped before one,
	// what it read of the feed's name (the abuse.ch formats name their
	// feed; a STIX identity, a MISP organisation); empty when it read
	// none.
	Source string `json:"source,omitempty"`
	// Events lists the events of a MISP feed manifest.
	Events []ManifestEvent `json:"events,omitempty"`
	// keys identify the distinct indicators of each type (Tally).
	keys map[Type][]uint64
}

// Total is the number of indicators imported.
func (r Result) Total() int {
	n := 0
	for _, c := range r.Imported {
		n += c
	}
	return n
}

// MaxErrors bounds Result.Errors; later problems are still counted in
// Skipped and summed up in one last message.
const MaxErrors = 100

// Options tunes a parse. The zero value is ready to use.
type Options struct {
	// Now is the time STIX valid_until is compared with; time.Now when nil.
	Now func() time.Time
	// Source names the feed in every indicator; when empty, the feed's
	// own name is used ("feodotracker", "urlhaus", "malwarebazaar",
	// "threatfox", the STIX identity or MISP organisation, else "stix"
	// or "misp").
	Source string
	// Emit receives each valid indicator as it is read. When nil, the
	// indicators are collected in Result.Indicators. An error from Emit
	// stops the parse and is returned.
	Emit func(Indicator) error
}

// Errors a parse may return. A parse that returns one of them still
// returns everything it read before the problem.
var (
	// ErrTruncated: the input ends in the middle of a record or document.
	ErrTruncated = errors.New("the file ends unexpectedly (truncated?)")
	// ErrFormat: the input is not in the format it was parsed as.
	ErrFormat = errors.New("the file is not in the expected format")
	// ErrNotIndicators: the input is a sighting report, not a feed of
	// indicators (see Detect's FormatShadowserverSinkhole).
	ErrNotIndicators = errors.New("the file is a sighting report, not an indicator feed")
	// ErrUnknownFormat: Detect could not tell the format.
	ErrUnknownFormat = errors.New("the file's format was not recognised")
)

// Parse reads r as format f with the default options.
func Parse(r io.Reader, f Format) (Result, error) {
	return ParseWith(r, f, Options{})
}

// bom is the UTF-8 byte-order mark some tools write at the start of a
// file; it is skipped.
const bom = "\xef\xbb\xbf"

// skipBOM returns r without a leading byte-order mark.
func skipBOM(r io.Reader) io.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	if b, _ := br.Peek(len(bom)); string(b) == bom {
		br.Discard(len(bom))
	}
	return br
}

// ParseWith reads r as format f. A leading UTF-8 byte-order mark is
// skipped.
func ParseWith(r io.Reader, f Format, opts Options) (Result, error) {
	r = skipBOM(r)
	p := newParser(f, opts)
	var err error
	switch f {
	case FeodoCSV, URLhausCSV, MalwareBazaarCSV, ThreatFoxCSV:
		err = p.parseCSV(r)
	case FeodoJSON:
		err = p.parseFeodoJSON(r)
	case ThreatFoxJSON:
		err = p.parseThreatFoxJSON(r)
	case STIX21:
		err = p.parseSTIX(r)
	case MISPEvent:
		err = p.parseMISPEvent(r)
	case MISPManifest:
		err = p.parseMISPManifest(r)
	case ShadowserverSinkhole:
		err = ErrNotIndicators
	default:
		err = fmt.Errorf("%w: %q", ErrUnknownFormat, f)
	}
	p.finish()
	return p.res, err
}

// HeadSize is how much of a file Detect needs to see.
const HeadSize = 16 << 10

// Import detects the format of r from its first HeadSize bytes and parses
// it. name is only used in error messages.
func Import(r io.Reader, name string, opts Options) (Result, error) {
	br := bufio.NewReaderSize(r, HeadSize)
	head, err := br.Peek(HeadSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Result{Imported: map[Type]int{}}, fmt.Errorf("%s: %w", name, err)
	}
	f := Detect(name, head)
	if f == Unknown {
		return Result{Imported: map[Type]int{}}, fmt.Errorf("%s: %w", name, ErrUnknownFormat)
	}
	res, err := ParseWith(br, f, opts)
	if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return res, err
}

// parser accumulates one parse's result.
type parser struct {
	format  Format
	opts    Options
	res     Result
	dropped int // errors beyond MaxErrors
	stop    error
	keys    map[Type][]uint64 // every indicator emitted, to count the distinct ones
	named   bool              // res.Source is the first indicator's
}

// feedNames are the names of the feeds whose format names them.
var feedNames = map[Format]string{
	FeodoCSV: "feodotracker", FeodoJSON: "feodotracker", URLhausCSV: "urlhaus",
	MalwareBazaarCSV: "malwarebazaar", ThreatFoxCSV: "threatfox", ThreatFoxJSON: "threatfox",
}

// nameFeed notes the feed's name read before any indicator.
func (p *parser) nameFeed(name string) {
	if p.res.Source == "" {
		p.res.Source = name
	}
}

func newParser(f Format, opts Options) *parser {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &parser{format: f, opts: opts, res: Result{Format: f, Imported: map[Type]int{}, Errors: []string{}}, keys: map[Type][]uint64{}}
	p.res.Source = feedNames[f]
	if opts.Source != "" {
		p.res.Source, p.named = opts.Source, true
	}
	return p
}

// emit records a valid indicator. It returns false when the parse must
// stop because Emit failed.
func (p *parser) emit(ind Indicator) bool {
	if p.stop != nil {
		return false
	}
	if p.opts.Source != "" {
		ind.Source = p.opts.Source
	}
	if !p.named {
		p.res.Source, p.named = ind.Source, true
	}
	if p.opts.Emit != nil {
		if err := p.opts.Emit(ind); err != nil {
			p.stop = err
			return false
		}
	} else {
		p.res.Indicators = append(p.res.Indicators, ind)
	}
	if ind.Withdrawn {
		p.res.Withdrawn++
	} else {
		p.keys[ind.Type] = append(p.keys[ind.Type], indicatorKey(ind))
	}
	return true
}

// skip counts a record that gave no indicator; a non-empty msg is kept as
// an error, prefixed by where (e.g. "line 12").
func (p *parser) skip(where, msg string) {
	p.res.Skipped++
	if msg != "" {
		p.errorf(where, msg)
	}
}

func (p *parser) errorf(where, msg string) {
	if len(p.res.Errors) >= MaxErrors {
		p.dropped++
		return
	}
	if where != "" {
		msg = where + ": " + msg
	}
	p.res.Errors = append(p.res.Errors, msg)
}

func (p *parser) finish() {
	for t, k := range p.keys {
		k = distinct(k)
		p.keys[t] = k
		p.res.Imported[t] = len(k)
	}
	p.res.keys = p.keys
	if p.dropped > 0 {
		p.res.Errors = append(p.res.Errors, fmt.Sprintf("… and %d more errors", p.dropped))
	}
}
