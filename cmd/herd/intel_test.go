package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
)

const feedsDir = "../../internal/intel/testdata"

// fixedIntelNow is the time the samples are read at: after all of them
// were published, before the STIX QakBot indicator's valid_until.
func fixedIntelNow(t *testing.T) {
	t.Helper()
	old := intelNow
	intelNow = func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { intelNow = old })
}

func runIntelJSON(t *testing.T, args ...string) (intelImportResult, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"intel", "import", "--json"}, args...), &out, &errb)
	var res intelImportResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q: %v (stderr %q)", out.String(), err, errb.String())
	}
	return res, code, errb.String()
}

// live reads the store's live indicators as "type value port" → sources.
func live(t *testing.T, dsn string) (map[string][]string, int64) {
	t.Helper()
	st, err := storeopen.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := map[string][]string{}
	v, err := st.(store.Intel).LiveIndicators(context.Background(), nil, func(in store.Indicator) error {
		m[fmt.Sprintf("%s %s %d", in.Type, in.Value, in.Port)] = in.Sources
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, v
}

// withZeros is m with every indicator type, as --json prints them.
func withZeros(m map[intel.Type]int) map[intel.Type]int {
	out := map[intel.Type]int{}
	for _, t := range intel.Types {
		out[t] = m[t]
	}
	return out
}

func total(m map[intel.Type]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

func countTypes(m map[string][]string) map[intel.Type]int {
	c := map[intel.Type]int{}
	for k := range m {
		c[intel.Type(strings.Fields(k)[0])]++
	}
	return c
}

func TestIntelImportSamples(t *testing.T) {
	fixedIntelNow(t)
	// The counts the parser tests derive for each sample (internal/intel
	// TestSamples), summed over the files.
	files := []struct {
		name     string
		imported map[intel.Type]int
		skipped  int
		errors   int
	}{
		{"feodo-ipblocklist.csv", map[intel.Type]int{intel.IPv4: 3}, 0, 0},
		{"feodo-ipblocklist.json", map[intel.Type]int{intel.IPv4: 3}, 0, 0},
		{"urlhaus-csv.txt", map[intel.Type]int{intel.URL: 3}, 0, 0},
		{"malwarebazaar-recent.csv", map[intel.Type]int{intel.SHA256: 3, intel.MD5: 3, intel.SHA1: 3}, 0, 0},
		{"threatfox-recent.csv", map[intel.Type]int{intel.IPv4: 1, intel.Domain: 1, intel.URL: 1, intel.SHA256: 1, intel.IPv6: 1}, 1, 0},
		{"threatfox-recent.json", map[intel.Type]int{intel.IPv4: 1, intel.Domain: 1, intel.URL: 1, intel.SHA256: 1, intel.MD5: 1}, 1, 1},
		{"threatfox-api-get-iocs.json", map[intel.Type]int{intel.Domain: 1, intel.IPv4: 1, intel.URL: 1, intel.SHA256: 1}, 1, 0},
		{"stix21-indicator-bundle.json", map[intel.Type]int{intel.IPv4: 1, intel.SHA256: 1}, 0, 0}, // and one revoked: withdrawn
		{"misp-event-5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f.json", map[intel.Type]int{intel.IPv4: 1, intel.MD5: 1}, 1, 0},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			dsn := tempDB(t)
			res, code, _ := runIntelJSON(t, "--db", dsn, filepath.Join(feedsDir, f.name))
			if code != 0 || !maps.Equal(res.Imported, withZeros(f.imported)) || res.Skipped != f.skipped || len(res.Errors) != f.errors {
				t.Errorf("exit %d, %+v; want %v skipped %d", code, res, f.imported, f.skipped)
			}
			m, _ := live(t, dsn)
			if got := countTypes(m); !maps.Equal(got, f.imported) {
				t.Errorf("store holds %v, want %v", got, f.imported)
			}
		})
	}

	t.Run("all at once, deduplicated", func(t *testing.T) {
		dsn := tempDB(t)
		var args []string
		for _, f := range files {
			args = append(args, filepath.Join(feedsDir, f.name))
		}
		res, code, _ := runIntelJSON(t, append([]string{"--db", dsn}, args...)...)
		// Each indicator counts once, however many files list it: the
		// Feodo CSV and JSON list the same three C2s, ThreatFox's CSV and
		// export, STIX and MISP list 203.0.113.77:443 too, and the API
		// adds one (198.51.100.45:8443); the SHA-256 and MD5 of ThreatFox,
		// STIX and MISP are MalwareBazaar's Mirai sample; ThreatFox's CSV
		// and export share their domain and URL, the API has one of each
		// more.
		want := map[intel.Type]int{intel.IPv4: 4, intel.IPv6: 1, intel.Domain: 2, intel.URL: 5, intel.SHA256: 3, intel.MD5: 3, intel.SHA1: 3}
		if code != 0 || !maps.Equal(res.Imported, withZeros(want)) || res.Skipped != 4 || res.Withdrawn != 1 || len(res.Errors) != 1 {
			t.Fatalf("exit %d, %+v; want %v, skipped 4, withdrawn 1", code, res, want)
		}
		m, v := live(t, dsn)
		if got := countTypes(m); !maps.Equal(got, want) {
			t.Errorf("store holds %v, want %v", got, want)
		}
		if s := m["ipv4 203.0.113.77 443"]; !slices.Equal(s, []string{"EXAMPLE-CERT", "Example CTI Producer", "feodotracker", "threatfox"}) {
			t.Errorf("203.0.113.77:443 sources = %q", s)
		}
		// Importing the same files again adds nothing and keeps the version.
		res, code, _ = runIntelJSON(t, append([]string{"--db", dsn}, args...)...)
		m2, v2 := live(t, dsn)
		if code != 0 || !maps.Equal(res.Imported, withZeros(want)) || len(m2) != len(m) || v2 != v {
			t.Errorf("again: exit %d %+v; %d stored (was %d), version %d (was %d)", code, res, len(m2), len(m), v2, v)
		}
	})

	t.Run("sighting report is refused", func(t *testing.T) {
		dsn := tempDB(t)
		res, code, _ := runIntelJSON(t, "--db", dsn, filepath.Join(feedsDir, "shadowserver-event4-sinkhole.csv"))
		if code != 1 || total(res.Imported) != 0 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "herd sightings import") {
			t.Errorf("exit %d, %+v", code, res)
		}
	})
}

