package intel

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// now is the moment the samples are parsed at: after every sample was
// published, before the STIX QakBot indicator's valid_until (2026-12-30).
var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func parseFile(t *testing.T, name string) (Format, Result, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f := Detect("feed.bin", b)
	res, err := ParseWith(bytes.NewReader(b), f, Options{Now: func() time.Time { return now }})
	return f, res, err
}

func TestSamples(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		format    Format
		imported  map[Type]int
		skipped   int
		withdrawn int
		errors    []string
		err       error
	}{{
		// Banner of 8 '#' lines, then the uncommented quoted header, then
		// 3 rows: 192.0.2.10:4643 Dridex, 198.51.100.22:8080 Emotet
		// (offline is still listed), 203.0.113.77:443 QakBot.
		name: "feodo csv", file: "feodo-ipblocklist.csv", format: FeodoCSV,
		imported: map[Type]int{IPv4: 3}, errors: []string{},
	}, {
		// The same three C2s as objects; the third has no first_seen,
		// which is optional.
		name: "feodo json", file: "feodo-ipblocklist.json", format: FeodoJSON,
		imported: map[Type]int{IPv4: 3}, errors: []string{},
	}, {
		// Commented header "# id,dateadded,url,…"; 3 rows, each one URL;
		// the second has an empty last_online and tags "None".
		name: "urlhaus csv", file: "urlhaus-csv.txt", format: URLhausCSV,
		imported: map[Type]int{URL: 3}, errors: []string{},
	}, {
		// Commented quoted header; 3 samples, each with a SHA-256, an MD5
		// and a SHA-1; "n/a" signature on the first is no family.
		name: "malwarebazaar csv", file: "malwarebazaar-recent.csv", format: MalwareBazaarCSV,
		imported: map[Type]int{SHA256: 3, MD5: 3, SHA1: 3}, errors: []string{},
	}, {
		// 6 IOCs: ip:port (v4), domain (upper case, normalised), url,
		// sha256 (upper case), ip:port in brackets (v6), and a
		// sha3_384_hash, a type herd does not match: skipped, no error.
		name: "threatfox csv", file: "threatfox-recent.csv", format: ThreatFoxCSV,
		imported: map[Type]int{IPv4: 1, Domain: 1, URL: 1, SHA256: 1, IPv6: 1}, skipped: 1, errors: []string{},
	}, {
		// 5 ids, 6 IOCs (1700002 has a sha256 and an md5); 1700001's
		// address 198.51.100.300 is invalid: skipped with an error at
		// the line its list ends on.
		name: "threatfox json", file: "threatfox-recent.json", format: ThreatFoxJSON,
		imported: map[Type]int{IPv4: 1, Domain: 1, URL: 1, SHA256: 1, MD5: 1}, skipped: 1,
		errors: []string{`line 90: "198.51.100.300:80" is not an address and port`},
	}, {
		// The API's get_iocs answer: 5 IOCs under "data", with "ioc" for
		// the value and tags as a list; the sha3_384_hash is skipped
		// without an error.
		name: "threatfox api", file: "threatfox-api-get-iocs.json", format: ThreatFoxJSON,
		imported: map[Type]int{Domain: 1, IPv4: 1, URL: 1, SHA256: 1}, skipped: 1, errors: []string{},
	}, {
		// 6 objects, 3 indicators: the QakBot IP (valid until
		// 2026-12-30, AND-ed with dst_port 443 so it carries the port),
		// the Mirai SHA-256, and a revoked domain: withdrawn.
		name: "stix bundle", file: "stix21-indicator-bundle.json", format: STIX21,
		imported: map[Type]int{IPv4: 1, SHA256: 1}, withdrawn: 1, errors: []string{},
	}, {
		// 8 indicators: (1) OR of ipv4, ipv6, domain → 3; (2) OR of three
		// hashes → 3; (3) valid_until 2026-06-01 has passed: withdrawn;
		// (4) snort pattern: skipped; (5) IN list of 2 addresses AND-ed
		// with dst_port → 2 ipv4; (6) unterminated bracket: skipped with
		// an error; (7) process name AND an ipv4 CIDR → 1 process, 1
		// ipv4; (8) only a LIKE on a registry key: skipped, no error.
		name: "stix or, expired, cidr", file: "stix21-or-expired.json", format: STIX21,
		imported: map[Type]int{IPv4: 4, IPv6: 1, Domain: 1, SHA256: 1, MD5: 1, SHA1: 1, Process: 1}, skipped: 3, withdrawn: 1,
		errors: []string{`line 67 (indicator--00000000-0000-4000-8000-000000000006): pattern: expected "]", found ""`},
	}, {
		// 3 attributes: ip-dst|port with to_ids → ipv4 with port 443; a
		// domain with to_ids false: skipped; an md5 with to_ids.
		name: "misp event", file: "misp-event-5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f.json", format: MISPEvent,
		imported: map[Type]int{IPv4: 1, MD5: 1}, skipped: 1, errors: []string{},
	}, {
		// 7 event attributes: sha256 ("1" as to_ids) → 1; deleted ip-src:
		// skipped; domain|ip → domain + ipv6; ip-dst CIDR → ipv4;
		// email-src: skipped; "not-a-hash": skipped with an error; value
		// given as an array: skipped with an error. Objects: file
		// (filename to_ids false: skipped; filename|sha1 → sha1;
		// size-in-bytes: skipped), domain-ip (hostname → domain;
		// port 99999: skipped with an error). Malformed attributes are
		// reported while reading, the others when the event is done.
		name: "misp event with objects", file: "misp-event-objects.json", format: MISPEvent,
		imported: map[Type]int{SHA256: 1, Domain: 2, IPv6: 1, IPv4: 1, SHA1: 1}, skipped: 7,
		errors: []string{
			`line 12: malformed attribute: json: cannot unmarshal object or array into Go struct field mispAttr.value of type string`,
			`line 11: md5: "not-a-hash" is not a md5 hash (32 hex digits)`,
			`line 23 (object "domain-ip" attribute 2): ip-dst|port: "99999" is not a port number`,
		},
	}, {
		name: "misp manifest", file: "misp-feed-manifest.json", format: MISPManifest,
		imported: map[Type]int{}, errors: []string{},
	}, {
		name: "shadowserver sinkhole", file: "shadowserver-event4-sinkhole.csv", format: ShadowserverSinkhole,
		imported: map[Type]int{}, errors: []string{}, err: ErrNotIndicators,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, res, err := parseFile(t, tc.file)
			if f != tc.format {
				t.Fatalf("Detect = %q, want %q", f, tc.format)
			}
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !maps.Equal(res.Imported, tc.imported) {
				t.Errorf("imported = %v, want %v", res.Imported, tc.imported)
			}
			if res.Skipped != tc.skipped {
				t.Errorf("skipped = %d, want %d", res.Skipped, tc.skipped)
			}
			if !slices.Equal(res.Errors, tc.errors) {
				t.Errorf("errors = %q, want %q", res.Errors, tc.errors)
			}
			if res.Withdrawn != tc.withdrawn {
				t.Errorf("withdrawn = %d, want %d", res.Withdrawn, tc.withdrawn)
			}
			if n, w := countIndicators(res.Indicators); n != res.Total() || w != res.Withdrawn {
				t.Errorf("%d indicators and %d withdrawals, %d and %d counted", n, w, res.Total(), res.Withdrawn)
			}
		})
	}
}

