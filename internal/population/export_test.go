package population

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

type seeded struct {
	st  *sqlite.Store
	ids []string
	ips []string
	day time.Time
	// cells are the day's true counts, as the tests' brute-force check
	// reads them.
	cells []dayCell
}

// device is one seeded check-in.
type device struct {
	os, release, agent string
	verdict            health.Tier
	failing            []health.CheckID
	family             string
	at                 time.Time
}

func openStore(t testing.TB) *sqlite.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// record checks devs in (each a new device).
func (s *seeded) record(t testing.TB, devs ...device) {
	t.Helper()
	ctx := context.Background()
	for _, d := range devs {
		n := len(s.ids)
		id := fmt.Sprintf("dev-%s-%04d", d.os, n)
		ip := "198.51.100." + strconv.Itoa(n%250+1)
		if err := s.st.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: d.os, EnrolledAt: d.at}); err != nil {
			t.Fatal(err)
		}
		c := store.Checkin{DeviceID: id, ReceivedAt: d.at, Verdict: d.verdict, PolicyID: "p@1", OS: d.os, OSVersion: d.release, Agent: d.agent,
			SourceIP: ip, Family: d.family}
		for _, f := range d.failing {
			c.Findings = append(c.Findings, health.Finding{ID: f, Status: health.Fail})
		}
		if _, err := s.st.RecordCheckin(ctx, c); err != nil {
			t.Fatal(err)
		}
		s.ids, s.ips = append(s.ids, id), append(s.ips, ip)
	}
}

func repeat(n int, d device) []device {
	out := make([]device, n)
	for i := range out {
		out[i] = d
		out[i].at = d.at.Add(time.Duration(i) * time.Second)
	}
	return out
}

// seed is a day (2026-12-03) of 96 devices: linux 40 affirming, 3
// warning; windows 25 affirming, 12 contraindicated (Emotet); darwin 15
// affirming, 1 contraindicated (Emotet).
func seed(t testing.TB) *seeded {
	s := &seeded{st: openStore(t), day: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}
	at := s.day.Add(time.Hour)
	s.record(t, repeat(40, device{os: "linux", release: "debian 12", agent: "1.4.2", verdict: health.Affirming, at: at})...)
	s.record(t, repeat(3, device{os: "linux", release: "debian 12", agent: "1.4.2", verdict: health.Warning, failing: []health.CheckID{health.Firewall}, at: at})...)
	s.record(t, repeat(25, device{os: "windows", release: "windows 26100", agent: "1.4.2", verdict: health.Affirming, at: at})...)
	s.record(t, repeat(12, device{os: "windows", release: "windows 26100", agent: "1.4.2", verdict: health.Contraindicated,
		failing: []health.CheckID{health.Malware}, family: "Emotet", at: at})...)
	s.record(t, repeat(15, device{os: "darwin", release: "macos 15", agent: "1.4.2", verdict: health.Affirming, at: at})...)
	s.record(t, device{os: "darwin", release: "macos 15", agent: "1.4.2", verdict: health.Contraindicated,
		failing: []health.CheckID{health.Malware}, family: "Emotet", at: at})
	return s
}

// trueCells reads a day's finest counts back from the store, as the
// brute-force check wants them.
func trueCells(t testing.TB, st store.PopulationStats, day time.Time) []dayCell {
	t.Helper()
	var out []dayCell
	for _, kind := range tableKinds {
		cs, err := st.Aggregate(context.Background(), kind, store.DimAll, day, day)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			key := c.Key
			if kind == store.AggInfection {
				key = FamilyLabel(key)
			}
			out = append(out, dayCell{table: kind, key: key, os: c.Segment.OS, rel: c.Segment.OSVersion, agent: c.Segment.Agent, cc: c.Segment.Country, n: c.Count})
		}
	}
	return out
}

