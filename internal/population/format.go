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
)

// WriteJSON writes the export as one JSON object.
func WriteJSON(w io.Writer, ex *Export) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ex)
}

// WriteCSV writes the export as CSV: first a block of comment lines,
// each "# name: value", that records the export and its disclosure
// control (from, to, mechanism, min_count, and with noise epsilon and
// the budget); then a header row and one row per cell and margin:
// table,dimension,day,segment,key,kind,count,suppressed. Readers skip
// the comment lines (Go: csv.Reader.Comment = '#'; pandas: comment="#").
func WriteCSV(w io.Writer, ex *Export) error {
	meta := [][2]string{{"herd population export", ""}, {"from", ex.From}, {"to", ex.To},
		{"generated", ex.Generated.UTC().Format(time.RFC3339)}, {"mechanism", ex.Privacy.Mechanism},
		{"min_count", strconv.FormatInt(ex.Privacy.MinCount, 10)}}
	if ex.Issuer != "" {
		meta = append(meta, [2]string{"issuer", ex.Issuer})
	}
	if ex.Privacy.Epsilon > 0 {
		f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		meta = append(meta, [2]string{"epsilon", f(ex.Privacy.Epsilon)}, [2]string{"epsilon_per_table_day", f(ex.Privacy.EpsilonPerTableDay)},
			[2]string{"total_epsilon", f(ex.Privacy.TotalEpsilon)}, [2]string{"composition", ex.Privacy.Composition},
			[2]string{"assumption", ex.Privacy.Assumption})
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

// stixNamespace is the UUIDv5 namespace herd derives STIX ids in, so an
// object describing the same thing keeps its id across exports.
var stixNamespace = [16]byte{0x6b, 0x1e, 0x2f, 0x3a, 0x91, 0x4c, 0x4d, 0x0e, 0x8a, 0x1f, 0x5c, 0x62, 0x7d, 0x90, 0xa3, 0x11}

// stixID is "type--" and a UUIDv5 (RFC 9562) of name.
func stixID(typ, name string) string {
	h := sha1.New()
	h.Write(stixNamespace[:])
	h.Write([]byte(typ + "|" + name))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%s--%x-%x-%x-%x-%x", typ, b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// STIXObjects renders the export as STIX 2.1 objects: an identity for
// the authority, a malware object (is_family) and a sighting of it per
// day and segment for every published new-infection cell (count =
// published count), and a report whose x_herd_export property holds the
// whole export (tables, margins, privacy record). No device identifier,
// address or user name is in any of them.
func STIXObjects(ex *Export) []map[string]any {
	created := stixTime(ex.Generated)
	issuer := ex.Issuer
	if issuer == "" {
		issuer = "herd health authority"
	}
	ident := map[string]any{
		"type": "identity", "spec_version": "2.1", "id": stixID("identity", issuer),
		"created": created, "modified": created, "name": issuer, "identity_class": "organization",
		"sectors": []string{"technology"},
	}
	objs := []map[string]any{ident}
	refs := []string{ident["id"].(string)}
	malware := map[string]string{}
	for _, t := range ex.Tables {
		if t.Name != "infection" {
			continue
		}
		for _, c := range t.Cells {
			if c.Count == nil || *c.Count == 0 {
				continue
			}
			mid, ok := malware[c.Key]
			if !ok {
				mid = stixID("malware", c.Key)
				malware[c.Key] = mid
				objs = append(objs, map[string]any{"type": "malware", "spec_version": "2.1", "id": mid, "created": created, "modified": created,
					"name": c.Key, "is_family": true, "created_by_ref": ident["id"]})
				refs = append(refs, mid)
			}
			day, _ := time.Parse(time.DateOnly, c.Day)
			sid := stixID("sighting", issuer+"|"+c.Day+"|"+t.Dimension+"|"+c.Segment+"|"+c.Key)
			objs = append(objs, map[string]any{"type": "sighting", "spec_version": "2.1", "id": sid, "created": created, "modified": created,
				"created_by_ref": ident["id"], "sighting_of_ref": mid, "count": *c.Count,
				"first_seen": stixTime(day), "last_seen": stixTime(day.Add(24*time.Hour - time.Millisecond)),
				"where_sighted_refs": []string{ident["id"].(string)}, "description": "new infections among devices checked by the authority",
				"x_herd_segment": map[string]string{"dimension": t.Dimension, "value": c.Segment}})
			refs = append(refs, sid)
		}
	}
	objs = append(objs, map[string]any{
		"type": "report", "spec_version": "2.1", "id": stixID("report", issuer+"|"+ex.From+"|"+ex.To+"|"+created),
		"created": created, "modified": created, "created_by_ref": ident["id"],
		"name": "Population health aggregates " + ex.From + " to " + ex.To, "report_types": []string{"threat-report"},
		"published": created, "object_refs": refs,
		"x_herd_export": ex,
	})
	return objs
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
