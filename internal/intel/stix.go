package intel

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// stixObject holds the fields of the STIX 2.1 objects herd reads.
type stixObject struct {
	Type         string   `json:"type"`
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Pattern      string   `json:"pattern"`
	PatternType  string   `json:"pattern_type"`
	Revoked      flex     `json:"revoked"`
	ValidFrom    string   `json:"valid_from"`
	ValidUntil   string   `json:"valid_until"`
	Created      string   `json:"created"`
	Modified     string   `json:"modified"`
	Confidence   flex     `json:"confidence"`
	Labels       []string `json:"labels"`
	CreatedByRef string   `json:"created_by_ref"`
	RelType      string   `json:"relationship_type"`
	SourceRef    string   `json:"source_ref"`
	TargetRef    string   `json:"target_ref"`
}

// stixIndicator is an indicator object waiting for the bundle's
// relationships to name its malware family.
type stixIndicator struct {
	where string
	obj   stixObject
}

// parseSTIX reads a STIX 2.1 bundle. Indicators with a STIX pattern give
// one indicator per exact-match value, with their valid_until. A revoked
// indicator, or one whose valid_until has passed (against Options.Now),
// gives the same values withdrawn: the feed takes them back. Of several
// versions of one indicator in the bundle, the last modified counts. The
// family is the name of a malware object the indicator "indicates".
func (p *parser) parseSTIX(r io.Reader) error {
	s := newJSONStream(r)
	if err := s.delim('{'); err != nil {
		return err
	}
	var inds []stixIndicator
	names := map[string]string{}     // malware id → name; identity id → name
	indicates := map[string]string{} // indicator id → malware id
	var ferr error
	sawObjects := false
loop:
	for {
		k, ok, err := s.key()
		if err != nil {
			ferr = err
			break
		}
		if !ok {
			break
		}
		if k != "objects" {
			if err := s.skipValue(); err != nil {
				ferr = err
				break
			}
			continue
		}
		sawObjects = true
		if err := s.delim('['); err != nil {
			ferr = err
			break
		}
		for s.dec.More() {
			var o stixObject
			rec, err := s.decodeElem(&o)
			if err != nil {
				ferr = err
				break loop
			}
			where := s.where()
			if rec != nil {
				p.skip(where, "malformed object: "+rec.Error())
				continue
			}
			switch o.Type {
			case "indicator":
				inds = append(inds, stixIndicator{where, o})
			case "malware", "identity", "intrusion-set", "threat-actor":
				names[o.ID] = o.Name
				if o.Type == "identity" {
					p.nameFeed(o.Name)
				}
			case "relationship":
				if o.RelType == "indicates" && strings.HasPrefix(o.SourceRef, "indicator--") {
					if _, ok := indicates[o.SourceRef]; !ok {
						indicates[o.SourceRef] = o.TargetRef
					}
				}
			}
		}
		if err := s.delim(']'); err != nil {
			ferr = err
			break
		}
	}
	if ferr == nil && !sawObjects {
		ferr = fmt.Errorf("%w: a STIX bundle without \"objects\"", ErrFormat)
	}
	// Indicators read before a cut are still good. Of the versions of
	// one indicator, the last modified (the last in the file on a tie)
	// is the one that counts.
	latest := map[string]int{}
	for i, si := range inds {
		if j, ok := latest[si.obj.ID]; !ok || !parseTime(si.obj.Modified).Before(parseTime(inds[j].obj.Modified)) {
			latest[si.obj.ID] = i
		}
	}
	now := p.opts.Now()
	for i, si := range inds {
		o := si.obj
		if latest[o.ID] != i {
			continue
		}
		where := si.where + " (" + o.ID + ")"
		withdrawn := o.Revoked.Bool()
		var until time.Time
		if o.ValidUntil != "" {
			until = parseTime(o.ValidUntil)
			if until.IsZero() {
				p.skip(where, fmt.Sprintf("valid_until %q is not a timestamp", o.ValidUntil))
				continue
			}
			if !until.After(now) {
				withdrawn = true
			}
		}
		if o.PatternType != "" && o.PatternType != "stix" {
			p.skip("", "") // snort, yara, sigma…: nothing herd can match exactly
			continue
		}
		tree, verrs, err := parseSTIXPattern(o.Pattern)
		if err != nil {
			p.skip(where, "pattern: "+err.Error())
			continue
		}
		for _, e := range verrs {
			p.errorf(where, e)
		}
		vals := patternIndicators(tree)
		if len(vals) == 0 {
			p.skip("", "")
			continue
		}
		family := names[indicates[o.ID]]
		source := names[o.CreatedByRef]
		if source == "" {
			source = "stix"
		}
		conf := 0
		if c, err := strconv.Atoi(o.Confidence.String()); err == nil && c >= 0 && c <= 100 {
			conf = c
		}
		first := parseTime(o.ValidFrom)
		if first.IsZero() {
			first = parseTime(o.Created)
		}
		for _, v := range vals {
			if !p.emit(Indicator{
				Type: v.typ, Value: v.value, Port: v.port, Source: source, Family: family,
				FirstSeen: first, LastSeen: parseTime(o.Modified), Confidence: conf, Tags: o.Labels,
				ValidUntil: until, Withdrawn: withdrawn,
			}) {
				return p.stop
			}
		}
	}
	return ferr
}
