package storetest

import (
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// InfectionOncePerDay checks that the new-infection aggregate counts a
// device at most once a day: a device that turns contraindicated, is
// cleared (its connection to a known-bad host ends) and turns
// contraindicated again the same day is one new infection that day; on a
// later day, turning contraindicated again after being cleared is a new
// episode and counts again.
func InfectionOncePerDay(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	p, ok := s.(store.PopulationStats)
	if !ok {
		t.Fatalf("%T does not implement store.PopulationStats", s)
	}
	bad := func(dev string, at time.Time) store.Checkin {
		c := popCheckin(dev, at, health.Contraindicated, health.Malware)
		c.Family = "Emotet"
		return c
	}
	good := func(dev string, at time.Time) store.Checkin { return popCheckin(dev, at, health.Affirming) }
	var cs []store.Checkin
	// Day 1: four devices; a and b switch three times, c twice, d once:
	// seven switches to contraindicated, four devices.
	for _, dev := range []string{"a", "b", "c", "d"} {
		mustCreate(t, s, newDevice(dev))
	}
	h := func(d time.Time, n int) time.Time { return d.Add(time.Duration(n) * time.Hour) }
	cs = append(cs,
		bad("a", h(popDay1, 1)), good("a", h(popDay1, 2)), bad("a", h(popDay1, 3)), good("a", h(popDay1, 4)), bad("a", h(popDay1, 5)),
		bad("b", h(popDay1, 1)), good("b", h(popDay1, 2)), bad("b", h(popDay1, 3)), good("b", h(popDay1, 4)), bad("b", h(popDay1, 5)),
		bad("c", h(popDay1, 6)), good("c", h(popDay1, 7)), bad("c", h(popDay1, 8)),
		bad("d", h(popDay1, 9)),
		// a is cleared late on day 1.
		good("a", h(popDay1, 23)),
		// Day 2: a turns contraindicated again (a new episode: counts);
		// b is still contraindicated (no new infection); c is cleared and
		// re-infected twice (counts once); d is cleared and stays clean.
		bad("a", h(popDay2, 1)),
		bad("b", h(popDay2, 1)),
		good("c", h(popDay2, 1)), bad("c", h(popDay2, 2)), good("c", h(popDay2, 3)), bad("c", h(popDay2, 4)),
		good("d", h(popDay2, 1)),
	)
	for _, c := range cs {
		mustRecord(t, s, c)
	}
	wantCells(t, "new infections", mustAggregate(t, p, store.AggInfection, store.DimNone), []store.AggregateCount{
		{Day: popDay1, Key: "Emotet", Count: 4},
		{Day: popDay2, Key: "Emotet", Count: 2},
	})
	wantCells(t, "new infections by OS", mustAggregate(t, p, store.AggInfection, store.DimOS), []store.AggregateCount{
		{Day: popDay1, Segment: store.Segment{OS: "linux"}, Key: "Emotet", Count: 4},
		{Day: popDay2, Segment: store.Segment{OS: "linux"}, Key: "Emotet", Count: 2},
	})
	// The verdict table still counts each device once a day by its
	// latest verdict.
	wantCells(t, "verdicts", mustAggregate(t, p, store.AggVerdict, store.DimNone), []store.AggregateCount{
		{Day: popDay1, Key: "affirming", Count: 1},
		{Day: popDay1, Key: "contraindicated", Count: 3},
		{Day: popDay2, Key: "affirming", Count: 1},
		{Day: popDay2, Key: "contraindicated", Count: 3},
	})
}
