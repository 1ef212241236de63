package intel

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSightings(t *testing.T) {
	sinkhole := mustRead(t, "shadowserver-event4-sinkhole.csv")
	sink3 := []Sighting{
		{IP: "192.0.2.45", SeenAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Family: "victorygate.b", C2: "198.51.100.2:4455", Source: "shadowserver"},
		{IP: "192.0.2.46", SeenAt: time.Date(2026, 11, 30, 0, 0, 3, 0, time.UTC), Family: "b68-zeroaccess-2-32bit", C2: "198.51.100.3:16464", Source: "shadowserver"},
		{IP: "192.0.2.47", SeenAt: time.Date(2026, 11, 30, 0, 0, 9, 0, time.UTC), Family: "virut", C2: "198.51.100.4:80", Source: "shadowserver"},
	}
	tests := []struct {
		name    string
		input   string
		format  SightingFormat
		want    []Sighting
		skipped int
		errors  []string
		err     error
	}{{
		// Three sinkhole events; the second names its family only in tag.
		name: "shadowserver event4 sinkhole", input: sinkhole, format: ShadowserverEvents,
		want: []Sighting{
			{IP: "192.0.2.45", SeenAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Family: "victorygate.b", C2: "198.51.100.2:4455", Source: "shadowserver"},
			{IP: "192.0.2.46", SeenAt: time.Date(2026, 11, 30, 0, 0, 3, 0, time.UTC), Family: "b68-zeroaccess-2-32bit", C2: "198.51.100.3:16464", Source: "shadowserver"},
			{IP: "192.0.2.47", SeenAt: time.Date(2026, 11, 30, 0, 0, 9, 0, time.UTC), Family: "virut", C2: "198.51.100.4:80", Source: "shadowserver"},
		},
		errors: []string{},
	}, {
		name: "shadowserver botnet drone", input: mustRead(t, "shadowserver-botnet-drone.csv"), format: ShadowserverEvents,
		want: []Sighting{
			{IP: "203.0.113.9", SeenAt: time.Date(2026, 11, 29, 8, 15, 2, 0, time.UTC), Family: "mirai", C2: "198.51.100.66:23", Source: "shadowserver"},
			{IP: "203.0.113.10", SeenAt: time.Date(2026, 11, 29, 8, 16, 40, 0, time.UTC), Family: "qakbot", Source: "shadowserver"},
		},
		skipped: 1, errors: []string{`line 4: "203.0.113.300" is not an IP address`},
	}, {
		name: "plain with header", input: mustRead(t, "sightings-plain.csv"), format: PlainSightings,
		want: []Sighting{
			{IP: "192.0.2.45", SeenAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Family: "QakBot", C2: "203.0.113.77:443", Source: "sightings"},
			{IP: "192.0.2.46", SeenAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Family: "Emotet", Source: "sightings"},
			{IP: "2001:db8::7", SeenAt: time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC), Family: "Mirai", C2: "[2001:db8::99]:23", Source: "sightings"},
		},
		skipped: 2, errors: []string{`line 5: "yesterday" is not a timestamp`, `line 6: "203.0.113.500" is not a C2 address`},
	}, {
		name: "plain without header", input: "198.51.100.7,2026-11-30T10:00:00Z,Mirai\n198.51.100.8,2026-11-30T10:00:00Z,Mirai,198.51.100.1\n",
		format: PlainSightings,
		want: []Sighting{
			{IP: "198.51.100.7", SeenAt: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), Family: "Mirai", Source: "sightings"},
			{IP: "198.51.100.8", SeenAt: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), Family: "Mirai", C2: "198.51.100.1", Source: "sightings"},
		},
		errors: []string{},
	}, {
		// Cut inside the third row's quoted city.
		name: "sinkhole truncated", input: sinkhole[:strings.Index(sinkhole, `"WARSAW`)+4], format: ShadowserverEvents,
		want: []Sighting{
			{IP: "192.0.2.45", SeenAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Family: "victorygate.b", C2: "198.51.100.2:4455", Source: "shadowserver"},
			{IP: "192.0.2.46", SeenAt: time.Date(2026, 11, 30, 0, 0, 3, 0, time.UTC), Family: "b68-zeroaccess-2-32bit", C2: "198.51.100.3:16464", Source: "shadowserver"},
		},
		skipped: 1, errors: []string{"line 4: bad quoting"}, err: ErrTruncated,
	}, {
		name: "sinkhole row cut short", input: sinkhole + `"2026-11-30 00:00:10","tcp","192.0.2.48"` + "\n", format: ShadowserverEvents,
		want: sink3, skipped: 1, errors: []string{"line 5: 3 fields, the header has 30"},
	}, {
		// A byte-order mark before the header.
		name: "plain with a byte-order mark", input: "\xef\xbb\xbf" + mustRead(t, "sightings-plain.csv"), format: PlainSightings,
		want: []Sighting{
			{IP: "192.0.2.45", SeenAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Family: "QakBot", C2: "203.0.113.77:443", Source: "sightings"},
			{IP: "192.0.2.46", SeenAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Family: "Emotet", Source: "sightings"},
			{IP: "2001:db8::7", SeenAt: time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC), Family: "Mirai", C2: "[2001:db8::99]:23", Source: "sightings"},
		},
		skipped: 2, errors: []string{`line 5: "yesterday" is not a timestamp`, `line 6: "203.0.113.500" is not a C2 address`},
	}, {
		name: "sinkhole with a byte-order mark", input: "\xef\xbb\xbf" + sinkhole, format: ShadowserverEvents,
		want: sink3, errors: []string{},
	}, {
		// Cut in the middle of a row without quotes: the last line has
		// no newline and does not parse.
		name: "plain cut mid-row", input: "ip,timestamp,family,c2\n192.0.2.45,2026-11-30T00:00:00Z,QakBot,203.0.113.77:443\n192.0.2.46,2026-11-3",
		format: PlainSightings,
		want: []Sighting{
			{IP: "192.0.2.45", SeenAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Family: "QakBot", C2: "203.0.113.77:443", Source: "sightings"},
		},
		skipped: 1, errors: []string{"line 3: 2 fields, the header has 4"}, err: ErrTruncated,
	}, {
		// A complete last row without a newline is fine.
		name: "plain without final newline", input: "ip,timestamp,family\n192.0.2.45,2026-11-30T00:00:00Z,QakBot",
		format: PlainSightings,
		want: []Sighting{
			{IP: "192.0.2.45", SeenAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Family: "QakBot", Source: "sightings"},
		},
		errors: []string{},
	}, {
		// An indicator feed is not a sighting report.
		name: "feed is refused", input: mustRead(t, "feodo-ipblocklist.csv"), format: "",
		errors: []string{}, err: ErrFormat,
	}, {
		name: "empty", input: "", errors: []string{}, err: ErrFormat,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseSightings(strings.NewReader(tc.input), SightingOptions{})
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if res.Format != tc.format {
				t.Errorf("format = %q, want %q", res.Format, tc.format)
			}
			if !slices.Equal(res.Sighting, tc.want) {
				t.Errorf("sightings =\n%+v\nwant\n%+v", res.Sighting, tc.want)
			}
			if res.Count != len(tc.want) || len(res.Sighting) != res.Count {
				t.Errorf("count = %d (%d kept), want %d", res.Count, len(res.Sighting), len(tc.want))
			}
			if res.Skipped != tc.skipped {
				t.Errorf("skipped = %d, want %d", res.Skipped, tc.skipped)
			}
			if !slices.Equal(res.Errors, tc.errors) {
				t.Errorf("errors = %q, want %q", res.Errors, tc.errors)
			}
		})
	}
}

func FuzzSightings(f *testing.F) {
	for _, name := range []string{"shadowserver-event4-sinkhole.csv", "shadowserver-botnet-drone.csv", "sightings-plain.csv"} {
		f.Add([]byte(mustRead(f, name)))
	}
	f.Add([]byte("1.2.3.4,1,x,\"[::1]:0\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, _ := ParseSightings(strings.NewReader(string(b)), SightingOptions{})
		if res.Count != len(res.Sighting) {
			t.Fatalf("count %d, kept %d", res.Count, len(res.Sighting))
		}
		for _, s := range res.Sighting {
			if s.IP == "" || s.SeenAt.IsZero() {
				t.Fatalf("incomplete sighting %+v", s)
			}
		}
	})
}
