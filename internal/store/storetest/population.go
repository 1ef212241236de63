package storetest

import (
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// Population runs the conformance tests of store.PopulationStats.
func Population(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store, p store.PopulationStats)
	}{
		{"Aggregates", testPopAggregates},
		{"OutOfOrder", testPopOutOfOrder},
		{"Cohorts", testPopCohorts},
		{"Alerts", testPopAlerts},
		{"Partners", testPopPartners},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			p, ok := s.(store.PopulationStats)
			if !ok {
				t.Fatalf("%T does not implement store.PopulationStats", s)
			}
			tc.fn(t, s, p)
		})
	}
}

var (
	popDay1 = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	popDay2 = popDay1.AddDate(0, 0, 1)
)

func popCheckin(dev string, at time.Time, v health.Tier, fails ...health.CheckID) store.Checkin {
	c := newCheckin(dev, at, v)
	c.Findings = nil
	for _, id := range fails {
		c.Findings = append(c.Findings, health.Finding{ID: id, Status: health.Fail, Trust: health.OSReported})
	}
	// Unknown findings are not failing.
	c.Findings = append(c.Findings, health.Finding{ID: health.ScreenLock, Status: health.Unknown})
	return c
}

func mustAggregate(t *testing.T, p store.PopulationStats, kind store.AggregateKind, dim store.Dimension) []store.AggregateCount {
	t.Helper()
	got, err := p.Aggregate(ctx(t), kind, dim, popDay1, popDay2)
	if err != nil {
		t.Fatalf("Aggregate(%s, %q): %v", kind, dim, err)
	}
	return got
}

func wantCells(t *testing.T, what string, got, want []store.AggregateCount) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testPopAggregates(t *testing.T, s store.Store, p store.PopulationStats) {
	mustCreate(t, s, newDevice("a"))
	w := newDevice("w")
	w.OS = "windows"
	mustCreate(t, s, w)
	mustCreate(t, s, newDevice("idle")) // never checks in

	a1 := popCheckin("a", popDay1.Add(8*time.Hour), health.Warning, health.Firewall, health.OSSupport)
	a1.Country = "DE"
	// The same device later that day: it moves out of warning and out of
	// both failing cells.
	a2 := popCheckin("a", popDay1.Add(20*time.Hour), health.Affirming)
	a2.Country = "DE"
	w1 := popCheckin("w", popDay1.Add(9*time.Hour), health.Contraindicated, health.Malware)
	w1.OS, w1.OSVersion, w1.Family = "windows", "windows 10.0.22631", "Emotet"
	w2 := w1
	w2.ReceivedAt = popDay2.Add(time.Hour) // still infected: not a new infection
	a3 := popCheckin("a", popDay2.Add(2*time.Hour), health.Contraindicated, health.Malware, health.Firewall)
	a3.OS = "" // falls back to the enrolled OS
	for _, c := range []store.Checkin{a1, w1, a2, w2, a3} {
		mustRecord(t, s, c)
	}

	wantCells(t, "verdicts", mustAggregate(t, p, store.AggVerdict, store.DimNone), []store.AggregateCount{
		{Day: popDay1, Key: "affirming", Count: 1},
		{Day: popDay1, Key: "contraindicated", Count: 1},
		{Day: popDay2, Key: "contraindicated", Count: 2},
	})
	wantCells(t, "verdicts by OS", mustAggregate(t, p, store.AggVerdict, store.DimOS), []store.AggregateCount{
		{Day: popDay1, Segment: store.Segment{OS: "linux"}, Key: "affirming", Count: 1},
		{Day: popDay1, Segment: store.Segment{OS: "windows"}, Key: "contraindicated", Count: 1},
		{Day: popDay2, Segment: store.Segment{OS: "linux"}, Key: "contraindicated", Count: 1},
		{Day: popDay2, Segment: store.Segment{OS: "windows"}, Key: "contraindicated", Count: 1},
	})
	wantCells(t, "verdicts by country", mustAggregate(t, p, store.AggVerdict, store.DimCountry), []store.AggregateCount{
		{Day: popDay1, Segment: store.Segment{Country: ""}, Key: "contraindicated", Count: 1},
		{Day: popDay1, Segment: store.Segment{Country: "DE"}, Key: "affirming", Count: 1},
		{Day: popDay2, Segment: store.Segment{Country: ""}, Key: "contraindicated", Count: 2},
	})
	wantCells(t, "failing", mustAggregate(t, p, store.AggFailing, store.DimNone), []store.AggregateCount{
		{Day: popDay1, Key: "malware", Count: 1},
		{Day: popDay2, Key: "firewall", Count: 1},
		{Day: popDay2, Key: "malware", Count: 2},
	})
	wantCells(t, "infections by OS version", mustAggregate(t, p, store.AggInfection, store.DimOSVersion), []store.AggregateCount{
		{Day: popDay1, Segment: store.Segment{OSVersion: "windows 10.0.22631"}, Key: "Emotet", Count: 1},
		{Day: popDay2, Segment: store.Segment{OSVersion: "debian 12"}, Key: store.UnknownFamily, Count: 1},
	})
	// The whole population (which stores keep beside the segment cells)
	// is the segment cells summed, for every table.
	for _, kind := range []store.AggregateKind{store.AggVerdict, store.AggFailing, store.AggInfection} {
		sum := map[[2]string]int64{}
		var order [][2]string
		for _, c := range mustAggregate(t, p, kind, store.DimAll) {
			k := [2]string{c.Day.Format(time.DateOnly), c.Key}
			if _, ok := sum[k]; !ok {
				order = append(order, k)
			}
			sum[k] += c.Count
		}
		var want []store.AggregateCount
		for _, k := range order {
			if sum[k] != 0 {
				d, _ := time.Parse(time.DateOnly, k[0])
				want = append(want, store.AggregateCount{Day: d, Key: k[1], Count: sum[k]})
			}
		}
		sort.Slice(want, func(i, j int) bool {
			if !want[i].Day.Equal(want[j].Day) {
				return want[i].Day.Before(want[j].Day)
			}
			return want[i].Key < want[j].Key
		})
		wantCells(t, string(kind)+": whole population against the segments summed", mustAggregate(t, p, kind, store.DimNone), want)
	}
	all := mustAggregate(t, p, store.AggInfection, store.DimAll)
	if len(all) != 2 || all[1].Segment != (store.Segment{OS: "linux", OSVersion: "debian 12", Agent: "herd-agent/0.1"}) {
		t.Errorf("infections by every field = %+v", all)
	}
	if _, err := p.Aggregate(ctx(t), store.AggVerdict, store.Dimension("os; DROP TABLE devices"), popDay1, popDay2); err == nil {
		t.Error("Aggregate accepted an unknown dimension")
	}
}

