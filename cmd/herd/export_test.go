package main

import (
	"bytes"
	"context"
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
		{"csv", []string{"export", "--db", db, "--format", "csv", "--min-count", "5"}, 0, "privacy,suppression"},
		{"stix", []string{"export", "--db", db, "--format", "stix21", "--epsilon", "0.5"}, 0, `"spec_version": "2.1"`},
		{"bad format", []string{"export", "--db", db, "--format", "xml"}, 2, "unknown format"},
		{"bad k", []string{"export", "--db", db, "--min-count", "1"}, 1, "at least 2"},
		{"outbreaks", []string{"outbreaks", "--db", db, "--json"}, 0, `{"alerts":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Errorf("exit %d (want %d); out %q err %q; want %q", code, tc.code, out.String(), errb.String(), tc.want)
			}
		})
	}
}
