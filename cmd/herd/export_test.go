package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
)

func TestExportAndOutbreaksCommands(t *testing.T) {
	db := tempDB(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"csv", []string{"export", "--db", db, "--format", "csv", "--min-count", "5"}, 0, "# mechanism: suppression\n# min_count: 5\ntable,dimension,day,segment,key,kind,count,suppressed\n"},
		{"csv noisy", []string{"export", "--db", db, "--format", "csv", "--epsilon", "0.5"}, 0, "# min_count: 10\n# epsilon: 0.5\n"},
		{"stix", []string{"export", "--db", db, "--format", "stix21", "--epsilon", "0.5"}, 0, `"spec_version": "2.1"`},
		{"bad format", []string{"export", "--db", db, "--format", "xml"}, 2, "herd export: --format \"xml\": must be json, csv or stix21\n"},
		{"k 1", []string{"export", "--db", db, "--min-count", "1"}, 2, "herd export: --min-count 1: K must be at least 2"},
		{"k 0", []string{"export", "--db", db, "--min-count", "0"}, 2, "herd export: --min-count 0: K must be at least 2"},
		{"k negative", []string{"export", "--db", db, "--min-count", "-3"}, 2, "K must be at least 2"},
		{"negative epsilon", []string{"export", "--db", db, "--epsilon", "-1"}, 2, "herd export: --epsilon -1: must be 0 (no noise) or a positive number"},
		{"NaN epsilon", []string{"export", "--db", db, "--epsilon", "NaN"}, 2, "herd export: --epsilon NaN"},
		{"bad segment", []string{"export", "--db", db, "--segment", "user"}, 2, "herd export: --segment \"user\""},
		{"since after today", []string{"export", "--db", db, "--since", "2999-01-01"}, 2, "herd export: invalid export option: since is after until"},
		{"outbreaks", []string{"outbreaks", "--db", db, "--json"}, 0, `"alerts":[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Errorf("exit %d (want %d); out %q err %q; want %q", code, tc.code, out.String(), errb.String(), tc.want)
			}
			if e := errb.String(); strings.Count(e, "export:") > 1 {
				t.Errorf("doubled prefix: %q", e)
			}
			if code == 0 && tc.args[0] == "export" && strings.Contains(tc.args[3], "csv") {
				// The data rows after the comment block parse as CSV with
				// 8 columns each, and no data row is about privacy.
				r := csv.NewReader(strings.NewReader(out.String()))
				r.Comment = '#'
				rows, err := r.ReadAll()
				if err != nil || len(rows) == 0 {
					t.Fatalf("csv: %v", err)
				}
				for _, row := range rows {
					if len(row) != 8 || row[0] == "privacy" {
						t.Errorf("row %q", row)
					}
				}
			}
		})
	}
}