func TestExportPrivacy(t *testing.T) {
	s := seed(t)
	noisyStore := seed(t)                                        // a day is released once: noise on a day of its own
	now := func() time.Time { return s.day.Add(30 * time.Hour) } // the day is over
	for _, format := range []string{"json", "csv", "stix21"} {
		for _, eps := range []float64{0, 1} {
			st := s.st
			if eps > 0 {
				st = noisyStore.st
			}
			for _, dim := range []store.Dimension{store.DimOS, store.DimOSVersion, store.DimAgent, store.DimCountry, store.DimNone} {
				ex, err := BuildExport(context.Background(), st, ExportOptions{MinCount: 10, Epsilon: eps, Dimension: dim, WholePopulation: dim == store.DimNone,
					Now: now, Issuer: "https://authority.example", Records: st})
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := Write(&buf, format, ex); err != nil {
					t.Fatal(err)
				}
				out := buf.String()
				for _, id := range append(s.ids, noisyStore.ids...) {
					if strings.Contains(out, id) {
						t.Fatalf("%s export contains device id %s", format, id)
					}
				}
				if strings.Contains(out, "198.51.100") {
					t.Fatalf("%s export contains an address", format)
				}
				for _, tb := range ex.Tables {
					for _, c := range tb.Cells {
						if c.Count != nil && eps == 0 && *c.Count < 10 {
							t.Errorf("%s %s %s: cell %+v under K published", format, dim, tb.Name, c)
						}
					}
					for _, m := range append(append([]Total(nil), tb.RowTotals...), tb.ColumnTotals...) {
						if m.Count != nil && eps == 0 && *m.Count < 10 {
							t.Errorf("total %+v under K", m)
						}
					}
					if eps > 0 && (len(tb.RowTotals) > 0 || tb.Margins) {
						t.Errorf("noisy export publishes row totals")
					}
				}
			}
		}
	}
	// Without noise every published number is true, and the day's
	// release, of which every export is a part, passes the exhaustive
	// check (K 10, so the check's search is over a handful of counts).
	rl := &Releaser{Stats: s.st, MinCount: 10, Now: now}
	days, err := rl.Days(context.Background(), s.day, s.day)
	if err != nil {
		t.Fatal(err)
	}
	checkReleaseAudit(t, days[0], trueCells(t, s.st, s.day), 10)
	ex, _ := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Now: now})
	for _, tc := range []struct {
		table   string
		seg     string
		key     string
		want    int64 // −1: withheld
		present bool
	}{
		{"verdict", "linux", "affirming", 40, true},
		{"verdict", "linux", "warning", -1, true},
		{"verdict", "darwin", "contraindicated", -1, true},
		// darwin's 1 new infection is withheld, and so is windows' 12
		// beside it: the single agent and country cells give the whole
		// population's 13, so 13 − 12 would give darwin away.
		{"infection", "windows", "Emotet", -1, true},
		{"infection", "darwin", "Emotet", -1, true},
		// And the contraindicated counts that bound those infections.
		{"verdict", "windows", "contraindicated", -1, true},
	} {
		got, found := int64(-2), false
		for _, tb := range ex.Tables {
			if tb.Name != tc.table {
				continue
			}
			for _, c := range tb.Cells {
				if c.Segment == tc.seg && c.Key == tc.key {
					found = true
					got = -1
					if c.Count != nil {
						got = *c.Count
					}
				}
			}
		}
		if found != tc.present || got != tc.want {
			t.Errorf("%s %s %s = %d (listed %v), want %d", tc.table, tc.seg, tc.key, got, found, tc.want)
		}
	}
	for _, tb := range ex.Tables {
		for _, m := range tb.ColumnTotals {
			if tb.Name == "infection" && m.Key == "Emotet" && m.Count != nil {
				t.Errorf("Emotet column total %d published beside a withheld cell", *m.Count)
			}
		}
	}
}