func TestIntelImportBadFiles(t *testing.T) {
	fixedIntelNow(t)
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(feedsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := filepath.Join(feedsDir, "feodo-ipblocklist.csv")
	bazaar := read("malwarebazaar-recent.csv")
	truncated := write("cut.csv", bazaar[:strings.Index(bazaar, `"f0080bf7`)+10])
	garbage := write("garbage.bin", "\x00\x01 not a feed at all")
	badRows := write("rows.csv", read("feodo-ipblocklist.csv")+
		`"2021-01-17 07:44:46","192.0.2.300","4643","online","2026-11-30","Dridex"`+"\n"+
		`"2021-01-17 07:44:46","192.0.2.99","443","online","2026-11-30","Dridex"`+"\n")

	t.Run("malformed file beside a good one", func(t *testing.T) {
		dsn := tempDB(t)
		res, code, _ := runIntelJSON(t, "--db", dsn, garbage, good)
		if code != 1 || !maps.Equal(res.Imported, withZeros(map[intel.Type]int{intel.IPv4: 3})) || len(res.Errors) != 1 ||
			!strings.Contains(res.Errors[0], "garbage.bin") || !strings.Contains(res.Errors[0], "not recognised") {
			t.Errorf("exit %d, %+v", code, res)
		}
		if m, _ := live(t, dsn); len(m) != 3 {
			t.Errorf("store holds %d indicators, want the good file's 3", len(m))
		}
	})
	t.Run("bad rows are skipped with line numbers", func(t *testing.T) {
		dsn := tempDB(t)
		res, code, _ := runIntelJSON(t, "--db", dsn, badRows)
		want := []string{badRows + `: line 13: "192.0.2.300" is not an IP address`}
		if code != 0 || !maps.Equal(res.Imported, withZeros(map[intel.Type]int{intel.IPv4: 4})) || res.Skipped != 1 || !slices.Equal(res.Errors, want) {
			t.Errorf("exit %d, %+v", code, res)
		}
	})
	t.Run("truncated file changes nothing", func(t *testing.T) {
		dsn := tempDB(t)
		if _, code, _ := runIntelJSON(t, "--db", dsn, good); code != 0 {
			t.Fatal("good import failed")
		}
		before, v := live(t, dsn)
		res, code, _ := runIntelJSON(t, "--db", dsn, truncated, good)
		after, v2 := live(t, dsn)
		// The good file is imported again (refreshed); the truncated
		// one's two complete samples are not stored.
		// It is a file error, with nothing counted as skipped.
		if code != 1 || !maps.Equal(res.Imported, withZeros(map[intel.Type]int{intel.IPv4: 3})) || res.Skipped != 0 ||
			len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "cut.csv: line 12: the file ends unexpectedly") ||
			len(res.Files) != 2 || res.Files[0].Skipped != 0 || total(res.Files[0].Imported) != 0 || len(res.Files[0].Errors) != 1 {
			t.Errorf("exit %d, %+v", code, res)
		}
		if len(after) != len(before) || v2 != v {
			t.Errorf("store went from %d indicators (version %d) to %d (version %d)", len(before), v, len(after), v2)
		}
	})
}

