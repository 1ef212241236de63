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

	// A plain file with a malformed row and a cut last line.
	plain := filepath.Join(t.TempDir(), "s.csv")
	os.WriteFile(plain, []byte("ip,timestamp,family,c2\n192.0.2.46,2026-11-28T00:30:00Z,virut,198.51.100.4:80\nnot-an-ip,2026-11-28T00:30:00Z,virut,\n192.0.2.46,\"2026-11"), 0o600)
	out.Reset()
	code = run(ctx, []string{"sightings", "import", "--db", dsn, "--json", plain}, &out, &errb)
	res = sightingsImportResult{}
	json.Unmarshal(out.Bytes(), &res)
	want := []string{`line 3: "not-an-ip" is not an IP address`, "line 4: bad quoting", plain + ": " + intel.ErrTruncated.Error()}
	if code != 1 || res.Format != intel.PlainSightings || res.Sightings != 1 || res.Skipped != 2 || res.Devices != 1 || !slices.Equal(res.Errors, want) {
		t.Errorf("exit %d, %+v; want 1 sighting (dev-c asked), errors %q", code, res, want)
	}
}