// Exports of different dimensions, and the whole population, are parts
// of one release: the review's case of an OS export (linux warning 15,
// every cell published) beside an agent export (1.0 = 12, 0.9 withheld)
// gives nothing away, since the release withholds in every dimension a
// count of a line any dimension withholds from.
func TestExportsOfEveryDimensionAreOneRelease(t *testing.T) {
	s := &seeded{st: openStore(t), day: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}
	at := s.day.Add(2 * time.Hour)
	s.record(t, repeat(12, device{os: "linux", release: "debian 12", agent: "1.0", verdict: health.Warning, failing: []health.CheckID{health.Firewall}, at: at})...)
	s.record(t, repeat(3, device{os: "linux", release: "debian 12", agent: "0.9", verdict: health.Warning, failing: []health.CheckID{health.Firewall}, at: at})...)
	s.record(t, repeat(40, device{os: "linux", release: "debian 12", agent: "1.0", verdict: health.Affirming, at: at})...)
	s.record(t, repeat(12, device{os: "linux", release: "debian 12", agent: "0.9", verdict: health.Affirming, at: at})...)
	s.record(t, repeat(30, device{os: "windows", release: "windows 26100", agent: "1.0", verdict: health.Affirming, at: at})...)
	// And the review's infection row: linux contraindicated 12, Emotet
	// 10, QakBot 2.
	s.record(t, repeat(10, device{os: "linux", release: "debian 12", agent: "1.0", verdict: health.Contraindicated,
		failing: []health.CheckID{health.Malware}, family: "Emotet", at: at})...)
	s.record(t, repeat(2, device{os: "linux", release: "debian 12", agent: "1.0", verdict: health.Contraindicated,
		failing: []health.CheckID{health.Malware}, family: "QakBot", at: at})...)
	now := func() time.Time { return s.day.Add(25 * time.Hour) }
	published := map[string]int64{}
	for _, dim := range []store.Dimension{store.DimOS, store.DimOSVersion, store.DimAgent, store.DimCountry, store.DimNone} {
		ex, err := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Dimension: dim, WholePopulation: dim == store.DimNone, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range ex.Tables {
			for _, c := range tb.Cells {
				if c.Count != nil {
					published[fmt.Sprintf("%s %s %s %s", tb.Name, dim, c.Segment, c.Key)] = *c.Count
				}
			}
		}
	}
	if _, ok := published["verdict agent 0.9 warning"]; ok {
		t.Fatalf("0.9 warning (3) published: %v", published)
	}
	linux, ok1 := published["verdict os linux warning"]
	if v, ok2 := published["verdict agent 1.0 warning"]; ok1 && ok2 {
		t.Errorf("linux warning %d published beside the agent export's 1.0 = %d: 0.9 = %d − %d", linux, v, linux, v)
	}
	if c, ok := published["verdict os linux contraindicated"]; ok && published["infection os linux Emotet"] == 10 {
		t.Errorf("linux contraindicated %d published beside Emotet 10 with QakBot withheld: QakBot = %d − 10", c, c)
	}
	if v, ok := published[fmt.Sprintf("%s %s %s %s", "verdict", store.DimNone, "", "warning")]; ok {
		t.Errorf("the whole population's warning count %d is published", v)
	}
	rl := &Releaser{Stats: s.st, MinCount: 10, Now: now}
	days, err := rl.Days(context.Background(), s.day, s.day)
	if err != nil {
		t.Fatal(err)
	}
	checkReleaseAudit(t, days[0], trueCells(t, s.st, s.day), 10)
}

// No channel shows a day that is not over: counts of today change as one
// watches (10, then withheld while a neighbour gains one).
func TestExportCompleteDaysOnly(t *testing.T) {
	s := &seeded{st: openStore(t), day: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}
	s.record(t, repeat(20, device{os: "linux", release: "debian 12", agent: "1.0", verdict: health.Affirming, at: s.day.Add(time.Hour)})...)
	s.record(t, repeat(30, device{os: "linux", release: "debian 12", agent: "1.0", verdict: health.Affirming, at: s.day.Add(25 * time.Hour)})...)
	now := func() time.Time { return s.day.Add(47 * time.Hour) } // 2026-12-04 23:00
	ex, err := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if ex.To != "2026-12-03" {
		t.Errorf("export ends %s, want the last complete day 2026-12-03", ex.To)
	}
	for _, tb := range ex.Tables {
		for _, c := range tb.Cells {
			if c.Day != "2026-12-03" || c.Count == nil || *c.Count != 20 {
				t.Errorf("cell %+v: only 2026-12-03's 20 should be there", c)
			}
		}
	}
	_, err = BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Now: now, Until: now()})
	if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "2026-12-04 is not over") {
		t.Errorf("export of today: %v", err)
	}
	rl := &Releaser{Stats: s.st, MinCount: 10, Now: now}
	if _, err := rl.Days(context.Background(), now(), now()); !errors.Is(err, errNotComplete) {
		t.Errorf("release of today: %v", err)
	}
}