// TestValues checks normalised values and metadata of chosen indicators.
func TestValues(t *testing.T) {
	find := func(t *testing.T, file string, typ Type, value string) Indicator {
		t.Helper()
		_, res, _ := parseFile(t, file)
		for _, i := range res.Indicators {
			if i.Type == typ && i.Value == value {
				return i
			}
		}
		t.Fatalf("%s: no %s %s in %+v", file, typ, value, res.Indicators)
		return Indicator{}
	}
	t.Run("feodo port and family", func(t *testing.T) {
		i := find(t, "feodo-ipblocklist.csv", IPv4, "203.0.113.77")
		if i.Port != 443 || i.Family != "QakBot" || i.Source != "feodotracker" ||
			!i.FirstSeen.Equal(time.Date(2025, 12, 30, 13, 56, 31, 0, time.UTC)) {
			t.Errorf("got %+v", i)
		}
	})
	t.Run("urlhaus tags", func(t *testing.T) {
		i := find(t, "urlhaus-csv.txt", URL, "http://192.0.2.55:37352/bin.sh")
		if !slices.Equal(i.Tags, []string{"32-bit", "elf", "mips", "Mozi"}) {
			t.Errorf("tags = %q", i.Tags)
		}
		if j := find(t, "urlhaus-csv.txt", URL, "https://bad.example.test/loader.bin"); len(j.Tags) != 0 || !j.LastSeen.IsZero() {
			t.Errorf("empty fields: %+v", j)
		}
	})
	t.Run("bazaar n/a family", func(t *testing.T) {
		if i := find(t, "malwarebazaar-recent.csv", SHA256, "a14235ff31e2e7d82fd53dfd88c2d09177cfcd8dd1bbfb624fe61928d457e8d6"); i.Family != "" {
			t.Errorf("family = %q", i.Family)
		}
		if i := find(t, "malwarebazaar-recent.csv", SHA1, "6c3adfc342bcd39f93e5d301829c9f14643bd499"); i.Family != "Mirai" {
			t.Errorf("family = %q", i.Family)
		}
	})
	t.Run("threatfox lowercase and v6 port", func(t *testing.T) {
		if i := find(t, "threatfox-recent.csv", Domain, "c2-panel.example.test"); i.Confidence != 75 || i.Family != "Remcos" {
			t.Errorf("got %+v", i)
		}
		if i := find(t, "threatfox-recent.csv", IPv6, "2001:db8::15"); i.Port != 8443 {
			t.Errorf("port = %d", i.Port)
		}
		if i := find(t, "threatfox-recent.json", URL, "https://drop.example.test/stage2.bin"); i.Family != "" {
			t.Errorf("unknown malware family = %q", i.Family)
		}
		if i := find(t, "threatfox-recent.json", Domain, "c2-panel.example.test"); !slices.Equal(i.Tags, []string{"c2", "Remcos"}) {
			t.Errorf("export tags = %q", i.Tags)
		}
	})
	t.Run("threatfox api", func(t *testing.T) {
		i := find(t, "threatfox-api-get-iocs.json", Domain, "c2.dridex.example.test")
		if i.Family != "Dridex" || i.Confidence != 50 || i.Source != "threatfox" || !slices.Equal(i.Tags, []string{"exe", "Dridex"}) ||
			!i.FirstSeen.Equal(time.Date(2026, 11, 30, 13, 36, 27, 0, time.UTC)) || !i.LastSeen.IsZero() {
			t.Errorf("got %+v", i)
		}
		if j := find(t, "threatfox-api-get-iocs.json", IPv4, "198.51.100.45"); j.Port != 8443 || j.Family != "Cobalt Strike" ||
			!j.LastSeen.Equal(time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)) {
			t.Errorf("got %+v", j)
		}
		if k := find(t, "threatfox-api-get-iocs.json", SHA256, "a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8"); k.Family != "Mirai" {
			t.Errorf("got %+v", k)
		}
	})
	t.Run("stix family from relationship, port from AND", func(t *testing.T) {
		i := find(t, "stix21-indicator-bundle.json", IPv4, "203.0.113.77")
		if i.Family != "QakBot" || i.Port != 443 || i.Confidence != 75 || i.Source != "Example CTI Producer" {
			t.Errorf("got %+v", i)
		}
		if j := find(t, "stix21-or-expired.json", IPv4, "198.51.100.8"); j.Port != 8443 {
			t.Errorf("port = %d", j.Port)
		}
		find(t, "stix21-or-expired.json", IPv4, "203.0.113.0/24")
		find(t, "stix21-or-expired.json", Domain, "evil.example.test")
	})
	t.Run("misp source, port, galaxy family", func(t *testing.T) {
		i := find(t, "misp-event-5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f.json", IPv4, "203.0.113.77")
		if i.Port != 443 || i.Source != "EXAMPLE-CERT" || !i.FirstSeen.Equal(time.Unix(1796046300, 0)) {
			t.Errorf("got %+v", i)
		}
		if j := find(t, "misp-event-objects.json", Domain, "cnc.example.test"); j.Family != "Mirai (ELF)" {
			t.Errorf("attribute tag family = %q", j.Family)
		}
		if j := find(t, "misp-event-objects.json", SHA256, "a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8"); j.Family != "Mirai" {
			t.Errorf("event tag family = %q", j.Family)
		}
	})
}