func TestIntelImportURL(t *testing.T) {
	fixedIntelNow(t)
	body, err := os.ReadFile(filepath.Join(feedsDir, "feodo-ipblocklist.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feodo.json":
			w.Write(body)
		case "/slow":
			time.Sleep(2 * time.Second)
			w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	old := progressEvery
	progressEvery = 2
	defer func() { progressEvery = old }()

	dsn := tempDB(t)
	res, code, stderr := runIntelJSON(t, "--db", dsn, srv.URL+"/feodo.json")
	if code != 0 || !maps.Equal(res.Imported, withZeros(map[intel.Type]int{intel.IPv4: 3})) {
		t.Errorf("exit %d, %+v", code, res)
	}
	if !strings.Contains(stderr, "/feodo.json: 2 indicators read") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not found", []string{srv.URL + "/missing"}, "404"},
		{"too large", []string{"--max-size", "100", srv.URL + "/feodo.json"}, "size limit"},
		{"timeout", []string{"--timeout", "200ms", srv.URL + "/slow"}, "Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, code, _ := runIntelJSON(t, append([]string{"--db", dsn}, tc.args...)...)
			if code != 1 || total(res.Imported) != 0 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], tc.want) {
				t.Errorf("exit %d, %+v; want an error with %q", code, res, tc.want)
			}
		})
	}
}

func TestServeConfigFeeds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "serve.json")
	os.WriteFile(p, []byte(`{"feeds": [{"name": "feodo", "url": "https://feodotracker.abuse.ch/downloads/ipblocklist.csv", "interval": "6h"}], "indicator_expiry_days": 14}`), 0o600)
	f, err := loadServeFile(flag.NewFlagSet("x", flag.ContinueOnError), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Feeds) != 1 || f.Feeds[0].Name != "feodo" || time.Duration(f.Feeds[0].Interval) != 6*time.Hour || f.expiryDays() != 14 {
		t.Errorf("config = %+v", f)
	}
	for _, tc := range []struct {
		name, json string
		days       int
		err        string
	}{
		{"default", `{}`, 0, ""},
		{"never", `{"indicator_expiry_days": -1}`, -1, ""},
		{"zero is refused", `{"indicator_expiry_days": 0}`, 0, "indicator_expiry_days must be at least 1 (default 30), or -1"},
		{"feed without url", `{"feeds": [{"name": "x"}]}`, 0, "feeds[0]: a feed needs a name and a url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(p, []byte(tc.json), 0o600)
			f, err := loadServeFile(flag.NewFlagSet("x", flag.ContinueOnError), p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || f.expiryDays() != tc.days {
				t.Errorf("days = %d, %v; want %d", f.expiryDays(), err, tc.days)
			}
		})
	}
}

