package population_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// infect records n devices of a segment turning contraindicated with
// family on day.
func infect(t *testing.T, st store.Store, day time.Time, n int, family string, seg store.Segment) {
	t.Helper()
	for j := range n {
		id := fmt.Sprintf("dev-%s-%s-%s-%d", family, seg.Country, day.Format("0102"), j)
		at := day.Add(time.Duration(j+1) * time.Minute)
		if err := st.CreateDevice(t.Context(), store.Device{ID: id, PublicKey: bytes.Repeat([]byte{1}, 32), OS: seg.OS, EnrolledAt: at.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordCheckin(t.Context(), store.Checkin{DeviceID: id, ReceivedAt: at, Verdict: health.Contraindicated, Family: family,
			PolicyID: "default", OS: seg.OS, OSVersion: seg.OSVersion, Agent: seg.Agent, Country: seg.Country,
			Findings:  []health.Finding{{ID: health.Malware, Status: health.Fail, Trust: health.OSReported}},
			Statement: []byte("x.y.z")}); err != nil {
			t.Fatal(err)
		}
	}
}

func close6(a, b float64) bool { return math.Abs(a-b) < 1e-5 }

// TestDetectStoresSeriesAndThresholds seeds 21 days of QakBot infections
// through the store's check-in path: a quiet background in one segment
// (linux, debian 12, agent 1.1.0, FR) and, on the last day, 10 in another
// (windows 10.0.22631, agent 1.0.0, DE) and 2 more in the first; and one
// Emotet infection in DE on the last day. Every detector runs on the whole
// population and on each segment value that had an infection; the stored
// alerts carry the series, the baseline, the statistic, the threshold and
// the threshold as a count, with the values computed by hand below.
func TestDetectStoresSeriesAndThresholds(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	today := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	from := today.AddDate(0, 0, -20)
	fr := store.Segment{OS: "linux", OSVersion: "debian 12", Agent: "1.1.0", Country: "FR"}
	de := store.Segment{OS: "windows", OSVersion: "10.0.22631", Agent: "1.0.0", Country: "DE"}
	background := []int{1, 0, 2, 1, 0, 1, 1, 0, 2, 1, 0, 1, 1, 0, 1, 2, 0, 1, 2, 1, 2}
	for i, k := range background {
		infect(t, st, from.AddDate(0, 0, i), k, "QakBot", fr)
	}
	infect(t, st, today, 10, "QakBot", de)
	infect(t, st, today, 1, "Emotet", de)

	svc := &population.Service{Store: st, Now: func() time.Time { return today.Add(9 * time.Hour) }}
	raised, err := svc.Detect(t.Context(), today)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Alerts(t.Context(), today, today)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(raised) {
		t.Fatalf("%d alerts raised, %d stored", len(raised), len(stored))
	}

	whole := slices.Clone(background)
	whole[20] += 10
	deOnly := make([]int, 21)
	deOnly[20] = 10
	type want struct {
		series                              []int
		baseline                            []float64
		mean, sd, statistic, threshold, lvl float64
	}
	// The whole population, day 20 = 12:
	//   C1 baseline days 13..19 = 0,1,2,0,1,2,1: μ = 1, Σ(x−μ)² = 4,
	//     σ = √(4/6) = 0.816497; S = (12 − 1 − 0.816497)/0.816497 =
	//     12.472194; level μ + 3σ = 3.449490.
	//   C2 baseline days 11..17 = 1,1,0,1,2,0,1: μ = 6/7 = 0.857143,
	//     Σ(x−μ)² = 8 − 36/7 = 2.857143, σ = 0.690066;
	//     S = (12 − 1.547209)/0.690066 = 15.147534; level 2.927340.
	//   C3: the C2 terms of day 18 (Y = 2, baseline 9..15 = 1,0,1,1,0,1,2:
	//     μ = 0.857143, σ = 0.690066; (2 − 1.547209)/0.690066 = 0.656157)
	//     and day 19 (Y = 1, baseline 10..16: μ = 0.714286, σ = 0.755929;
	//     below μ + σ: 0) add to day 20's: 15.803691; level
	//     μ + (1 + 2 − 0.656157)σ = 2.474548.
	//   CUSUM (C1 baseline, k = 0.5, h = 4): S on day 19 is 0.656157;
	//     day 20: 0.656157 + (12 − 1)/0.816497 − 0.5 = 13.628351; level
	//     μ + (4.5 − 0.656157)σ = 4.138484.
	// DE alone: a baseline of zeros, σ floored at 0.5: S = (10 − 0.5)/0.5
	// = 19 for C1 and C2 and C3 (no earlier term), CUSUM 10/0.5 − 0.5 =
	// 19.5; levels μ + 3σ = 1.5 and μ + 4.5σ = 2.25.
	// FR alone (day 20 = 2) and Emotet (1 in DE) stay below every level.
	zeros := make([]float64, 7)
	wantWhole := map[string]want{
		population.C1:            {whole, []float64{0, 1, 2, 0, 1, 2, 1}, 1, 0.816497, 12.472194, 2, 3.449490},
		population.C2:            {whole, []float64{1, 1, 0, 1, 2, 0, 1}, 0.857143, 0.690066, 15.147534, 2, 2.927340},
		population.C3:            {whole, []float64{1, 1, 0, 1, 2, 0, 1}, 0.857143, 0.690066, 15.803691, 2, 2.474548},
		population.CUSUMDetector: {whole, []float64{0, 1, 2, 0, 1, 2, 1}, 1, 0.816497, 13.628351, 4, 4.138484},
	}
	wantDE := map[string]want{
		population.C1:            {deOnly, zeros, 0, 0.5, 19, 2, 1.5},
		population.C2:            {deOnly, zeros, 0, 0.5, 19, 2, 1.5},
		population.C3:            {deOnly, zeros, 0, 0.5, 19, 2, 1.5},
		population.CUSUMDetector: {deOnly, zeros, 0, 0.5, 19.5, 4, 2.25},
	}
	expected := map[string]want{}
	for det, w := range wantWhole {
		expected[det+"/QakBot//2026-12-21"] = w
	}
	for _, seg := range []string{"os=windows", "os_version=10.0.22631", "agent=1.0.0", "country=DE"} {
		for det, w := range wantDE {
			expected[det+"/QakBot/"+seg+"/2026-12-21"] = w
		}
	}
	var keys []string
	for _, a := range stored {
		keys = append(keys, a.Key)
	}
	var wantKeys []string
	for k := range expected {
		wantKeys = append(wantKeys, k)
	}
	sort.Strings(keys)
	sort.Strings(wantKeys)
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("stored alerts:\n %q\nwant\n %q", keys, wantKeys)
	}
	for _, a := range stored {
		w := expected[a.Key]
		var d population.AlertDetail
		if err := json.Unmarshal(a.Body, &d); err != nil {
			t.Fatalf("%s: %v", a.Key, err)
		}
		if d.Detector != a.Detector || d.Family != "QakBot" || d.Segment != a.Segment || d.Day != "2026-12-21" {
			t.Errorf("%s: detail names %s %s %q %s", a.Key, d.Detector, d.Family, d.Segment, d.Day)
		}
		if len(d.Series) != 21 {
			t.Fatalf("%s: series of %d days, want 21", a.Key, len(d.Series))
		}
		for i, p := range d.Series {
			if day := from.AddDate(0, 0, i).Format(time.DateOnly); p.Day != day || p.Count != int64(w.series[i]) {
				t.Errorf("%s: series day %d = %s %d, want %s %d", a.Key, i, p.Day, p.Count, day, w.series[i])
			}
		}
		if !slices.Equal(d.Baseline, w.baseline) {
			t.Errorf("%s: baseline %v, want %v", a.Key, d.Baseline, w.baseline)
		}
		if d.Observed != float64(w.series[20]) || !close6(d.Mean, w.mean) || !close6(d.SD, w.sd) || !close6(d.Statistic, w.statistic) ||
			d.Threshold != w.threshold || !close6(d.Level, w.lvl) {
			t.Errorf("%s: observed %v mean %.6f sd %.6f S %.6f h %v level %.6f; want %d %.6f %.6f %.6f %v %.6f", a.Key,
				d.Observed, d.Mean, d.SD, d.Statistic, d.Threshold, d.Level, w.series[20], w.mean, w.sd, w.statistic, w.threshold, w.lvl)
		}
		if d.Observed <= d.Level {
			t.Errorf("%s: observed %v is not above the level %v it alarmed on", a.Key, d.Observed, d.Level)
		}
		if d.Definition == "" {
			t.Errorf("%s: no definition", a.Key)
		}
	}
	// Running detection again for the day stores nothing twice.
	if _, err := svc.Detect(t.Context(), today); err != nil {
		t.Fatal(err)
	}
	again, _ := st.Alerts(t.Context(), today, today)
	if len(again) != len(stored) {
		t.Errorf("a second run left %d alerts, want %d", len(again), len(stored))
	}
}
