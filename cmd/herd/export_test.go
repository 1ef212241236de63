package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

func TestExportAndOutbreaksCommands(t *testing.T) {
	db := tempDB(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"csv", []string{"export", "--db", db, "--format", "csv", "--min-count", "5"}, 0, "# mechanism: suppression\n# min_count: 5\n# protection: every count under K is withheld; "},
		{"csv header", []string{"export", "--db", db, "--format", "csv", "--min-count", "5"}, 0, "only complete days (UTC)\ntable,dimension,day,segment,key,kind,count,suppressed\n"},
		{"csv noisy", []string{"export", "--db", db, "--format", "csv", "--epsilon", "0.5"}, 0, "# min_count: 10\n# epsilon: 0.5\n# epsilon_per_table_day: 0.5\n"},
		{"stix", []string{"export", "--db", db, "--format", "stix21", "--epsilon", "0.5"}, 0, `"spec_version": "2.1"`},
		{"bad format", []string{"export", "--db", db, "--format", "xml"}, 2, "herd export: --format \"xml\": must be json, csv or stix21\n"},
		{"k 1", []string{"export", "--db", db, "--min-count", "1"}, 2, "herd export: --min-count 1: K must be at least 2"},
		{"k 0", []string{"export", "--db", db, "--min-count", "0"}, 2, "herd export: --min-count 0: K must be at least 2"},
		{"k negative", []string{"export", "--db", db, "--min-count", "-3"}, 2, "K must be at least 2"},
		{"negative epsilon", []string{"export", "--db", db, "--epsilon", "-1"}, 2, "herd export: --epsilon -1: epsilon must be 0 (no noise) or at least 0.01"},
		{"NaN epsilon", []string{"export", "--db", db, "--epsilon", "NaN"}, 2, "herd export: --epsilon NaN"},
		{"bad segment", []string{"export", "--db", db, "--segment", "user"}, 2, "herd export: --segment \"user\""},
		{"since after the last complete day", []string{"export", "--db", db, "--since", "2999-01-01"}, 2, "herd export: invalid export option: since (2999-01-01) is after the last complete day"},
		{"until today", []string{"export", "--db", db, "--until", time.Now().UTC().Format(time.DateOnly)}, 2, "is not over; the last complete day is " + time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)},
		{"bad until", []string{"export", "--db", db, "--until", "tomorrow"}, 2, "herd export: --until \"tomorrow\": want YYYY-MM-DD or RFC 3339"},
		{"tiny epsilon", []string{"export", "--db", db, "--epsilon", "1e-300"}, 2, "herd export: --epsilon 1e-300: epsilon 1e-300 is below 0.01"},
		{"infinite epsilon", []string{"export", "--db", db, "--epsilon", "+Inf"}, 2, "herd export: --epsilon +Inf: epsilon must be a finite number"},
		{"stray argument", []string{"export", "--db", db, "csv"}, 2, "herd export: unexpected argument \"csv\""},
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
