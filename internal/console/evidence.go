package console

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
)

// EvidenceRow is one check of the latest statement: what the device read
// (source), how far that is to be trusted, and the facts it reported.
type EvidenceRow struct {
	ID, Title, Status, Source, Trust, Reason string
	Facts                                    []Fact
	Details                                  []string
}

// Fact is one evidence fact, as text.
type Fact struct{ Key, Value string }

// personalKey matches fact names that could carry personal data; such
// facts are not shown.
var personalKey = regexp.MustCompile(`(?i)(user|owner|account|email|e-mail|login|host_?name|computer_?name|serial|mac_?addr|home|local_?(addr|ip)|phone|name_of_person)`)

// personalValue matches values that name a person's files or account:
// home directories and e-mail addresses.
var personalValue = regexp.MustCompile(`(?i)(/home/[^/\s]+|/Users/[^/\s]+|[A-Z]:\\Users\\[^\\\s]+|/root\b|[^\s@]+@[^\s@]+\.[a-z]{2,})`)

// redact replaces home directories and e-mail addresses in s.
func redact(s string) string { return personalValue.ReplaceAllString(s, "…") }

// statementEvidence reads the per-check evidence of a stored statement:
// the compact JWS exactly as the device sent it (store.Checkin.Statement).
// Its signature is not checked again: the authority verified it with the
// device key before it stored the check-in, and the store is trusted
// with what it keeps. Nil when the bytes are not a signed statement.
func statementEvidence(p Page, raw []byte) []EvidenceRow {
	if len(raw) == 0 {
		return nil
	}
	jws, err := healthcert.ParseCompact(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil
	}
	var st health.Statement
	if err := json.Unmarshal(jws.Payload, &st); err != nil || len(st.Checks) == 0 {
		return nil
	}
	var out []EvidenceRow
	for _, r := range st.Checks {
		if !r.ID.Valid() {
			continue
		}
		row := EvidenceRow{ID: string(r.ID), Title: checkTitle(p, string(r.ID)), Status: string(r.Status),
			Source: redact(r.Evidence.Source), Trust: string(r.Evidence.Trust), Reason: redact(r.Reason)}
		keys := make([]string, 0, len(r.Evidence.Facts))
		for k := range r.Evidence.Facts {
			if !personalKey.MatchString(k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			row.Facts = append(row.Facts, Fact{Key: k, Value: redact(factText(r.Evidence.Facts[k]))})
		}
		for _, d := range r.Details {
			row.Details = append(row.Details, redact(d))
		}
		out = append(out, row)
	}
	return out
}

func factText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, factText(x))
		}
		return strings.Join(parts, ", ")
	case nil:
		return ""
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}