// noisyValues is every published count of an export.
func noisyValues(ex *Export) map[string]int64 {
	out := map[string]int64{}
	for _, tb := range ex.Tables {
		for _, c := range tb.Cells {
			if c.Count != nil {
				out[tb.Name+" "+c.Day+" "+c.Segment+" "+c.Key] = *c.Count
			}
		}
	}
	return out
}

// The noise of a day is drawn once: asking again, from another node
// (another Releaser over the same store), or with another ε, gives the
// same noisy values, and the export says which ε each day was released
// with.
func TestNoiseIsDrawnOncePerDay(t *testing.T) {
	s := seed(t)
	now := func() time.Time { return s.day.Add(30 * time.Hour) }
	build := func(eps float64) *Export {
		t.Helper()
		ex, err := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Epsilon: eps, Now: now, Records: s.st})
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
	first := build(0.5)
	again := build(0.5)
	if fmt.Sprint(noisyValues(first)) != fmt.Sprint(noisyValues(again)) {
		t.Errorf("asking again drew fresh noise:\n%v\n%v", noisyValues(first), noisyValues(again))
	}
	noisy := 0
	for k, v := range noisyValues(first) {
		if strings.HasPrefix(k, "verdict "+s.day.Format(time.DateOnly)+" linux affirming") && v != 40 {
			noisy++
		}
	}
	changed := build(4)
	if fmt.Sprint(noisyValues(first)) != fmt.Sprint(noisyValues(changed)) {
		t.Errorf("a change of epsilon drew fresh noise for a released day")
	}
	if len(changed.Privacy.Earlier) != 1 || changed.Privacy.Earlier[0] != (DayParams{Day: "2026-12-03", MinCount: 10, Epsilon: 0.5}) {
		t.Errorf("earlier releases %+v, want 2026-12-03 at K 10, ε 0.5", changed.Privacy.Earlier)
	}
	if changed.Privacy.TotalEpsilon != 1.5 {
		t.Errorf("total epsilon %v, want 3 tables × 0.5", changed.Privacy.TotalEpsilon)
	}
	if first.Privacy.TotalEpsilon != 1.5 || first.Privacy.EpsilonPerTableDay != 0.5 || !strings.Contains(first.Privacy.Protection, "not strictly epsilon-differentially private") {
		t.Errorf("privacy record %+v", first.Privacy)
	}
	// A Releaser on another node reads the same record.
	other := &Releaser{Stats: s.st, Records: s.st, MinCount: 10, Epsilon: 2, Now: now}
	days, err := other.Days(context.Background(), s.day, s.day)
	if err != nil {
		t.Fatal(err)
	}
	if days[0].Epsilon != 0.5 {
		t.Errorf("another node released the day with ε %v", days[0].Epsilon)
	}
	for _, c := range days[0].Table(store.AggVerdict).Counts {
		if c.Dimension == store.DimOS && c.Segment == "linux" && c.Key == "affirming" {
			if want := noisyValues(first)["verdict 2026-12-03 linux affirming"]; c.Value == nil || *c.Value != want {
				t.Errorf("another node publishes linux affirming %v, the first release %d", c.Value, want)
			}
		}
	}
	// K of a released day holds too.
	ex, err := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 5, Now: now, Records: s.st})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Privacy.Earlier) != 1 || ex.Privacy.Earlier[0].MinCount != 10 {
		t.Errorf("a smaller K for a released day: earlier %+v", ex.Privacy.Earlier)
	}
	// Noise needs a record.
	if _, err := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Epsilon: 1, Now: now}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("noise without records: %v", err)
	}
}