func testPopOutOfOrder(t *testing.T, s store.Store, p store.PopulationStats) {
	mustCreate(t, s, newDevice("a"))
	mustRecord(t, s, popCheckin("a", popDay1.Add(10*time.Hour), health.Warning, health.Firewall))
	// An older check-in arriving late changes no aggregate.
	mustRecord(t, s, popCheckin("a", popDay1.Add(9*time.Hour), health.Contraindicated, health.Malware))
	wantCells(t, "verdicts", mustAggregate(t, p, store.AggVerdict, store.DimNone), []store.AggregateCount{
		{Day: popDay1, Key: "warning", Count: 1},
	})
	if got := mustAggregate(t, p, store.AggInfection, store.DimNone); len(got) != 0 {
		t.Errorf("infections = %+v, want none", got)
	}
}

func testPopCohorts(t *testing.T, s store.Store, p store.PopulationStats) {
	fw := store.FailMaskOf([]health.Finding{{ID: health.Firewall, Status: health.Fail}})
	fwOS := store.FailMaskOf([]health.Finding{{ID: health.Firewall, Status: health.Fail}, {ID: health.OSSupport, Status: health.Fail}})
	for _, id := range []string{"d1", "d2", "d3", "d4", "d5"} {
		mustCreate(t, s, newDevice(id))
	}
	mustCreate(t, s, newDevice("never"))
	at := popDay1.Add(time.Hour)
	mustRecord(t, s, popCheckin("d1", at, health.Warning, health.Firewall, health.OSSupport))
	mustRecord(t, s, popCheckin("d2", at, health.Warning, health.Firewall, health.OSSupport))
	mustRecord(t, s, popCheckin("d3", at, health.Warning, health.Firewall))
	mustRecord(t, s, popCheckin("d4", at, health.Affirming))
	mustRecord(t, s, popCheckin("d5", at, health.Warning, health.Firewall, health.OSSupport))
	// d5 fixes its OS the next day: it leaves the fwOS set.
	mustRecord(t, s, popCheckin("d5", popDay2, health.Warning, health.Firewall))
	got, err := p.FailMasks(ctx(t))
	if err != nil {
		t.Fatalf("FailMasks: %v", err)
	}
	want := map[store.FailMask]int64{fwOS: 2, fw: 2, 0: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FailMasks = %v, want %v", got, want)
	}
	page, err := p.DevicesWithFailMask(ctx(t), fwOS, "", 1)
	if err != nil || len(page) != 1 || page[0].ID != "d1" || page[0].Failing != fwOS || page[0].LastVerdict != health.Warning {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	page, err = p.DevicesWithFailMask(ctx(t), fwOS, "d1", 10)
	if err != nil || len(page) != 1 || page[0].ID != "d2" || page[0].Segment.OSVersion != "debian 12" {
		t.Fatalf("second page = %+v, %v", page, err)
	}
	zero, err := p.DevicesWithFailMask(ctx(t), 0, "", 10)
	if err != nil || len(zero) != 1 || zero[0].ID != "d4" {
		t.Fatalf("devices failing nothing = %+v, %v (a device that never checked in is in no cohort)", zero, err)
	}

	// Deleting a device takes it out of its cohort's count as well as
	// its list; deleting one that never checked in changes no count.
	da, ok := s.(store.DeviceAdmin)
	if !ok {
		t.Fatalf("%T does not implement store.DeviceAdmin", s)
	}
	for _, id := range []string{"d1", "d4", "never"} {
		if err := da.DeleteDevice(ctx(t), id); err != nil {
			t.Fatalf("DeleteDevice(%s): %v", id, err)
		}
	}
	got, err = p.FailMasks(ctx(t))
	if err != nil {
		t.Fatalf("FailMasks: %v", err)
	}
	want = map[store.FailMask]int64{fwOS: 1, fw: 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FailMasks after deleting d1 and d4 = %v, want %v", got, want)
	}
	page, err = p.DevicesWithFailMask(ctx(t), fwOS, "", 10)
	if err != nil || len(page) != 1 || page[0].ID != "d2" {
		t.Errorf("cohort after deleting d1 = %+v, %v; want d2 alone", page, err)
	}
}

func testPopAlerts(t *testing.T, s store.Store, p store.PopulationStats) {
	a := store.Alert{Key: "ears_c1/Emotet//2026-12-03", Day: popDay1, Detector: "ears_c1", Family: "Emotet",
		CreatedAt: base, Body: []byte(`{"statistic": 4.5}`)}
	if ok, err := p.SaveAlert(ctx(t), a); err != nil || !ok {
		t.Fatalf("SaveAlert = %v, %v", ok, err)
	}
	if ok, err := p.SaveAlert(ctx(t), a); err != nil || ok {
		t.Fatalf("second SaveAlert = %v, %v; want false, nil", ok, err)
	}
	b := a
	b.Key, b.Day, b.Detector = "ears_c2/Emotet//2026-12-04", popDay2, "ears_c2"
	if _, err := p.SaveAlert(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	got, err := p.Alerts(ctx(t), popDay1, popDay2)
	if err != nil || len(got) != 2 {
		t.Fatalf("Alerts = %+v, %v", got, err)
	}
	if got[0].Key != b.Key || !got[1].Day.Equal(popDay1) || got[1].Family != "Emotet" {
		t.Errorf("Alerts order or fields: %+v", got)
	}
	sameTime(t, "CreatedAt", got[1].CreatedAt, base)
	if string(got[1].Body) == "" {
		t.Error("alert body lost")
	}
}

func testPopPartners(t *testing.T, s store.Store, p store.PopulationStats) {
	h := []byte("0123456789abcdef0123456789abcdef")
	if err := p.AddPartner(ctx(t), "cert-eu", h, base); err != nil {
		t.Fatal(err)
	}
	if err := p.AddPartner(ctx(t), "cert-eu", []byte("other"), base); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name = %v, want ErrConflict", err)
	}
	if name, err := p.PartnerByTokenHash(ctx(t), h); err != nil || name != "cert-eu" {
		t.Errorf("PartnerByTokenHash = %q, %v", name, err)
	}
	if _, err := p.PartnerByTokenHash(ctx(t), []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown token = %v, want ErrNotFound", err)
	}
	h2 := []byte("fedcba9876543210fedcba9876543210")
	if err := p.AddPartner(ctx(t), "ae-isac", h2, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ps, err := p.Partners(ctx(t))
	if err != nil || len(ps) != 2 || ps[0].Name != "ae-isac" || ps[1].Name != "cert-eu" {
		t.Fatalf("Partners = %+v, %v; want ae-isac, cert-eu", ps, err)
	}
	sameTime(t, "Partner CreatedAt", ps[1].CreatedAt, base)
	if err := p.RemovePartner(ctx(t), "cert-eu"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PartnerByTokenHash(ctx(t), h); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a removed partner's token = %v, want ErrNotFound", err)
	}
	if name, err := p.PartnerByTokenHash(ctx(t), h2); err != nil || name != "ae-isac" {
		t.Errorf("the other partner's token: %q, %v", name, err)
	}
	if err := p.RemovePartner(ctx(t), "cert-eu"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing twice = %v, want ErrNotFound", err)
	}
	// The name can be given to a new partner with a new token.
	if err := p.AddPartner(ctx(t), "cert-eu", []byte("another token hash, 32 bytes...."), base); err != nil {
		t.Errorf("re-adding a removed partner's name: %v", err)
	}
}
