package population

import (
	"crypto/sha1"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// WriteJSON writes the export as one JSON object.
func WriteJSON(w io.Writer, ex *Export) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ex)
}

// WriteCSV writes the export as CSV: first a block of comment lines,
// each "# name: value", that records the export and its disclosure
// control (from, to, mechanism, min_count, with noise epsilon and the
// budget, protection, and one earlier_release line per day first released
// with other parameters); then a header row and one row per cell and margin:
// table,dimension,day,segment,key,kind,count,suppressed. Readers skip
// the comment lines (Go: csv.Reader.Comment = '#'; pandas: comment="#").
func WriteCSV(w io.Writer, ex *Export) error {
	meta := [][2]string{{"herd population export", ""}, {"from", ex.From}, {"to", ex.To},
		{"generated", ex.Generated.UTC().Format(time.RFC3339)}, {"mechanism", ex.Privacy.Mechanism},
		{"min_count", strconv.FormatInt(ex.Privacy.MinCount, 10)}}
	if ex.Issuer != "" {
		meta = append(meta, [2]string{"issuer", ex.Issuer})
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if p := ex.Privacy; p.Mechanism != "suppression" {
		if p.Epsilon > 0 {
			meta = append(meta, [2]string{"epsilon", f(p.Epsilon)})
		}
		if p.EpsilonPerTableDay > 0 {
			meta = append(meta, [2]string{"epsilon_per_table_day", f(p.EpsilonPerTableDay)})
		}
		meta = append(meta, [2]string{"total_epsilon", f(p.TotalEpsilon)}, [2]string{"composition", p.Composition},
			[2]string{"assumption", p.Assumption})
	}
	meta = append(meta, [2]string{"protection", ex.Privacy.Protection})
	for _, d := range ex.Privacy.Earlier {
		meta = append(meta, [2]string{"earlier_release", fmt.Sprintf("%s min_count=%d epsilon=%s", d.Day, d.MinCount, f(d.Epsilon))})
	}
	for _, m := range meta {
		line := "# " + m[0]
		if m[1] != "" {
			line += ": " + strings.NewReplacer("\r", " ", "\n", " ").Replace(m[1])
		}
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"table", "dimension", "day", "segment", "key", "kind", "count", "suppressed"})
	count := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	for _, t := range ex.Tables {
		for _, c := range t.Cells {
			cw.Write([]string{t.Name, t.Dimension, c.Day, c.Segment, c.Key, "cell", count(c.Count), strconv.FormatBool(c.Suppressed)})
		}
		for _, m := range t.RowTotals {
			cw.Write([]string{t.Name, t.Dimension, m.Day, m.Segment, "", "row_total", count(m.Count), strconv.FormatBool(m.Suppressed)})
		}
		for _, m := range t.ColumnTotals {
			cw.Write([]string{t.Name, t.Dimension, m.Day, "", m.Key, "column_total", count(m.Count), strconv.FormatBool(m.Suppressed)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// stixNamespace is the UUIDv5 namespace herd derives the ids of its STIX
// domain objects in, so an object describing the same thing keeps its id
// across exports.
var stixNamespace = [16]byte{0x6b, 0x1e, 0x2f, 0x3a, 0x91, 0x4c, 0x4d, 0x0e, 0x8a, 0x1f, 0x5c, 0x62, 0x7d, 0x90, 0xa3, 0x11}

// scoNamespace is the namespace STIX 2.1 (section 2.9) fixes for the
// deterministic ids of cyber-observable objects.
var scoNamespace = [16]byte{0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7}

func uuid5(ns [16]byte, name []byte) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write(name)
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// stixID is "type--" and a UUIDv5 (RFC 9562) of name.
func stixID(typ, name string) string { return typ + "--" + uuid5(stixNamespace, []byte(typ+"|"+name)) }

func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// SegmentObjectType is the STIX cyber-observable object herd defines (by
// an extension definition) for what it observes: a group of devices, one
// table key of one segment ("devices of linux whose verdict is
// warning"), never a device.
const SegmentObjectType = "herd-device-group"

// extensionID is the id of herd's STIX extension definition.
var extensionID = stixID("extension-definition", "herd population aggregates 1.0")

const extensionSchema = "A herd-device-group is a group of devices, never a device: those of one population segment (dimension: os, os_version, agent, country, or \"\" for the whole population; segment: its label) counted under one key of one table (table: verdict, key an attestation tier; failing, key a check id; infection, key a malware family). Its id is derived from table, key, dimension and segment. As a property extension of a report it records the disclosure control of the counts: min_count, mechanism, epsilon, total_epsilon, protection."

// STIXObjects renders the export as STIX 2.1 objects an ISAC or CERT can
// ingest, with no device identifier, address or user name in any:
//
//   - an identity for the authority (created_by_ref of everything);
//   - an extension definition for herd's herd-device-group observable
//     and for the report's privacy record;
//   - for every published count (every table, the export's dimension),
//     an observed-data object (number_observed = the count, the day as
//     first_observed and last_observed) referring to the herd-device-group
//     it counts;
//   - for every published new-infection count, a malware object
//     (is_family) and a sighting of it (count, the day, where sighted: the
//     authority, observed data: the count's observed-data);
//   - a report listing them all, with the privacy record.
//
// A withheld count is no object at all; a noisy count of 0 neither
// (number_observed is at least 1).
func STIXObjects(ex *Export) []map[string]any {
	created := stixTime(ex.Generated)
	issuer := ex.Issuer
	if issuer == "" {
		issuer = "herd health authority"
	}
	identID := stixID("identity", issuer)
	objs := []map[string]any{
		{"type": "identity", "spec_version": "2.1", "id": identID, "created": created, "modified": created,
			"name": issuer, "identity_class": "organization", "sectors": []string{"technology"}},
		{"type": "extension-definition", "spec_version": "2.1", "id": extensionID, "created": created, "modified": created,
			"created_by_ref": identID, "name": "herd population aggregates", "description": "Aggregate device-health counts and their disclosure control",
			"schema": extensionSchema, "version": "1.0", "extension_types": []string{"new-sco", "property-extension"}},
	}
	refs := []string{identID, extensionID}
	seen := map[string]bool{}
	add := func(o map[string]any) {
		id := o["id"].(string)
		if seen[id] {
			return
		}
		seen[id] = true
		objs = append(objs, o)
		refs = append(refs, id)
	}
	for _, t := range ex.Tables {
		for _, c := range t.Cells {
			if c.Count == nil || *c.Count < 1 {
				continue
			}
			n := min(*c.Count, 999999999)
			day, _ := time.Parse(time.DateOnly, c.Day)
			first, last := stixTime(day), stixTime(day.Add(24*time.Hour-time.Millisecond))
			contrib := map[string]string{"dimension": t.Dimension, "key": c.Key, "segment": c.Segment, "table": t.Name}
			b, _ := json.Marshal(contrib) // keys sorted: the canonical form of the id's contributing properties
			groupID := SegmentObjectType + "--" + uuid5(scoNamespace, b)
			add(map[string]any{"type": SegmentObjectType, "spec_version": "2.1", "id": groupID,
				"table": t.Name, "key": c.Key, "dimension": t.Dimension, "segment": c.Segment,
				"extensions": map[string]any{extensionID: map[string]any{"extension_type": "new-sco"}}})
			odID := stixID("observed-data", issuer+"|"+c.Day+"|"+t.Name+"|"+t.Dimension+"|"+c.Segment+"|"+c.Key)
			add(map[string]any{"type": "observed-data", "spec_version": "2.1", "id": odID, "created": created, "modified": created,
				"created_by_ref": identID, "first_observed": first, "last_observed": last, "number_observed": n,
				"object_refs": []string{groupID}})
			if t.Name != string(store.AggInfection) {
				continue
			}
			mid := stixID("malware", c.Key)
			add(map[string]any{"type": "malware", "spec_version": "2.1", "id": mid, "created": created, "modified": created,
				"created_by_ref": identID, "name": c.Key, "is_family": true})
			add(map[string]any{"type": "sighting", "spec_version": "2.1", "id": stixID("sighting", issuer+"|"+c.Day+"|"+t.Dimension+"|"+c.Segment+"|"+c.Key),
				"created": created, "modified": created, "created_by_ref": identID, "sighting_of_ref": mid, "count": n,
				"first_seen": first, "last_seen": last, "observed_data_refs": []string{odID}, "where_sighted_refs": []string{identID},
				"description": "new infections (devices turning contraindicated) among the devices the authority checks, segment " +
					t.Dimension + "=" + c.Segment})
		}
	}
	p := ex.Privacy
	rec := map[string]any{"extension_type": "property-extension", "min_count": p.MinCount, "mechanism": p.Mechanism, "protection": p.Protection}
	if p.Epsilon > 0 || p.TotalEpsilon > 0 {
		rec["epsilon"], rec["total_epsilon"], rec["composition"], rec["assumption"] = p.Epsilon, p.TotalEpsilon, p.Composition, p.Assumption
	}
	objs = append(objs, map[string]any{
		"type": "report", "spec_version": "2.1", "id": stixID("report", issuer+"|"+ex.From+"|"+ex.To+"|"+created),
		"created": created, "modified": created, "created_by_ref": identID,
		"name": "Population health aggregates " + ex.From + " to " + ex.To, "report_types": []string{"threat-report"},
		"description": fmt.Sprintf("Daily counts of devices by verdict and by failing check, and new infections by malware family, by %s; every count under %d withheld.", dimensionName(ex), p.MinCount),
		"published":   created, "object_refs": refs,
		"extensions": map[string]any{extensionID: rec},
	})
	return objs
}

func dimensionName(ex *Export) string {
	if len(ex.Tables) == 0 || ex.Tables[0].Dimension == "" {
		return "whole population"
	}
	return ex.Tables[0].Dimension
}

// WriteSTIX writes a STIX 2.1 bundle.
func WriteSTIX(w io.Writer, ex *Export) error {
	b := map[string]any{"type": "bundle", "id": stixID("bundle", ex.Issuer+"|"+stixTime(ex.Generated)+"|"+ex.From+"|"+ex.To), "objects": STIXObjects(ex)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}

// Write writes ex in format: json, csv or stix21.
func Write(w io.Writer, format string, ex *Export) error {
	switch format {
	case "json":
		return WriteJSON(w, ex)
	case "csv":
		return WriteCSV(w, ex)
	case "stix21":
		return WriteSTIX(w, ex)
	}
	return fmt.Errorf("unknown format %q (json, csv, stix21)", format)
}
