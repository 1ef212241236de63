package main

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
)

const (
	mispEvent1 = "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f"
	mispEvent2 = "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e60"
)

func readFeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(feedsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mispWant is what the two events of the sample manifest hold: the
// QakBot event sample and the event with objects (internal/intel
// TestSamples' counts, summed).
var mispWant = map[intel.Type]int{intel.IPv4: 2, intel.MD5: 1, intel.SHA256: 1, intel.Domain: 2, intel.IPv6: 1, intel.SHA1: 1}

func TestIntelImportMISPFeedURL(t *testing.T) {
	fixedIntelNow(t)
	files := map[string][]byte{
		"/feed/manifest.json":           readFeed(t, "misp-feed-manifest.json"),
		"/feed/" + mispEvent1 + ".json": readFeed(t, "misp-event-"+mispEvent1+".json"),
		"/feed/" + mispEvent2 + ".json": readFeed(t, "misp-event-objects.json"),
	}
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		if b, ok := files[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()

	t.Run("events fetched and imported", func(t *testing.T) {
		dsn := tempDB(t)
		res, code, stderr := runIntelJSON(t, "--db", dsn, srv.URL+"/feed/manifest.json")
		if code != 0 || !maps.Equal(res.Imported, withZeros(mispWant)) || res.Skipped != 8 {
			t.Fatalf("exit %d, %+v (stderr %q); want %v, skipped 8", code, res, stderr, mispWant)
		}
		mu.Lock()
		got := slices.Clone(asked)
		mu.Unlock()
		slices.Sort(got)
		want := []string{"/feed/" + mispEvent1 + ".json", "/feed/" + mispEvent2 + ".json", "/feed/manifest.json"}
		if !slices.Equal(got, want) {
			t.Errorf("fetched %q, want %q", got, want)
		}
		if m, _ := live(t, dsn); !maps.Equal(countTypes(m), map[intel.Type]int{intel.IPv4: 2, intel.MD5: 1, intel.SHA256: 1, intel.Domain: 2, intel.IPv6: 1, intel.SHA1: 1}) {
			t.Errorf("store holds %v", countTypes(m))
		}
		// One entry for the manifest, one for each event file.
		if len(res.Files) != 3 || res.Files[1].Name != srv.URL+"/feed/"+mispEvent1+".json" ||
			!maps.Equal(res.Files[1].Imported, withZeros(map[intel.Type]int{intel.IPv4: 1, intel.MD5: 1})) || res.Files[1].Skipped != 1 {
			t.Errorf("files %+v", res.Files)
		}
	})
	t.Run("an event larger than the limit fails alone", func(t *testing.T) {
		dsn := tempDB(t)
		// The limit lets the manifest and the second event through, not
		// the first.
		limit := len(files["/feed/"+mispEvent2+".json"]) + 1
		if n := len(files["/feed/manifest.json"]); n >= limit {
			t.Fatalf("manifest %d bytes, not under the limit %d", n, limit)
		}
		res, code, _ := runIntelJSON(t, "--db", dsn, "--max-size", strconv.Itoa(limit), srv.URL+"/feed/manifest.json")
		if code != 1 || !maps.Equal(res.Imported, withZeros(map[intel.Type]int{intel.SHA256: 1, intel.Domain: 2, intel.IPv6: 1, intel.IPv4: 1, intel.SHA1: 1})) ||
			len(res.Errors) != 4 || !strings.Contains(res.Errors[0], mispEvent1) || !strings.Contains(res.Errors[0], "size limit") {
			t.Errorf("exit %d, %+v", code, res)
		}
	})
}

func TestIntelImportMISPFeedDir(t *testing.T) {
	fixedIntelNow(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "manifest.json")
	os.WriteFile(manifest, readFeed(t, "misp-feed-manifest.json"), 0o600)

	t.Run("manifest alone is a clear error", func(t *testing.T) {
		dsn := tempDB(t)
		res, code, _ := runIntelJSON(t, "--db", dsn, manifest)
		if code != 1 || total(res.Imported) != 0 || len(res.Errors) != 1 ||
			!strings.Contains(res.Errors[0], "this is a MISP feed manifest, and none of the events it lists was found beside it (no event file such as "+mispEvent1+".json)") {
			t.Errorf("exit %d, %+v", code, res)
		}
	})
	os.WriteFile(filepath.Join(dir, mispEvent1+".json"), readFeed(t, "misp-event-"+mispEvent1+".json"), 0o600)
	t.Run("one event beside it, one missing", func(t *testing.T) {
		dsn := tempDB(t)
		res, code, _ := runIntelJSON(t, "--db", dsn, manifest)
		if code != 1 || !maps.Equal(res.Imported, withZeros(map[intel.Type]int{intel.IPv4: 1, intel.MD5: 1})) ||
			len(res.Errors) != 1 || !strings.Contains(res.Errors[0], mispEvent2+".json: listed in the manifest, but not found") {
			t.Errorf("exit %d, %+v", code, res)
		}
	})
	os.WriteFile(filepath.Join(dir, mispEvent2+".json"), readFeed(t, "misp-event-objects.json"), 0o600)
	t.Run("both events beside it", func(t *testing.T) {
		dsn := tempDB(t)
		res, code, _ := runIntelJSON(t, "--db", dsn, manifest)
		if code != 0 || !maps.Equal(res.Imported, withZeros(mispWant)) || res.Skipped != 8 || len(res.Errors) != 3 {
			t.Errorf("exit %d, %+v", code, res)
		}
	})
}

func TestIntelImportFilesListed(t *testing.T) {
	fixedIntelNow(t)
	dsn := tempDB(t)
	a, b := filepath.Join(feedsDir, "feodo-ipblocklist.csv"), filepath.Join(feedsDir, "stix21-indicator-bundle.json")
	res, code, _ := runIntelJSON(t, "--db", dsn, a, b)
	want := []intelFileResult{
		{Name: a, Imported: map[intel.Type]int{intel.IPv4: 3}, Errors: []string{}},
		{Name: b, Imported: map[intel.Type]int{intel.IPv4: 1, intel.SHA256: 1}, Withdrawn: 1, Errors: []string{}},
	}
	// The totals count each indicator once: STIX's 203.0.113.77:443 is
	// one of Feodo's three.
	if code != 0 || !maps.Equal(res.Imported, withZeros(map[intel.Type]int{intel.IPv4: 3, intel.SHA256: 1})) || res.Skipped != 0 || res.Withdrawn != 1 || len(res.Files) != 2 {
		t.Fatalf("exit %d, %+v", code, res)
	}
	for i, w := range want {
		g := res.Files[i]
		if g.Name != w.Name || !maps.Equal(g.Imported, withZeros(w.Imported)) || g.Skipped != w.Skipped || g.Withdrawn != w.Withdrawn || !slices.Equal(g.Errors, w.Errors) {
			t.Errorf("file %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestIntelImportFeedRuns: imports by the command are recorded where the
// scheduled refreshes are, so the console's feeds page shows them.
func TestIntelImportFeedRuns(t *testing.T) {
	fixedIntelNow(t)
	body := readFeed(t, "feodo-ipblocklist.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ipblocklist.json" {
			w.Write(body)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.bin")
	os.WriteFile(garbage, []byte("\x00\x01 not a feed at all"), 0o600)
	bazaar := string(readFeed(t, "malwarebazaar-recent.csv"))
	cut := filepath.Join(dir, "bazaar.csv")
	os.WriteFile(cut, []byte(bazaar[:strings.Index(bazaar, `"f0080bf7`)+10]), 0o600)

	dsn := tempDB(t)
	runIntelJSON(t, "--db", dsn, srv.URL+"/ipblocklist.json")
	runIntelJSON(t, "--db", dsn, "--source", "my-urlhaus", filepath.Join(feedsDir, "urlhaus-csv.txt"))
	runIntelJSON(t, "--db", dsn, garbage, cut, srv.URL+"/missing.csv")

	st, err := storeopen.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.(store.FeedReports).FeedRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.FeedRecord{}
	for _, r := range recs {
		got[r.Name] = r
	}
	at := intelNow()
	urlhaus, _ := filepath.Abs(filepath.Join(feedsDir, "urlhaus-csv.txt"))
	tests := []struct {
		name, url, err string
		ok             bool
	}{
		{"feodotracker", srv.URL + "/ipblocklist.json", "", true},
		{"my-urlhaus", urlhaus, "", true},
		// Nothing in it names a feed: its file name, provisionally.
		{"garbage.bin", garbage, "not recognised", false},
		// Cut short, it still says which feed it is.
		{"malwarebazaar", cut, "line 12: the file ends unexpectedly", false},
		{"missing.csv", srv.URL + "/missing.csv", "404", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := got[tc.name]
			if !ok {
				t.Fatalf("no feed record; have %+v", recs)
			}
			if r.URL != tc.url || !r.LastAttempt.Equal(at) || r.LastSuccess.Equal(at) != tc.ok ||
				(tc.err == "") != (r.LastError == "") || !strings.Contains(r.LastError, tc.err) {
				t.Errorf("record %+v; want url %q, attempt %v, success %v, error with %q", r, tc.url, at, tc.ok, tc.err)
			}
		})
	}
	if len(recs) != len(tests) {
		t.Errorf("%d records, want %d: %+v", len(recs), len(tests), recs)
	}
}

// feedRecords reads the console's feed records of dsn by name.
func feedRecords(t *testing.T, dsn string) map[string]store.FeedRecord {
	t.Helper()
	st, err := storeopen.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.(store.FeedReports).FeedRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]store.FeedRecord{}
	for _, r := range recs {
		m[r.Name] = r
	}
	return m
}

// A failed import and a successful one of the same feed are recorded
// under the same name, so a fixed feed's error does not stay on the
// Feeds page: under the feed's own name when the file says it (even cut
// short), else under the name its location was recorded with before;
// a failure recorded under a file's name is dropped once the file
// imports under its feed's name.
func TestIntelImportFeedIdentity(t *testing.T) {
	fixedIntelNow(t)
	dir := t.TempDir()
	feodo := readFeed(t, "feodo-ipblocklist.csv")
	path := filepath.Join(dir, "ipblocklist.csv")
	abs, _ := filepath.Abs(path)
	dsn := tempDB(t)
	check := func(step string, want map[string]string) {
		t.Helper()
		got := feedRecords(t, dsn)
		if len(got) != len(want) {
			t.Fatalf("%s: records %+v, want %v", step, got, want)
		}
		for name, errPart := range want {
			r, ok := got[name]
			if !ok || r.URL != abs || (errPart == "") != (r.LastError == "") || !strings.Contains(r.LastError, errPart) {
				t.Errorf("%s: record %q = %+v, want location %s and error %q", step, name, r, abs, errPart)
			}
		}
	}
	// Cut short: the format names the feed.
	os.WriteFile(path, feodo[:len(feodo)-20], 0o600)
	runIntelJSON(t, "--db", dsn, path)
	check("truncated", map[string]string{"feodotracker": "ends unexpectedly"})
	os.WriteFile(path, feodo, 0o600)
	runIntelJSON(t, "--db", dsn, path)
	check("fixed", map[string]string{"feodotracker": ""})
	// Gone: the name this location was recorded under.
	os.Remove(path)
	runIntelJSON(t, "--db", dsn, path)
	check("missing", map[string]string{"feodotracker": "no such file"})

	// A location never recorded, whose content says nothing: the file's
	// name, until it imports under its feed's.
	dsn = tempDB(t)
	os.WriteFile(path, []byte("\x00\x01 not a feed"), 0o600)
	runIntelJSON(t, "--db", dsn, path)
	check("garbage", map[string]string{"ipblocklist.csv": "not recognised"})
	os.WriteFile(path, feodo, 0o600)
	runIntelJSON(t, "--db", dsn, path)
	check("fixed garbage", map[string]string{"feodotracker": ""})
}