func TestEpsilonIsChecked(t *testing.T) {
	for _, eps := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, 1e-300, 0.005} {
		if err := CheckEpsilon(eps); err == nil {
			t.Errorf("epsilon %v accepted", eps)
		}
		if _, err := BuildExport(context.Background(), openStore(t), ExportOptions{Epsilon: eps}); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("BuildExport with epsilon %v: %v", eps, err)
		}
	}
	for _, eps := range []float64{0, 0.01, 1, 1e300} {
		if err := CheckEpsilon(eps); err != nil {
			t.Errorf("epsilon %v refused: %v", eps, err)
		}
	}
	// Clamped and rounded without overflow, whatever the scale.
	for _, tc := range []struct {
		n    int64
		b, u float64
		want int64
	}{
		{10, 1, 0.5, 10},
		{10, 1e300, 0.999999, maxNoisy},
		{10, 1e300, 0.000001, 0},
		{10, 5000, 1 - 1.0/(1<<53), 10 + 180218}, // 5000·ln(2^52), the largest draw
		{10, 1e15, 1 - 1.0/(1<<53), maxNoisy},
		{math.MaxInt64 / 2, 1, 0.5, maxNoisy},
	} {
		if got := noisy(tc.n, tc.b, tc.u); got != tc.want {
			t.Errorf("noisy(%d, %g, %g) = %d, want %d", tc.n, tc.b, tc.u, got, tc.want)
		}
	}
}

func TestLaplaceScale(t *testing.T) {
	// Laplace(0, b): E|X| = b, E[X²] = 2b². The uniforms are the ones
	// counts get (HMACs of their names under a seed); with 200000 draws
	// the standard error of the mean absolute value is b/√200000 ≈
	// 0.0022b, so 2% is over 8 standard errors.
	seed := []byte("a day's seed, 32 bytes long.....")
	for _, b := range []float64{1, 2, 10} {
		var abs, sq float64
		const n = 200000
		for i := range n {
			x := laplaceAt(noiseUniform(seed, "2026-12-03", store.AggVerdict, relRef{store.DimOS, "linux"}, strconv.Itoa(i)), b)
			abs += math.Abs(x)
			sq += x * x
		}
		if got := abs / n; math.Abs(got-b)/b > 0.02 {
			t.Errorf("b=%v: E|X| = %v", b, got)
		}
		if got := sq / n; math.Abs(got-2*b*b)/(2*b*b) > 0.05 {
			t.Errorf("b=%v: E[X²] = %v, want %v", b, got, 2*b*b)
		}
	}
}

// Labels stored before the vocabulary (or by anything that bypassed it)
// are relabelled on the way out, and an agent version fewer than K
// devices share is pooled into "other": no device-chosen text reaches
// any format.
func TestExportCarriesNoDeviceText(t *testing.T) {
	s := &seeded{st: openStore(t), day: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}
	at := s.day.Add(time.Hour)
	s.record(t, repeat(12, device{os: "linux", release: "alice@example.com", agent: "bob@example.org 10.1.2.3", verdict: health.Affirming, at: at})...)
	s.record(t, repeat(12, device{os: "haiku alice", release: "debian 12", agent: "1.0-alice", verdict: health.Affirming, at: at})...)
	s.record(t, device{os: "linux", release: "debian 12", agent: "1.2.3", verdict: health.Warning, at: at})
	s.record(t, repeat(11, device{os: "linux", release: "debian 12", agent: "1.0", verdict: health.Contraindicated,
		failing: []health.CheckID{health.Malware}, family: "bob@example.org 10.1.2.3", at: at})...)
	now := func() time.Time { return s.day.Add(30 * time.Hour) }
	for _, dim := range []store.Dimension{store.DimOS, store.DimOSVersion, store.DimAgent, store.DimCountry} {
		ex, err := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Dimension: dim, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"json", "csv", "stix21"} {
			var buf bytes.Buffer
			if err := Write(&buf, format, ex); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"alice", "bob", "example", "10.1.2.3", "haiku"} {
				if strings.Contains(buf.String(), bad) {
					t.Errorf("%s %s export carries %q", dim, format, bad)
				}
			}
		}
		if dim == store.DimAgent {
			segs := map[string]bool{}
			for _, c := range ex.Tables[0].Cells {
				segs[c.Segment] = true
			}
			// The one device reporting 1.2.3 is pooled into other; 1.0
			// (11 devices) is named.
			if !segs["other"] || !segs["1.0"] || segs["1.2.3"] {
				t.Errorf("agent segments %v, want other and 1.0", segs)
			}
		}
	}
}