func TestManifestEvents(t *testing.T) {
	_, res, err := parseFile(t, "misp-feed-manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []ManifestEvent{{
		UUID: "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f", Info: "QakBot C2 infrastructure - November 2026", Date: "2026-11-30",
		Timestamp: time.Unix(1796046300, 0).UTC(), Org: "EXAMPLE-CERT", ThreatLevel: 2, Tags: []string{"tlp:white", "type:OSINT"},
	}, {
		// numbers as strings
		UUID: "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e60", Info: "Mirai loader hashes", Date: "2026-11-29",
		Timestamp: time.Unix(1795958400, 0).UTC(), Org: "EXAMPLE-CERT", ThreatLevel: 3, Tags: []string{"tlp:white"},
	}}
	if len(res.Events) != len(want) {
		t.Fatalf("events = %+v", res.Events)
	}
	for i := range want {
		g, w := res.Events[i], want[i]
		if g.UUID != w.UUID || g.Info != w.Info || g.Date != w.Date || !g.Timestamp.Equal(w.Timestamp) ||
			g.Org != w.Org || g.ThreatLevel != w.ThreatLevel || !slices.Equal(g.Tags, w.Tags) {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestDetectIgnoresName(t *testing.T) {
	b, err := os.ReadFile("testdata/feodo-ipblocklist.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stix.json", "urlhaus.csv", "misp-manifest.json", ""} {
		if f := Detect(name, b); f != FeodoCSV {
			t.Errorf("Detect(%q) = %q", name, f)
		}
	}
	for _, tc := range []struct {
		name string
		head string
		want Format
	}{
		{"empty", "", Unknown},
		{"plain text", "hello, world\n", Unknown},
		{"json number", "42", Unknown},
		{"bom csv", "\xef\xbb\xbf# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\"\n", ThreatFoxCSV},
		{"empty feodo json", "[]", FeodoJSON},
		{"threatfox api", `{"query_status": "ok", "data": [{"id": "41", "ioc": "gaga.example.test", "threat_type": "botnet_cc", "ioc_type": "domain"}]}`, ThreatFoxJSON},
		{"threatfox api, ioc_type first", `{"query_status":"ok","data":[{"ioc_type":"domain","ioc":"gaga.example.test"}]}`, ThreatFoxJSON},
		{"malwarebazaar api is no threatfox", `{"query_status": "ok", "data": [{"sha256_hash": "aa", "file_type": "exe"}]}`, Unknown},
		{"misp response", `{"response": [{"Event": {}}]}`, MISPEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Detect("x", []byte(tc.head)); got != tc.want {
				t.Errorf("Detect = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestImport(t *testing.T) {
	f, err := os.Open("testdata/urlhaus-csv.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []Indicator
	res, err := Import(f, "urlhaus-csv.txt", Options{Source: "my-urlhaus", Emit: func(i Indicator) error {
		got = append(got, i)
		return nil
	}})
	if err != nil || res.Format != URLhausCSV || res.Imported[URL] != 3 || len(res.Indicators) != 0 {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
	if len(got) != 3 || got[0].Source != "my-urlhaus" {
		t.Errorf("emitted %+v", got)
	}
	if _, err := Import(strings.NewReader("hello"), "x.txt", Options{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown: err = %v", err)
	}
	stop := errors.New("store is full")
	res, err = Import(strings.NewReader(mustRead(t, "feodo-ipblocklist.csv")), "f", Options{Emit: func(Indicator) error { return stop }})
	if !errors.Is(err, stop) || res.Total() != 0 {
		t.Errorf("emit error: res = %+v, err = %v", res, err)
	}
}

func mustRead(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMalformedAndTruncated runs variants of the samples made here.
func TestMalformedAndTruncated(t *testing.T) {
	feodo := mustRead(t, "feodo-ipblocklist.csv")
	bazaar := mustRead(t, "malwarebazaar-recent.csv")
	feodoJSON := mustRead(t, "feodo-ipblocklist.json")
	stix := mustRead(t, "stix21-indicator-bundle.json")
	misp := mustRead(t, "misp-event-5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f.json")
	tests := []struct {
		name     string
		input    string
		format   Format
		imported map[Type]int
		skipped  int
		errors   []string
		err      error
	}{{
		name: "feodo bad rows",
		input: feodo + `"2021-01-17 07:44:46","192.0.2.300","4643","online","2026-11-30","Dridex"` + "\n" +
			`"2021-01-17 07:44:46","192.0.2.11","70000","online","2026-11-30","Dridex"` + "\n" +
			`"2021-01-17 07:44:46","192.0.2.12","443","online"` + "\n" +
			`"2021-01-17 07:44:46,"192.0.2.13","443","online","2026-11-30","Dridex"` + "\n" +
			"\n# trailing comment\n" +
			`"2021-01-17 07:44:46","2001:DB8::1","443","online","2026-11-30","Dridex"` + "\n",
		format:   FeodoCSV,
		imported: map[Type]int{IPv4: 3, IPv6: 1}, skipped: 4,
		errors: []string{
			`line 13: "192.0.2.300" is not an IP address`,
			`line 14: "70000" is not a port number`,
			`line 15: 4 fields, the header has 6`,
			`line 16: bad quoting: extraneous or missing " in quoted-field`,
		},
	}, {
		// Cut in the middle of the third sample's sha1.
		name:     "bazaar truncated",
		input:    bazaar[:strings.Index(bazaar, `"f0080bf7`)+10],
		format:   MalwareBazaarCSV,
		imported: map[Type]int{SHA256: 2, MD5: 2, SHA1: 2}, skipped: 1,
		errors: []string{`line 12: bad quoting: extraneous or missing " in quoted-field`},
		err:    ErrTruncated,
	}, {
		// A cut right after a complete row without its newline is fine.
		name:     "feodo without final newline",
		input:    strings.TrimSuffix(feodo, "\n"),
		format:   FeodoCSV,
		imported: map[Type]int{IPv4: 3}, errors: []string{},
	}, {
		name:     "csv without header",
		input:    "# nothing here\n\"1\",\"2\"\n",
		format:   URLhausCSV,
		imported: map[Type]int{}, skipped: 1,
		errors: []string{"line 2: data before the header line"},
		err:    ErrFormat,
	}, {
		// Cut inside the third object.
		name:     "feodo json truncated",
		input:    feodoJSON[:strings.Index(feodoJSON, `"203.0.113.77"`)],
		format:   FeodoJSON,
		imported: map[Type]int{IPv4: 2}, errors: []string{}, err: ErrTruncated,
	}, {
		name:     "feodo json wrong types",
		input:    `[{"ip_address": "192.0.2.1", "port": "8080"}, {"ip_address": {"x": 1}}, ["192.0.2.2"], {"ip_address": "192.0.2.3", "port": 443}]`,
		format:   FeodoJSON,
		imported: map[Type]int{IPv4: 2}, skipped: 2,
		errors: []string{
			"line 1: malformed entry: json: cannot unmarshal object or array into Go struct field .ip_address of type string",
			"line 1: malformed entry: json: cannot unmarshal array into Go value of type struct { IP intel.flex \"json:\\\"ip_address\\\"\"; Port intel.flex \"json:\\\"port\\\"\"; Status intel.flex \"json:\\\"status\\\"\"; Malware intel.flex \"json:\\\"malware\\\"\"; FirstSeen intel.flex \"json:\\\"first_seen\\\"\"; LastSeen intel.flex \"json:\\\"last_online\\\"\" }",
		},
	}, {
		name:     "feodo json not a list",
		input:    `{"ip_address": "192.0.2.1"}`,
		format:   FeodoJSON,
		imported: map[Type]int{}, errors: []string{}, err: ErrFormat,
	}, {
		// Cut after the first indicator: it is kept.
		name:     "stix truncated",
		input:    stix[:strings.Index(stix, `"indicator--c410e480`)],
		format:   STIX21,
		imported: map[Type]int{IPv4: 1}, errors: []string{}, err: ErrTruncated,
	}, {
		// A bad valid_until is reported before the bad pattern is read.
		name:     "stix garbage",
		input:    `{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '192.0.2.1'", "valid_until": "soon"}]}`,
		format:   STIX21,
		imported: map[Type]int{}, skipped: 1,
		errors: []string{`line 1 (indicator--1): valid_until "soon" is not a timestamp`},
	}, {
		name:     "misp truncated",
		input:    misp[:strings.Index(misp, `"type": "md5"`)],
		format:   MISPEvent,
		imported: map[Type]int{IPv4: 1}, skipped: 1, errors: []string{}, err: ErrTruncated,
	}, {
		name:     "misp without event",
		input:    `{"Events": []}`,
		format:   MISPEvent,
		imported: map[Type]int{}, errors: []string{}, err: ErrFormat,
	}, {
		name:     "manifest bad entries",
		input:    `{"not-a-uuid": {"info": "x"}, "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f": [1], "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e61": {"info": "ok", "timestamp": "1795958400"}}`,
		format:   MISPManifest,
		imported: map[Type]int{}, skipped: 2,
		errors: []string{
			`line 1: "not-a-uuid" is not an event UUID`,
			`line 1: event "5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f": malformed entry: json: cannot unmarshal array into Go value of type struct { Info intel.flex "json:\"info\""; Date intel.flex "json:\"date\""; Timestamp intel.flex "json:\"timestamp\""; ThreatLevel intel.flex "json:\"threat_level_id\""; Tag []intel.mispTag "json:\"Tag\""; Orgc struct { Name intel.flex "json:\"name\"" } "json:\"Orgc\"" }`,
		},
	}, {
		name:     "threatfox api, no result",
		input:    `{"query_status": "no_result", "data": "Your search did not yield any results"}`,
		format:   ThreatFoxJSON,
		imported: map[Type]int{}, errors: []string{},
	}, {
		name:     "threatfox api, refused",
		input:    `{"query_status": "unknown_auth_key", "data": "x"}`,
		format:   ThreatFoxJSON,
		imported: map[Type]int{}, errors: []string{}, err: ErrFormat,
	}, {
		name:     "threatfox api, a malformed IOC",
		input:    "{\"query_status\": \"ok\", \"data\": [\n{\"ioc\": {\"x\": 1}, \"ioc_type\": \"domain\"},\n{\"ioc\": \"ok.example.test\", \"ioc_type\": \"domain\"}]}",
		format:   ThreatFoxJSON,
		imported: map[Type]int{Domain: 1}, skipped: 1,
		errors: []string{`line 2: malformed IOC: json: cannot unmarshal object or array into Go struct field tfJSON.ioc of type string`},
	}, {
		name:     "threatfox api truncated",
		input:    mustRead(t, "threatfox-api-get-iocs.json")[:strings.Index(mustRead(t, "threatfox-api-get-iocs.json"), `"id": "1700103"`)],
		format:   ThreatFoxJSON,
		imported: map[Type]int{Domain: 1, IPv4: 1}, errors: []string{}, err: ErrTruncated,
	}, {
		name:     "unknown format",
		input:    "x",
		format:   Format("pdf"),
		imported: map[Type]int{}, errors: []string{}, err: ErrUnknownFormat,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseWith(strings.NewReader(tc.input), tc.format, Options{Now: func() time.Time { return now }})
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if !maps.Equal(res.Imported, tc.imported) {
				t.Errorf("imported = %v, want %v", res.Imported, tc.imported)
			}
			if res.Skipped != tc.skipped {
				t.Errorf("skipped = %d, want %d", res.Skipped, tc.skipped)
			}
			if !slices.Equal(res.Errors, tc.errors) {
				t.Errorf("errors = %q\nwant %q", res.Errors, tc.errors)
			}
		})
	}
}

func TestSTIXExpiry(t *testing.T) {
	b := mustRead(t, "stix21-indicator-bundle.json")
	later := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	res, err := ParseWith(strings.NewReader(b), STIX21, Options{Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	// The QakBot IP's valid_until (2026-12-30) has passed; the hash has no
	// valid_until; the domain is revoked: both are withdrawn.
	if !maps.Equal(res.Imported, map[Type]int{SHA256: 1}) || res.Skipped != 0 || res.Withdrawn != 2 {
		t.Errorf("imported = %v, skipped = %d, withdrawn = %d", res.Imported, res.Skipped, res.Withdrawn)
	}
	var got []string
	for _, in := range res.Indicators {
		got = append(got, fmt.Sprintf("%s %s %d %v", in.Type, in.Value, in.Port, in.Withdrawn))
	}
	if want := []string{"ipv4 203.0.113.77 443 true", "sha256 a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8 0 false", "domain ewmc.example.test 0 true"}; !slices.Equal(got, want) {
		t.Errorf("indicators = %q, want %q", got, want)
	}
}

func TestErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n")
	for range MaxErrors + 5 {
		b.WriteString(`"2021-01-17 07:44:46","bad","1","online","2026-11-30","X"` + "\n")
	}
	res, err := Parse(strings.NewReader(b.String()), FeodoCSV)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != MaxErrors+5 || len(res.Errors) != MaxErrors+1 || res.Errors[MaxErrors] != "… and 5 more errors" {
		t.Errorf("skipped %d, %d errors, last %q", res.Skipped, len(res.Errors), res.Errors[len(res.Errors)-1])
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		typ     Type
		in      string
		outType Type
		out     string
		bad     bool
	}{
		{"v4", IPv4, " 192.0.2.1 ", IPv4, "192.0.2.1", false},
		{"loopback kept", IPv4, "127.0.0.1", IPv4, "127.0.0.1", false},
		{"mapped v6 is v4", IPv4, "::ffff:192.0.2.1", IPv4, "192.0.2.1", false},
		{"v6 lowercase", IPv6, "2001:DB8:0::1", IPv6, "2001:db8::1", false},
		{"v6 asked as v4", IPv4, "2001:db8::1", "", "", true},
		{"cidr masked", IPv4, "192.0.2.7/24", IPv4, "192.0.2.0/24", false},
		{"host cidr", IPv4, "192.0.2.7/32", IPv4, "192.0.2.7", false},
		{"a /16 is the widest v4 network", IPv4, "198.51.7.9/16", IPv4, "198.51.0.0/16", false},
		{"wider than /16", IPv4, "198.50.0.0/15", "", "", true},
		{"v4 any address", IPv4, "0.0.0.0/0", "", "", true},
		{"v4 unspecified", IPv4, "0.0.0.0", "", "", true},
		{"v4 net with the unspecified address", IPv4, "0.0.0.0/24", "", "", true},
		{"a /32 is the widest v6 network", IPv6, "2001:db8::/32", IPv6, "2001:db8::/32", false},
		{"wider than /32", IPv6, "2001:db8::/31", "", "", true},
		{"v6 any address", IPv6, "::/0", "", "", true},
		{"v6 unspecified", IPv6, "::", "", "", true},
		{"mapped any address", IPv4, "::ffff:0.0.0.0/96", "", "", true},
		{"multicast", IPv4, "224.0.0.251", "", "", true},
		{"broadcast", IPv4, "255.255.255.255", "", "", true},
		{"link-local metadata", IPv4, "169.254.169.254", "", "", true},
		{"v6 link-local", IPv6, "fe80::1", "", "", true},
		{"zone", IPv6, "fe80::1%eth0", "", "", true},
		{"domain", Domain, "Evil.Example.TEST.", Domain, "evil.example.test", false},
		{"single label", Domain, "localhost", "", "", true},
		{"domain with space", Domain, "a b.test", "", "", true},
		{"ip as domain", Domain, "192.0.2.1", "", "", true},
		{"url", URL, "HTTP://Bad.Example.TEST/Path?q=1", URL, "http://bad.example.test/Path?q=1", false},
		{"relative url", URL, "/bin.sh", "", "", true},
		{"sha256", SHA256, "A788ACF214C7D24112A1B3B8038010F2A28F252D07997184BD5C7F14D05DAFC8", SHA256, "a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8", false},
		{"short md5", MD5, "406a4a9f", "", "", true},
		{"non-hex sha1", SHA1, "zzd35f9020f5a4f06d08b3928e892c5858ba8c41", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gt, gv, err := Normalize(tc.typ, tc.in)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v", err)
			}
			if gt != tc.outType || gv != tc.out {
				t.Errorf("got %s %q, want %s %q", gt, gv, tc.outType, tc.out)
			}
		})
	}
}

// TestTruncatedJSONLine: a JSON feed cut mid-file is reported at the line
// where the input ended, not where the value being read began.
func TestTruncatedJSONLine(t *testing.T) {
	feodoJSON := mustRead(t, "feodo-ipblocklist.json")
	stix := mustRead(t, "stix21-indicator-bundle.json")
	tests := []struct {
		name   string
		input  string
		format Format
	}{
		{"feodo json cut at byte 300", feodoJSON[:300], FeodoJSON},
		{"feodo json cut at byte 700", feodoJSON[:700], FeodoJSON},
		{"threatfox json cut at byte 300", mustRead(t, "threatfox-recent.json")[:300], ThreatFoxJSON},
		{"misp manifest cut at byte 300", mustRead(t, "misp-feed-manifest.json")[:300], MISPManifest},
		{"stix cut at byte 300", stix[:300], STIX21},
		{"stix cut at byte 900", stix[:900], STIX21},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The last line of the cut input is where parsing stopped.
			want := fmt.Sprintf("line %d: ", strings.Count(tc.input, "\n")+1)
			res, err := Import(strings.NewReader(tc.input), "cut", Options{Now: func() time.Time { return now }})
			if res.Format != tc.format {
				t.Fatalf("read as %q, want %q", res.Format, tc.format)
			}
			if want = "cut: " + want; !errors.Is(err, ErrTruncated) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %v, want ErrTruncated at %q", err, want)
			}
		})
	}
}

// TestNotSpecific: an indicator that would match every device (a /0, a
// very wide network, the unspecified address) is refused by every
// importer and counted as a skipped record with its line and reason; a
// network tied to a port keeps its port.
func TestNotSpecific(t *testing.T) {
	mispEvent := `{"Event": {"Orgc": {"name": "CERT-X"}, "Attribute": [
{"type": "ip-dst", "to_ids": true, "value": "0.0.0.0/0"},
{"type": "ip-dst", "to_ids": true, "value": "::/0"},
{"type": "ip-dst|port", "to_ids": true, "value": "198.51.100.0/24|8080"},
{"type": "ip-dst", "to_ids": true, "value": "0.0.0.0"},
{"type": "ip-src", "to_ids": true, "value": "10.0.0.0/8"},
{"type": "ip-dst", "to_ids": true, "value": "203.0.113.0/24"}
]}}`
	stix := `{"type": "bundle", "objects": [
{"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '0.0.0.0/0']"},
{"type": "indicator", "id": "indicator--2", "pattern": "[network-traffic:dst_ref.value = '198.51.100.0/24' AND network-traffic:dst_port = 443]"},
{"type": "indicator", "id": "indicator--3", "pattern": "[network-traffic:dst_ref.value = '::/0' AND network-traffic:dst_port = 443]"}
]}`
	feodo := `"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n" +
		`"2026-11-01 00:00:00","0.0.0.0","443","online","2026-11-30","Dridex"` + "\n" +
		`"2026-11-01 00:00:00","192.0.2.10","443","online","2026-11-30","Dridex"` + "\n"
	threatfox := `{"1": [{"ioc_value": "0.0.0.0:443", "ioc_type": "ip:port", "malware_printable": "X"}], "2": [{"ioc_value": "[::]:443", "ioc_type": "ip:port"}]}`
	tests := []struct {
		name     string
		input    string
		format   Format
		imported map[Type]int
		skipped  int
		errors   []string
		values   []string // "type value port" of every indicator
	}{{
		name: "misp", input: mispEvent, format: MISPEvent,
		imported: map[Type]int{IPv4: 2}, skipped: 4,
		errors: []string{
			`line 2: ip-dst: 0.0.0.0/0 is too broad: a network indicator is at most a /16 (IPv4) or a /32 (IPv6)`,
			`line 3: ip-dst: ::/0 is too broad: a network indicator is at most a /16 (IPv4) or a /32 (IPv6)`,
			`line 5: ip-dst: 0.0.0.0 is the unspecified address, which no server has`,
			`line 6: ip-src: 10.0.0.0/8 is too broad: a network indicator is at most a /16 (IPv4) or a /32 (IPv6)`,
		},
		values: []string{"ipv4 198.51.100.0/24 8080", "ipv4 203.0.113.0/24 0"},
	}, {
		name: "stix", input: stix, format: STIX21,
		imported: map[Type]int{IPv4: 1}, skipped: 2,
		errors: []string{
			`line 2 (indicator--1): ipv4-addr:value: 0.0.0.0/0 is too broad: a network indicator is at most a /16 (IPv4) or a /32 (IPv6)`,
			`line 4 (indicator--3): network-traffic:dst_ref.value: ::/0 is too broad: a network indicator is at most a /16 (IPv4) or a /32 (IPv6)`,
		},
		values: []string{"ipv4 198.51.100.0/24 443"},
	}, {
		name: "feodo", input: feodo, format: FeodoCSV,
		imported: map[Type]int{IPv4: 1}, skipped: 1,
		errors: []string{`line 2: 0.0.0.0 is the unspecified address, which no server has`},
		values: []string{"ipv4 192.0.2.10 443"},
	}, {
		name: "threatfox", input: threatfox, format: ThreatFoxJSON,
		imported: map[Type]int{}, skipped: 2,
		errors: []string{
			`line 1: 0.0.0.0 is the unspecified address, which no server has`,
			`line 1: :: is the unspecified address, which no server has`,
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseWith(strings.NewReader(tc.input), tc.format, Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(res.Imported, tc.imported) || res.Skipped != tc.skipped {
				t.Errorf("imported = %v, skipped = %d; want %v, %d", res.Imported, res.Skipped, tc.imported, tc.skipped)
			}
			if !slices.Equal(res.Errors, tc.errors) {
				t.Errorf("errors = %q\nwant %q", res.Errors, tc.errors)
			}
			var got []string
			for _, in := range res.Indicators {
				got = append(got, fmt.Sprintf("%s %s %d", in.Type, in.Value, in.Port))
			}
			if !slices.Equal(got, tc.values) {
				t.Errorf("indicators = %q, want %q", got, tc.values)
			}
		})
	}
}

// TestProcessNames: STIX process:name (and the name of a process's image
// file) and MISP process objects give process-name indicators; a name
// every ordinary computer runs is refused; a bare file name is not a
// process.
func TestProcessNames(t *testing.T) {
	stix := `{"type": "bundle", "objects": [
{"type": "indicator", "id": "indicator--1", "pattern": "[process:name = 'XMRig']"},
{"type": "indicator", "id": "indicator--2", "pattern": "[process:image_ref.name = 'EvilLoader.exe']"},
{"type": "indicator", "id": "indicator--3", "pattern": "[process:name = 'svchost.exe']"},
{"type": "indicator", "id": "indicator--4", "pattern": "[file:name = 'dropper.exe' AND process:pid = 4]"},
{"type": "indicator", "id": "indicator--5", "pattern": "[file:name = 'readme.txt']"},
{"type": "indicator", "id": "indicator--6", "pattern": "[process:binary_ref.name = 'C:\\\\Windows\\\\explorer.exe']"}
]}`
	misp := `{"Event": {"Orgc": {"name": "CERT-X"}, "Attribute": [
{"type": "filename", "to_ids": true, "value": "invoice.pdf.exe"}
], "Object": [
{"name": "process", "Attribute": [
 {"type": "text", "object_relation": "name", "to_ids": true, "value": "kworkerds"},
 {"type": "filename", "object_relation": "image", "to_ids": true, "value": "/tmp/.x/kdevtmpfsi"},
 {"type": "text", "object_relation": "pid", "to_ids": false, "value": "4242"},
 {"type": "text", "object_relation": "name", "to_ids": true, "value": "bash"}
]},
{"name": "file", "Attribute": [
 {"type": "filename", "object_relation": "filename", "to_ids": true, "value": "payload.bin"}
]}
]}}`
	tests := []struct {
		name     string
		input    string
		format   Format
		imported map[Type]int
		skipped  int
		errors   []string
		values   []string
	}{{
		name: "stix", input: stix, format: STIX21,
		imported: map[Type]int{Process: 3}, skipped: 3,
		errors: []string{
			`line 4 (indicator--3): process:name: "svchost.exe" is the name of a program found on ordinary computers, not of malware`,
			`line 7 (indicator--6): process:binary_ref.name: "explorer.exe" is the name of a program found on ordinary computers, not of malware`,
		},
		values: []string{"process xmrig", "process evilloader.exe", "process dropper.exe"},
	}, {
		// The flat filename is a file, not a process: skipped without an
		// error, as is the file object's file name; the pid is not for
		// detection.
		name: "misp", input: misp, format: MISPEvent,
		imported: map[Type]int{Process: 2}, skipped: 4,
		errors: []string{
			`line 9 (object "process" attribute 4): text: "bash" is the name of a program found on ordinary computers, not of malware`,
		},
		values: []string{"process kworkerds", "process kdevtmpfsi"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseWith(strings.NewReader(tc.input), tc.format, Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(res.Imported, tc.imported) || res.Skipped != tc.skipped {
				t.Errorf("imported = %v, skipped = %d; want %v, %d", res.Imported, res.Skipped, tc.imported, tc.skipped)
			}
			if !slices.Equal(res.Errors, tc.errors) {
				t.Errorf("errors = %q\nwant %q", res.Errors, tc.errors)
			}
			var got []string
			for _, in := range res.Indicators {
				got = append(got, fmt.Sprintf("%s %s", in.Type, in.Value))
			}
			if !slices.Equal(got, tc.values) {
				t.Errorf("indicators = %q, want %q", got, tc.values)
			}
		})
	}
}

// TestDistinctCounts: an indicator a file lists twice counts once, and a
// Tally over several files counts each indicator once, with every type.
func TestDistinctCounts(t *testing.T) {
	feodo := mustRead(t, "feodo-ipblocklist.csv")
	rows := feodo[strings.Index(feodo, "\n\"20")+1:]
	twice := feodo + rows // the three C2s listed again
	res, err := Parse(strings.NewReader(twice), FeodoCSV)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(res.Imported, map[Type]int{IPv4: 3}) || len(res.Indicators) != 6 {
		t.Errorf("imported = %v from %d listings, want 3 distinct from 6", res.Imported, len(res.Indicators))
	}
	_, feodoJSON, err := parseFile(t, "feodo-ipblocklist.json")
	if err != nil {
		t.Fatal(err)
	}
	_, bazaar, err := parseFile(t, "malwarebazaar-recent.csv")
	if err != nil {
		t.Fatal(err)
	}
	var tally Tally
	for _, r := range []Result{res, feodoJSON, bazaar} {
		tally.Add(r)
	}
	want := map[Type]int{IPv4: 3, IPv6: 0, Domain: 0, URL: 0, SHA256: 3, SHA1: 3, MD5: 3, Process: 0}
	if got := tally.Counts(); !maps.Equal(got, want) {
		t.Errorf("tally = %v, want %v", got, want)
	}
}

// TestByteOrderMark: a file starting with a UTF-8 byte-order mark reads
// as the same file without it, whatever its format.
func TestByteOrderMark(t *testing.T) {
	for _, name := range []string{"feodo-ipblocklist.csv", "feodo-ipblocklist.json", "urlhaus-csv.txt", "threatfox-recent.json", "stix21-indicator-bundle.json", "misp-event-5f0c2a1e-1b2c-4d3e-9f40-0a1b2c3d4e5f.json"} {
		t.Run(name, func(t *testing.T) {
			b := mustRead(t, name)
			opts := Options{Now: func() time.Time { return now }}
			plain, perr := Import(strings.NewReader(b), name, opts)
			bom, berr := Import(strings.NewReader("\xef\xbb\xbf"+b), name, opts)
			if perr != nil || berr != nil || !maps.Equal(plain.Imported, bom.Imported) || plain.Skipped != bom.Skipped || !slices.Equal(plain.Errors, bom.Errors) {
				t.Errorf("with a BOM: %v %v %q (%v); without: %v %v %q (%v)", bom.Imported, bom.Skipped, bom.Errors, berr, plain.Imported, plain.Skipped, plain.Errors, perr)
			}
			f := Detect(name, []byte(b))
			direct, err := ParseWith(strings.NewReader("\xef\xbb\xbf"+b), f, opts)
			if err != nil || !maps.Equal(direct.Imported, plain.Imported) {
				t.Errorf("ParseWith with a BOM: %v, %v", direct.Imported, err)
			}
		})
	}
}

// TestSTIXVersions: of several versions of one indicator in a bundle,
// the last modified counts, wherever it stands; a revoked last version
// withdraws the values; valid_until is carried.
func TestSTIXVersions(t *testing.T) {
	v1 := `{"type": "indicator", "id": "indicator--7", "modified": "2026-11-01T00:00:00Z", "pattern": "[ipv4-addr:value = '198.51.100.7']", "valid_until": "2027-01-31T00:00:00Z"}`
	v2 := `{"type": "indicator", "id": "indicator--7", "modified": "2026-11-20T00:00:00Z", "revoked": true, "pattern": "[ipv4-addr:value = '198.51.100.7']"}`
	for _, tc := range []struct {
		name      string
		objects   string
		withdrawn bool
	}{
		{"revoked after", v1 + ", " + v2, true},
		{"revoked listed first", v2 + ", " + v1, true},
		{"only the first version", v1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(`{"type": "bundle", "objects": [`+tc.objects+`]}`), STIX21)
			if err != nil || len(res.Indicators) != 1 {
				t.Fatalf("%+v, %v", res, err)
			}
			in := res.Indicators[0]
			if in.Value != "198.51.100.7" || in.Withdrawn != tc.withdrawn {
				t.Errorf("got %+v, want withdrawn %v", in, tc.withdrawn)
			}
			if !tc.withdrawn && !in.ValidUntil.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("valid_until = %v", in.ValidUntil)
			}
		})
	}
}
