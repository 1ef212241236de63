package intel

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type mispTag struct {
	Name flex `json:"name"`
}

type mispAttr struct {
	UUID      flex      `json:"uuid"`
	Type      flex      `json:"type"`
	Relation  flex      `json:"object_relation"`
	Value     flex      `json:"value"`
	ToIDS     flex      `json:"to_ids"`
	Deleted   flex      `json:"deleted"`
	FirstSeen flex      `json:"first_seen"`
	LastSeen  flex      `json:"last_seen"`
	Timestamp flex      `json:"timestamp"`
	Tag       []mispTag `json:"Tag"`
}

type mispPending struct {
	where  string
	attr   mispAttr
	object string // the name of the object holding it; "" for an event attribute
}

// mispEvent gathers one event's attributes until its tags and
// organisation are known.
type mispEvent struct {
	org    string
	family string
	attrs  []mispPending
}

// parseMISPEvent reads a MISP event as a MISP feed or the REST API
// publishes it: {"Event": {…}}, or {"response": [{"Event": {…}}, …]}.
// Attributes of the event and of its objects become indicators when
// to_ids is set and they are not deleted.
func (p *parser) parseMISPEvent(r io.Reader) error {
	s := newJSONStream(r)
	if err := s.delim('{'); err != nil {
		return err
	}
	sawEvent := false
	for {
		k, ok, err := s.key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch k {
		case "Event":
			sawEvent = true
			if err := p.mispEvent(s); err != nil {
				return err
			}
		case "response":
			if err := s.delim('['); err != nil {
				return err
			}
			for s.dec.More() {
				if err := s.delim('{'); err != nil {
					return err
				}
				for {
					k, ok, err := s.key()
					if err != nil {
						return err
					}
					if !ok {
						break
					}
					if k == "Event" {
						sawEvent = true
						if err := p.mispEvent(s); err != nil {
							return err
						}
					} else if err := s.skipValue(); err != nil {
						return err
					}
				}
			}
			if err := s.delim(']'); err != nil {
				return err
			}
		default:
			if err := s.skipValue(); err != nil {
				return err
			}
		}
	}
	if !sawEvent {
		return fmt.Errorf("%w: no MISP \"Event\"", ErrFormat)
	}
	return nil
}

// mispEvent reads one Event object and emits its indicators, also those
// read before a cut.
func (p *parser) mispEvent(s *jsonStream) error {
	ev := &mispEvent{}
	err := p.readMISPEvent(s, ev)
	src := ev.org
	if src == "" {
		src = "misp"
	}
	for _, a := range ev.attrs {
		p.mispAttribute(a.where, a.attr, a.object, src, ev.family)
		if p.stop != nil {
			return p.stop
		}
	}
	return err
}

func (p *parser) readMISPEvent(s *jsonStream, ev *mispEvent) error {
	if err := s.delim('{'); err != nil {
		return err
	}
	for {
		k, ok, err := s.key()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch k {
		case "Orgc":
			var o struct {
				Name flex `json:"name"`
			}
			if rec, err := s.decodeElem(&o); err != nil {
				return err
			} else if rec == nil {
				ev.org = o.Name.String()
				p.nameFeed(ev.org)
			}
		case "Tag":
			var tags []mispTag
			if rec, err := s.decodeElem(&tags); err != nil {
				return err
			} else if rec == nil && ev.family == "" {
				ev.family = familyFromTags(tags)
			}
		case "Galaxy":
			var gs []struct {
				Type     flex `json:"type"`
				Clusters []struct {
					Value flex `json:"value"`
				} `json:"GalaxyCluster"`
			}
			if rec, err := s.decodeElem(&gs); err != nil {
				return err
			} else if rec == nil {
				for _, g := range gs {
					if t := g.Type.String(); (t == "malpedia" || t == "mitre-malware") && len(g.Clusters) > 0 && ev.family == "" {
						ev.family = trimMitreID(g.Clusters[0].Value.String())
					}
				}
			}
		case "Attribute":
			if err := p.mispAttrList(s, ev, "attribute"); err != nil {
				return err
			}
		case "Object":
			if err := s.delim('['); err != nil {
				return err
			}
			for s.dec.More() {
				var o struct {
					Name      flex              `json:"name"`
					Attribute []json.RawMessage `json:"Attribute"`
				}
				rec, err := s.decodeElem(&o)
				if err != nil {
					return err
				}
				where := s.where()
				if rec != nil {
					p.skip(where, "malformed object: "+rec.Error())
					continue
				}
				for i, raw := range o.Attribute {
					var a mispAttr
					w := fmt.Sprintf("%s (object %q attribute %d)", where, o.Name.String(), i+1)
					if err := json.Unmarshal(raw, &a); err != nil {
						p.skip(w, "malformed attribute: "+err.Error())
						continue
					}
					ev.attrs = append(ev.attrs, mispPending{w, a, strings.ToLower(o.Name.String())})
				}
			}
			if err := s.delim(']'); err != nil {
				return err
			}
		default:
			if err := s.skipValue(); err != nil {
				return err
			}
		}
	}
}

