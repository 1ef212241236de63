package intel

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzParse fuzzes one format's parser, seeded with every sample: it
// must never panic, and what it returns must be consistent.
func fuzzParse(f *testing.F, format Format) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, _ := ParseWith(bytes.NewReader(data), format, Options{Now: func() time.Time { return now }})
		if n, w := countIndicators(res.Indicators); n != res.Total() || w != res.Withdrawn {
			t.Fatalf("%d distinct indicators and %d withdrawals, %d and %d counted", n, w, res.Total(), res.Withdrawn)
		}
		if len(res.Errors) > MaxErrors+1 {
			t.Fatalf("%d errors", len(res.Errors))
		}
		for _, ind := range res.Indicators {
			nt, nv, err := Normalize(ind.Type, ind.Value)
			if err != nil || nt != ind.Type || nv != ind.Value {
				t.Fatalf("indicator %+v is not normalised: %s %q %v", ind, nt, nv, err)
			}
		}
	})
}

// countIndicators counts the distinct indicators (by type, value and
// port) and the withdrawals of a parse.
func countIndicators(l []Indicator) (distinct, withdrawn int) {
	seen := map[string]bool{}
	for _, in := range l {
		if in.Withdrawn {
			withdrawn++
			continue
		}
		k := string(in.Type) + " " + in.Value + " " + strconv.Itoa(int(in.Port))
		if !seen[k] {
			seen[k] = true
			distinct++
		}
	}
	return distinct, withdrawn
}

func FuzzFeodoCSV(f *testing.F)         { fuzzParse(f, FeodoCSV) }
func FuzzFeodoJSON(f *testing.F)        { fuzzParse(f, FeodoJSON) }
func FuzzURLhausCSV(f *testing.F)       { fuzzParse(f, URLhausCSV) }
func FuzzMalwareBazaarCSV(f *testing.F) { fuzzParse(f, MalwareBazaarCSV) }
func FuzzThreatFoxCSV(f *testing.F)     { fuzzParse(f, ThreatFoxCSV) }
func FuzzThreatFoxJSON(f *testing.F)    { fuzzParse(f, ThreatFoxJSON) }
func FuzzSTIX(f *testing.F)             { fuzzParse(f, STIX21) }
func FuzzMISPEvent(f *testing.F)        { fuzzParse(f, MISPEvent) }
func FuzzMISPManifest(f *testing.F)     { fuzzParse(f, MISPManifest) }

// FuzzImport runs detection and the parser it picks.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Import(bytes.NewReader(data), "fuzz", Options{})
	})
}

func FuzzSTIXPattern(f *testing.F) {
	for _, p := range []string{
		"[ipv4-addr:value = '203.0.113.77'] AND [network-traffic:dst_port = 443]",
		"[file:hashes.'SHA-256' = 'a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8' OR file:hashes.MD5 = '406a4a9f09f3522bff25b06210ca0818']",
		"([domain-name:value = 'a.test'] OR [url:value = 'http://b.test/x']) FOLLOWEDBY [ipv6-addr:value = '2001:db8::1'] WITHIN 60 SECONDS",
		"[network-traffic:dst_ref.value IN ('198.51.100.7', '198.51.100.8') AND network-traffic:dst_port = 8443] REPEATS 5 TIMES",
		"[x:y NOT LIKE 'a\\'b'] START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z'",
		"[file:size > 10 AND file:hashes.'SHA-1' != h'00']",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		tree, _, err := parseSTIXPattern(pattern)
		if err != nil {
			return
		}
		for _, v := range patternIndicators(tree) {
			if nt, nv, err := Normalize(v.typ, v.value); err != nil || nt != v.typ || nv != v.value {
				t.Fatalf("value %+v is not normalised", v)
			}
		}
	})
}

func TestSTIXPatterns(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    []string // type value[:port]
		bad     bool
	}{
		{"and port", "[ipv4-addr:value = '203.0.113.77'] AND [network-traffic:dst_port = 443]", []string{"ipv4 203.0.113.77:443"}, false},
		{"or ports differ", "([ipv4-addr:value = '192.0.2.1'] AND [network-traffic:dst_port = 80]) OR ([ipv4-addr:value = '192.0.2.2'] AND [network-traffic:dst_port = 81])", []string{"ipv4 192.0.2.1:80", "ipv4 192.0.2.2:81"}, false},
		{"two ports is any port", "[ipv4-addr:value = '192.0.2.1' AND network-traffic:dst_port = 80 AND network-traffic:dst_port = 81]", []string{"ipv4 192.0.2.1"}, false},
		{"negated ignored", "[domain-name:value NOT = 'good.test' AND domain-name:value = 'bad.test']", []string{"domain bad.test"}, false},
		{"sha256 bare name", "[file:hashes.SHA256 = 'A788ACF214C7D24112A1B3B8038010F2A28F252D07997184BD5C7F14D05DAFC8']", []string{"sha256 a788acf214c7d24112a1b3b8038010f2a28f252d07997184bd5c7f14d05dafc8"}, false},
		{"escaped quote", "[url:value = 'http://a.test/it\\'s']", []string{"url http://a.test/it's"}, false},
		{"qualifiers", "[ipv6-addr:value = '2001:db8::1'] REPEATS 2 TIMES WITHIN 10 SECONDS", []string{"ipv6 2001:db8::1"}, false},
		{"no brackets", "ipv4-addr:value = '192.0.2.1'", nil, true},
		{"unterminated string", "[ipv4-addr:value = '192.0.2.1]", nil, true},
		{"missing value", "[ipv4-addr:value = ]", nil, true},
		{"trailing garbage", "[ipv4-addr:value = '192.0.2.1'] ]", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, _, err := parseSTIXPattern(tc.pattern)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			var got []string
			for _, v := range patternIndicators(tree) {
				s := string(v.typ) + " " + v.value
				if v.port != 0 {
					s += ":" + strconv.Itoa(int(v.port))
				}
				got = append(got, s)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
