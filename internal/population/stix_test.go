package population

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/store"
)

var (
	stixTypeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$`)
	stixIDRE   = regexp.MustCompile(`^([a-z0-9][a-z0-9-]{1,248}[a-z0-9])--[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	stixTSRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)
	stixPropRE = regexp.MustCompile(`^[a-z0-9_]{3,250}$`)
)

// The STIX 2.1 domain, relationship and meta objects herd writes; any
// other type in a bundle must be a cyber-observable an extension
// definition in the bundle defines.
var stixSDO = map[string]bool{"identity": true, "malware": true, "observed-data": true, "report": true, "sighting": true, "extension-definition": true}

// validateSTIX checks a bundle against the STIX 2.1 rules for what it
// holds: common properties (section 3), the required properties of each
// object type (sections 4, 5, 7), timestamps, references that resolve to
// objects of the right type, deterministic ids of observables (2.9), and
// extensions that name a definition in the bundle (7.3). It returns
// every problem.
func validateSTIX(b []byte) []string {
	var bundle map[string]any
	if err := json.Unmarshal(b, &bundle); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if bundle["type"] != "bundle" {
		bad("bundle type %v", bundle["type"])
	}
	if id, _ := bundle["id"].(string); !stixIDRE.MatchString(id) || !strings.HasPrefix(id, "bundle--") {
		bad("bundle id %q", id)
	}
	list, _ := bundle["objects"].([]any)
	byID := map[string]map[string]any{}
	for _, x := range list {
		o, ok := x.(map[string]any)
		if !ok {
			bad("an object is not an object: %v", x)
			continue
		}
		id, _ := o["id"].(string)
		if byID[id] != nil {
			bad("id %s twice", id)
		}
		byID[id] = o
	}
	typeOf := func(id string) string {
		if o := byID[id]; o != nil {
			return o["type"].(string)
		}
		return ""
	}
	ts := func(o map[string]any, k string, required bool) (time.Time, bool) {
		v, ok := o[k].(string)
		if !ok {
			if required {
				bad("%s: %s missing", o["id"], k)
			}
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || !stixTSRE.MatchString(v) {
			bad("%s: %s %q is not a STIX timestamp", o["id"], k, v)
		}
		return t, true
	}
	str := func(o map[string]any, k string) string {
		v, ok := o[k].(string)
		if !ok || v == "" {
			bad("%s: %s missing", o["id"], k)
		}
		return v
	}
	ref := func(o map[string]any, k string, types ...string) {
		var ids []string
		switch v := o[k].(type) {
		case string:
			ids = []string{v}
		case []any:
			if len(v) == 0 {
				bad("%s: %s is empty", o["id"], k)
			}
			for _, x := range v {
				s, _ := x.(string)
				ids = append(ids, s)
			}
		case nil:
			return
		default:
			bad("%s: %s is %T", o["id"], k, v)
		}
		for _, id := range ids {
			t := typeOf(id)
			if t == "" {
				bad("%s: %s %q is not in the bundle", o["id"], k, id)
				continue
			}
			if len(types) > 0 && !contains(types, t) && !(contains(types, "sco") && !stixSDO[t]) {
				bad("%s: %s refers to a %s, want %v", o["id"], k, t, types)
			}
		}
	}
	count := func(o map[string]any, k string, lo, hi float64, required bool) {
		v, ok := o[k].(float64)
		if !ok {
			if required {
				bad("%s: %s missing", o["id"], k)
			}
			return
		}
		if v != float64(int64(v)) || v < lo || v > hi {
			bad("%s: %s = %v outside %v..%v", o["id"], k, v, lo, hi)
		}
	}
	for _, x := range list {
		o, _ := x.(map[string]any)
		if o == nil {
			continue
		}
		typ, _ := o["type"].(string)
		id, _ := o["id"].(string)
		if !stixTypeRE.MatchString(typ) {
			bad("type %q", typ)
		}
		if m := stixIDRE.FindStringSubmatch(id); m == nil || m[1] != typ {
			bad("id %q of a %s", id, typ)
		}
		if o["spec_version"] != "2.1" {
			bad("%s: spec_version %v", id, o["spec_version"])
		}
		for k := range o {
			if !stixPropRE.MatchString(k) && k != "id" {
				bad("%s: property name %q", id, k)
			}
			if strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs") {
				ref(o, k)
			}
		}
		if stixSDO[typ] {
			c, _ := ts(o, "created", true)
			m, _ := ts(o, "modified", true)
			if m.Before(c) {
				bad("%s: modified before created", id)
			}
			ref(o, "created_by_ref", "identity")
		}
		switch typ {
		case "identity":
			str(o, "name")
		case "malware":
			fam, ok := o["is_family"].(bool)
			if !ok {
				bad("%s: is_family missing", id)
			}
			if fam {
				str(o, "name")
			}
		case "observed-data":
			f, _ := ts(o, "first_observed", true)
			l, _ := ts(o, "last_observed", true)
			if l.Before(f) {
				bad("%s: last_observed before first_observed", id)
			}
			count(o, "number_observed", 1, 999999999, true)
			if o["object_refs"] == nil {
				bad("%s: object_refs missing", id)
			}
			ref(o, "object_refs", "sco")
		case "sighting":
			str(o, "sighting_of_ref")
			ref(o, "sighting_of_ref", "malware", "indicator", "attack-pattern", "campaign", "infrastructure", "intrusion-set", "threat-actor", "tool", "vulnerability")
			count(o, "count", 0, 999999999, false)
			f, ok1 := ts(o, "first_seen", false)
			l, ok2 := ts(o, "last_seen", false)
			if ok1 && ok2 && l.Before(f) {
				bad("%s: last_seen before first_seen", id)
			}
			ref(o, "observed_data_refs", "observed-data")
			ref(o, "where_sighted_refs", "identity", "location")
		case "report":
			str(o, "name")
			ts(o, "published", true)
			if o["object_refs"] == nil {
				bad("%s: object_refs missing", id)
			}
		case "extension-definition":
			str(o, "created_by_ref")
			str(o, "name")
			str(o, "schema")
			str(o, "version")
			et, _ := o["extension_types"].([]any)
			if len(et) == 0 {
				bad("%s: extension_types missing", id)
			}
			for _, e := range et {
				if !contains([]string{"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}, fmt.Sprint(e)) {
					bad("%s: extension type %v", id, e)
				}
			}
		default:
			// A new observable: defined by an extension in the bundle.
			ext, _ := o["extensions"].(map[string]any)
			found := false
			for k, v := range ext {
				def := byID[k]
				if def == nil || def["type"] != "extension-definition" {
					bad("%s: extension %s is not defined in the bundle", id, k)
					continue
				}
				if e, _ := v.(map[string]any); e["extension_type"] == "new-sco" && contains(anyStrings(def["extension_types"]), "new-sco") {
					found = true
				}
			}
			if !found {
				bad("%s: a %s is neither a STIX type nor a new-sco an extension defines", id, typ)
			}
			if _, ok := o["created"]; ok {
				bad("%s: an observable has no created", id)
			}
		}
		if ext, ok := o["extensions"].(map[string]any); ok && stixSDO[typ] {
			for k, v := range ext {
				def := byID[k]
				e, _ := v.(map[string]any)
				if def == nil || e["extension_type"] != "property-extension" || !contains(anyStrings(def["extension_types"]), "property-extension") {
					bad("%s: extension %s is not a property extension defined in the bundle", id, k)
				}
			}
		}
	}
	return errs
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func anyStrings(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func TestSTIXBundleIsValidSTIX21(t *testing.T) {
	s := seed(t)
	now := func() time.Time { return s.day.Add(30 * time.Hour) }
	for _, dim := range []store.Dimension{store.DimOS, store.DimCountry, store.DimNone} {
		ex, err := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Dimension: dim, WholePopulation: dim == store.DimNone,
			Now: now, Issuer: "https://authority.example"})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteSTIX(&buf, ex); err != nil {
			t.Fatal(err)
		}
		for _, e := range validateSTIX(buf.Bytes()) {
			t.Errorf("%s: %s", dim, e)
		}
		for _, id := range s.ids {
			if strings.Contains(buf.String(), id) {
				t.Fatalf("device id %s in the bundle", id)
			}
		}
		// Every published count is one observed-data object carrying it,
		// of the herd-device-group it counts; every published infection
		// count is also a sighting with that count.
		var bundle struct {
			Objects []map[string]any `json:"objects"`
		}
		json.Unmarshal(buf.Bytes(), &bundle)
		byID := map[string]map[string]any{}
		for _, o := range bundle.Objects {
			byID[o["id"].(string)] = o
		}
		got := map[string]float64{}
		sightings := map[string]float64{}
		for _, o := range bundle.Objects {
			switch o["type"] {
			case "observed-data":
				g := byID[o["object_refs"].([]any)[0].(string)]
				day := strings.TrimSuffix(o["first_observed"].(string), "T00:00:00.000Z")
				got[fmt.Sprintf("%s %s %s %s", g["table"], day, g["segment"], g["key"])] = o["number_observed"].(float64)
				// The group's id is the deterministic one for its properties.
				b, _ := json.Marshal(map[string]string{"dimension": g["dimension"].(string), "key": g["key"].(string), "segment": g["segment"].(string), "table": g["table"].(string)})
				if g["id"] != SegmentObjectType+"--"+uuid5(scoNamespace, b) {
					t.Errorf("group id %v is not derived from its properties", g["id"])
				}
			case "sighting":
				m := byID[o["sighting_of_ref"].(string)]
				od := byID[o["observed_data_refs"].([]any)[0].(string)]
				if od["number_observed"] != o["count"] {
					t.Errorf("sighting count %v, its observed data %v", o["count"], od["number_observed"])
				}
				sightings[m["name"].(string)] += o["count"].(float64)
			}
		}
		want := map[string]float64{}
		for _, tb := range ex.Tables {
			for _, c := range tb.Cells {
				if c.Count != nil {
					want[fmt.Sprintf("%s %s %s %s", tb.Name, c.Day, c.Segment, c.Key)] = float64(*c.Count)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: observed data %v\nwant the published counts %v", dim, got, want)
		}
		if dim == store.DimNone && len(sightings) != 0 {
			// The whole population's Emotet count is withheld (darwin's 1
			// is in it), so no sighting.
			t.Errorf("sightings %v of a withheld count", sightings)
		}
	}
	// The validator catches what it checks.
	for _, bad := range []string{
		`{"type":"bundle","id":"bundle--6b1e2f3a-914c-4d0e-8a1f-5c627d90a311","objects":[{"type":"observed-data","spec_version":"2.1","id":"observed-data--6b1e2f3a-914c-4d0e-8a1f-5c627d90a311","created":"2026-12-04T00:00:00.000Z","modified":"2026-12-04T00:00:00.000Z","first_observed":"2026-12-03T00:00:00.000Z","last_observed":"2026-12-03T23:59:59.999Z","number_observed":0,"object_refs":["x--1"]}]}`,
		`{"type":"bundle","id":"bundle--6b1e2f3a-914c-4d0e-8a1f-5c627d90a311","objects":[{"type":"malware","spec_version":"2.1","id":"malware--6b1e2f3a-914c-4d0e-8a1f-5c627d90a311","created":"2026-12-04","modified":"2026-12-04T00:00:00.000Z","name":"x"}]}`,
	} {
		if len(validateSTIX([]byte(bad))) == 0 {
			t.Errorf("the validator accepts %s", bad)
		}
	}
}