func (p *parser) mispAttrList(s *jsonStream, ev *mispEvent, what string) error {
	if err := s.delim('['); err != nil {
		return err
	}
	for s.dec.More() {
		var a mispAttr
		rec, err := s.decodeElem(&a)
		if err != nil {
			return err
		}
		where := s.where()
		if rec != nil {
			p.skip(where, "malformed "+what+": "+rec.Error())
			continue
		}
		ev.attrs = append(ev.attrs, mispPending{where, a, ""})
	}
	return s.delim(']')
}

var reGalaxyTag = regexp.MustCompile(`^misp-galaxy:(malpedia|mitre-malware)="(.+)"$`)

// familyFromTags reads a malware family from galaxy tags such as
// misp-galaxy:malpedia="QakBot".
func familyFromTags(tags []mispTag) string {
	for _, t := range tags {
		if m := reGalaxyTag.FindStringSubmatch(t.Name.String()); m != nil {
			return trimMitreID(m[2])
		}
	}
	return ""
}

// trimMitreID drops the " - S0650" suffix of MITRE ATT&CK malware names.
func trimMitreID(s string) string {
	if i := strings.LastIndex(s, " - S"); i > 0 {
		return s[:i]
	}
	return s
}

// mispAttribute turns one attribute into indicators. object is the name
// of the MISP object holding it, when it is in one: the "name" and
// "image" of a "process" object name a running program. A bare filename
// attribute names a file, which may never run, and is not taken as a
// process name.
func (p *parser) mispAttribute(where string, a mispAttr, object, source, family string) {
	if a.Deleted.Bool() || !a.ToIDS.Bool() {
		p.skip("", "")
		return
	}
	if f := familyFromTags(a.Tag); f != "" {
		family = f
	}
	typ, value := strings.ToLower(a.Type.String()), a.Value.String()
	if u := a.UUID.String(); u != "" {
		where += " (" + u + ")"
	}
	base := Indicator{Source: source, Family: family, FirstSeen: parseTime(a.FirstSeen.String()), LastSeen: parseTime(a.LastSeen.String())}
	if base.FirstSeen.IsZero() {
		base.FirstSeen = parseTime(a.Timestamp.String())
	}
	var out []Indicator
	add := func(t Type, v string, port uint16) error {
		nt, nv, err := Normalize(t, v)
		if err != nil {
			return err
		}
		ind := base
		ind.Type, ind.Value, ind.Port = nt, nv, port
		out = append(out, ind)
		return nil
	}
	left, right, piped := strings.Cut(value, "|")
	var err error
	if rel := strings.ToLower(a.Relation.String()); object == "process" && (rel == "name" || rel == "image") {
		typ = mispProcessName
	}
	switch typ {
	case mispProcessName:
		err = add(Process, value, 0)
	case "ip-dst", "ip-src":
		var t Type
		if t, _, err = NormalizeAddr(value); err == nil {
			err = add(t, value, 0)
		}
	case "ip-dst|port", "ip-src|port":
		if !piped {
			err = fmt.Errorf("%q is not address|port", value)
			break
		}
		var port uint16
		if port, err = ParsePort(right); err != nil {
			break
		}
		// A network keeps its port: it matches only that port.
		var t Type
		if t, _, err = NormalizeAddr(left); err == nil {
			err = add(t, left, port)
		}
	case "domain", "hostname":
		err = add(Domain, value, 0)
	case "hostname|port":
		err = add(Domain, left, 0)
	case "domain|ip":
		if !piped {
			err = fmt.Errorf("%q is not domain|ip", value)
			break
		}
		if err = add(Domain, left, 0); err == nil {
			var t Type
			if t, _, err = NormalizeAddr(right); err == nil {
				err = add(t, right, 0)
			}
		}
	case "url":
		err = add(URL, value, 0)
	case "md5", "sha1", "sha256":
		err = add(Type(typ), value, 0)
	case "filename|md5", "filename|sha1", "filename|sha256":
		if !piped {
			err = fmt.Errorf("%q is not filename|hash", value)
			break
		}
		err = add(Type(strings.TrimPrefix(typ, "filename|")), right, 0)
	default:
		p.skip("", "") // a type herd does not match (email, regkey, text…)
		return
	}
	if err != nil {
		p.skip(where, a.Type.String()+": "+err.Error())
		return
	}
	for _, ind := range out {
		if !p.emit(ind) {
			return
		}
	}
}