// The --json contract lists every type: one with none is 0, not left out.
// An indicator a file lists twice counts once; a file starting with a
// UTF-8 byte-order mark imports like the same file without one.
func TestIntelImportJSONCounts(t *testing.T) {
	fixedIntelNow(t)
	dir := t.TempDir()
	feodo, err := os.ReadFile(filepath.Join(feedsDir, "feodo-ipblocklist.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := string(feodo[strings.Index(string(feodo), "\n\"20")+1:])
	twice := filepath.Join(dir, "twice.csv")
	bom := filepath.Join(dir, "bom.csv")
	os.WriteFile(twice, append(slices.Clone(feodo), rows...), 0o600)
	os.WriteFile(bom, append([]byte("\xef\xbb\xbf"), feodo...), 0o600)
	for _, tc := range []struct {
		name, file string
	}{{"listed twice", twice}, {"byte-order mark", bom}} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"intel", "import", "--json", "--db", tempDB(t), tc.file}, &out, &errb)
			var raw struct {
				Imported map[string]int `json:"imported"`
				Skipped  int            `json:"skipped"`
				Errors   []string       `json:"errors"`
				Files    []struct {
					Imported map[string]int `json:"imported"`
				} `json:"files"`
			}
			if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
				t.Fatalf("%q: %v (%s)", out.String(), err, errb.String())
			}
			want := map[string]int{"ipv4": 3, "ipv6": 0, "domain": 0, "url": 0, "sha256": 0, "sha1": 0, "md5": 0, "process": 0}
			if code != 0 || !maps.Equal(raw.Imported, want) || raw.Skipped != 0 || len(raw.Errors) != 0 ||
				len(raw.Files) != 1 || !maps.Equal(raw.Files[0].Imported, want) {
				t.Errorf("exit %d, %s; want imported %v and nothing skipped", code, out.String(), want)
			}
		})
	}
}

// A STIX indicator published again revoked leaves the store (its feed
// was the only one listing it); one whose valid_until passes expires.
func TestIntelImportRevokedRepublication(t *testing.T) {
	fixedIntelNow(t)
	dsn := tempDB(t)
	dir := t.TempDir()
	bundle := func(name, extra string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(`{"type": "bundle", "id": "bundle--1", "objects": [
{"type": "identity", "id": "identity--1", "name": "CERT-X"},
{"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-0000000000b1", "created_by_ref": "identity--1", "modified": "`+extra+`", "pattern": "[ipv4-addr:value = '198.51.100.23']", "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z", "valid_until": "2026-12-20T00:00:00Z"`+map[bool]string{true: `, "revoked": true`}[name == "revoked.json"]+`}
]}`), 0o600)
		return p
	}
	res, code, _ := runIntelJSON(t, "--db", dsn, bundle("first.json", "2026-11-01T00:00:00Z"))
	if m, _ := live(t, dsn); code != 0 || res.Imported[intel.IPv4] != 1 || len(m["ipv4 198.51.100.23 0"]) != 1 {
		t.Fatalf("first publication: exit %d, %+v, stored %v", code, res, m)
	}
	st, err := storeopen.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	var until time.Time
	st.(store.Intel).LiveIndicators(context.Background(), nil, func(in store.Indicator) error { until = in.ValidUntil; return nil })
	st.Close()
	if !until.Equal(time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("stored valid_until = %v, want 2026-12-20", until)
	}
	res, code, _ = runIntelJSON(t, "--db", dsn, bundle("revoked.json", "2026-11-15T00:00:00Z"))
	if m, _ := live(t, dsn); code != 0 || res.Withdrawn != 1 || total(res.Imported) != 0 || len(m) != 0 {
		t.Fatalf("revoked re-publication: exit %d, %+v; still stored %v", code, res, m)
	}
}

// A file every record of which is malformed is a broken feed, not an
// empty one: it fails; a header with no rows is an empty feed.
func TestIntelImportNothingImported(t *testing.T) {
	fixedIntelNow(t)
	dir := t.TempDir()
	header := `"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n"
	broken := filepath.Join(dir, "broken.csv")
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(broken, []byte(header+`"2026-11-01 00:00:00","192.0.2.300","443","online","2026-11-30","Dridex"`+"\n"+`"2026-11-01 00:00:00","not an ip","443","online","2026-11-30","Dridex"`+"\n"), 0o600)
	os.WriteFile(empty, []byte(header), 0o600)
	res, code, _ := runIntelJSON(t, "--db", tempDB(t), broken)
	if code != 1 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "no record of the file could be imported (2 skipped; the first: line 2: ") {
		t.Errorf("broken: exit %d, %+v", code, res)
	}
	res, code, _ = runIntelJSON(t, "--db", tempDB(t), empty)
	if code != 0 || total(res.Imported) != 0 || len(res.Errors) != 0 {
		t.Errorf("empty: exit %d, %+v", code, res)
	}
}
