package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
)

func TestSightingsImport(t *testing.T) {
	fixedIntelNow(t)
	ctx := context.Background()
	dsn := tempDB(t)
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Two devices checked in from 192.0.2.45 (the sinkhole report's
	// first victim) around its time, one from 192.0.2.46 two days
	// earlier (outside the window), one from elsewhere.
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		dev, ip string
		at      time.Time
	}{
		{"dev-a", "192.0.2.45", at.Add(-time.Hour)},
		{"dev-b", "192.0.2.45", at.Add(3 * time.Hour)},
		{"dev-c", "192.0.2.46", at.Add(-48 * time.Hour)},
		{"dev-d", "198.51.100.200", at},
	} {
		if err := st.CreateDevice(ctx, store.Device{ID: c.dev, PublicKey: bytes.Repeat([]byte{byte(i + 1)}, 32), OS: "linux", EnrolledAt: at.Add(-72 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: c.dev, ReceivedAt: c.at, Verdict: health.Affirming, PolicyID: "p", OS: "linux", Agent: "a", Statement: []byte("x"), SourceIP: c.ip}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	var out, errb bytes.Buffer
	code := run(ctx, []string{"sightings", "import", "--db", dsn, "--json", "../../internal/intel/testdata/shadowserver-event4-sinkhole.csv"}, &out, &errb)
	var res sightingsImportResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || code != 0 {
		t.Fatalf("exit %d, %q %q: %v", code, out.String(), errb.String(), err)
	}
	if res.Format != intel.ShadowserverEvents || res.Sightings != 3 || res.Skipped != 0 || res.Devices != 2 || res.Questions != 2 || res.Indicators != 3 || len(res.Errors) != 0 {
		t.Errorf("result %+v; want 3 sightings, 2 devices asked, 3 C2s listed", res)
	}
	st, err = storeopen.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The reports' C2s are in the indicator bundle devices answer from,
	// with their port, family and the report as source.
	var listed []string
	if _, err := st.(store.Intel).LiveIndicators(ctx, nil, func(in store.Indicator) error {
		listed = append(listed, fmt.Sprintf("%s %s:%d %s %v", in.Type, in.Value, in.Port, in.Family, in.Sources))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	if want := []string{"ipv4 198.51.100.2:4455 victorygate.b [shadowserver]", "ipv4 198.51.100.3:16464 b68-zeroaccess-2-32bit [shadowserver]", "ipv4 198.51.100.4:80 virut [shadowserver]"}; !slices.Equal(listed, want) {
		t.Errorf("indicators %q, want %q", listed, want)
	}
	ss := st.(store.Sightings)
	for dev, want := range map[string][]string{"dev-a": {"198.51.100.2:4455"}, "dev-b": {"198.51.100.2:4455"}, "dev-c": nil, "dev-d": nil} {
		qs, err := ss.OpenQuestions(ctx, dev)
		var got []string
		for _, q := range qs {
			got = append(got, q.C2)
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s asked about %v (%v), want %v", dev, got, err, want)
		}
	}

	// A plain file with a malformed row and a cut last line: nothing is
	// stored (dev-c is not asked), the cut is the error.
	plain := filepath.Join(t.TempDir(), "s.csv")
	good := "ip,timestamp,family,c2\n192.0.2.46,2026-11-28T00:30:00Z,virut,198.51.100.4:80\nnot-an-ip,2026-11-28T00:30:00Z,virut,\n"
	os.WriteFile(plain, []byte(good+"192.0.2.46,\"2026-11"), 0o600)
	res = runSightingsJSON(t, 1, "--db", dsn, plain)
	want := []string{plain + ": " + intel.ErrTruncated.Error() + " (nothing imported from it)"}
	if res.Sightings != 0 || res.Skipped != 0 || res.Devices != 0 || res.Questions != 0 || !slices.Equal(res.Errors, want) {
		t.Errorf("cut file: %+v; want nothing imported, errors %q", res, want)
	}
	if qs, _ := ss.OpenQuestions(ctx, "dev-c"); len(qs) != 0 {
		t.Errorf("dev-c asked %+v after a cut file", qs)
	}
	// Whole, with its malformed row skipped: dev-c is asked.
	os.WriteFile(plain, []byte(good), 0o600)
	res = runSightingsJSON(t, 0, "--db", dsn, plain)
	if res.Format != intel.PlainSightings || res.Sightings != 1 || res.Skipped != 1 || res.Devices != 1 || res.Questions != 1 ||
		!slices.Equal(res.Errors, []string{`line 3: "not-an-ip" is not an IP address`}) {
		t.Errorf("whole file: %+v; want 1 sighting (dev-c asked), 1 row skipped", res)
	}
	// The same reports again: every sighting known, nobody asked twice.
	for _, f := range []string{"../../internal/intel/testdata/shadowserver-event4-sinkhole.csv", plain} {
		res = runSightingsJSON(t, 0, "--db", dsn, f)
		if res.Duplicates != res.Sightings || res.Sightings == 0 || res.Questions != 0 || res.Devices != 0 {
			t.Errorf("%s again: %+v; want every sighting a duplicate and no question", f, res)
		}
	}
	for dev, n := range map[string]int{"dev-a": 1, "dev-b": 1, "dev-c": 1} {
		if qs, _ := ss.OpenQuestions(ctx, dev); len(qs) != n {
			t.Errorf("%s has %d questions after the reports came twice, want %d", dev, len(qs), n)
		}
	}
	// A byte-order mark is no obstacle.
	bom := filepath.Join(t.TempDir(), "bom.csv")
	os.WriteFile(bom, []byte("\xef\xbb\xbfip,timestamp,family,c2\n192.0.2.45,2026-11-30T01:00:00Z,QakBot,198.51.100.9:443\n"), 0o600)
	if res = runSightingsJSON(t, 0, "--db", dsn, bom); res.Format != intel.PlainSightings || res.Sightings != 1 || res.Questions != 2 {
		t.Errorf("with a byte-order mark: %+v; want 1 sighting asking dev-a and dev-b", res)
	}
}

func runSightingsJSON(t *testing.T, code int, args ...string) sightingsImportResult {
	t.Helper()
	var out, errb bytes.Buffer
	got := run(context.Background(), append([]string{"sightings", "import", "--json"}, args...), &out, &errb)
	var res sightingsImportResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || got != code {
		t.Fatalf("exit %d (want %d), %q %q: %v", got, code, out.String(), errb.String(), err)
	}
	return res
}

// A drone report row without a C2 asks the devices behind its address
// about the family only once the indicators hold an address of it.
func TestSightingsImportWithoutC2(t *testing.T) {
	fixedIntelNow(t)
	ctx := context.Background()
	dsn := tempDB(t)
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 11, 29, 8, 16, 40, 0, time.UTC)
	if err := st.CreateDevice(ctx, store.Device{ID: "dev-q", PublicKey: bytes.Repeat([]byte{9}, 32), OS: "windows", EnrolledAt: at.Add(-72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: "dev-q", ReceivedAt: at.Add(-time.Hour), Verdict: health.Affirming, PolicyID: "p", OS: "windows", Agent: "a", Statement: []byte("x"), SourceIP: "203.0.113.10"}); err != nil {
		t.Fatal(err)
	}
	drone := "../../internal/intel/testdata/shadowserver-botnet-drone.csv"
	res := runSightingsJSON(t, 0, "--db", dsn, drone)
	if res.Sightings != 2 || res.NotAsked != 1 || res.Questions != 0 {
		t.Fatalf("drone report: %+v; want 2 sightings, the qakbot one (no C2) asking nobody", res)
	}
	if _, err := st.(store.Intel).ImportIndicators(ctx, at, func(add func(store.Indicator) error) error {
		return add(store.Indicator{Type: "ipv4", Value: "203.0.113.77", Port: 443, Sources: []string{"feodotracker"}, Family: "QakBot"})
	}); err != nil {
		t.Fatal(err)
	}
	res = runSightingsJSON(t, 0, "--db", dsn, drone)
	if res.Duplicates != 2 || res.NotAsked != 0 || res.Questions != 1 || res.Devices != 1 {
		t.Fatalf("again with QakBot addresses known: %+v; want dev-q asked once", res)
	}
	qs, err := st.(store.Sightings).OpenQuestions(ctx, "dev-q")
	if err != nil || len(qs) != 1 || qs[0].C2 != "" || qs[0].Family != "qakbot" {
		t.Errorf("dev-q questions %+v, %v; want one about qakbot", qs, err)
	}
}