// mispProcessName stands for the type of a process object's name or
// image; MISP attribute types never hold a space.
const mispProcessName = "process name"

// ManifestEvent is one event listed in a MISP feed manifest.
type ManifestEvent struct {
	UUID        string    `json:"uuid"`
	Info        string    `json:"info"`
	Date        string    `json:"date,omitempty"`
	Timestamp   time.Time `json:"timestamp,omitzero"`
	Org         string    `json:"org,omitempty"`
	ThreatLevel int       `json:"threat_level,omitempty"` // 1 high … 4 undefined
	Tags        []string  `json:"tags,omitempty"`
}

var reUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseMISPManifest reads a MISP feed's manifest.json: an object keyed by
// event UUID. It lists the events in Result.Events; a caller fetches
// each event file (<uuid>.json) and parses it as MISPEvent.
func (p *parser) parseMISPManifest(r io.Reader) error {
	s := newJSONStream(r)
	if err := s.delim('{'); err != nil {
		return err
	}
	for {
		k, ok, err := s.key()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		var e struct {
			Info        flex      `json:"info"`
			Date        flex      `json:"date"`
			Timestamp   flex      `json:"timestamp"`
			ThreatLevel flex      `json:"threat_level_id"`
			Tag         []mispTag `json:"Tag"`
			Orgc        struct {
				Name flex `json:"name"`
			} `json:"Orgc"`
		}
		rec, err := s.decodeElem(&e)
		if err != nil {
			return err
		}
		where := s.where()
		switch {
		case rec != nil:
			p.skip(where, fmt.Sprintf("event %q: malformed entry: %v", k, rec))
			continue
		case !reUUID.MatchString(k):
			p.skip(where, fmt.Sprintf("%q is not an event UUID", k))
			continue
		}
		me := ManifestEvent{UUID: strings.ToLower(k), Info: e.Info.String(), Date: e.Date.String(),
			Timestamp: parseTime(e.Timestamp.String()), Org: e.Orgc.Name.String()}
		if n, err := strconv.Atoi(e.ThreatLevel.String()); err == nil {
			me.ThreatLevel = n
		}
		for _, t := range e.Tag {
			if n := t.Name.String(); n != "" {
				me.Tags = append(me.Tags, n)
			}
		}
		p.res.Events = append(p.res.Events, me)
	}
}
