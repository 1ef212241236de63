package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

type intelStore interface {
	store.Store
	store.Intel
	store.Sightings
}

// runIntel runs the threat-intelligence and sighting tests on stores that
// implement store.Intel and store.Sightings.
func runIntel(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s intelStore)
	}{
		{"IndicatorsImportDedupe", testIndicatorsImportDedupe},
		{"IndicatorsFailedFeedStoresNothing", testIndicatorsFailedFeed},
		{"IndicatorsDeltaAndExpiry", testIndicatorsDeltaAndExpiry},
		{"IndicatorsValidUntil", testIndicatorsValidUntil},
		{"IndicatorsWithdrawn", testIndicatorsWithdrawn},
		{"SightingsBehindNAT", testSightingsBehindNAT},
		{"SightingsImport", testSightingsImport},
		{"IndicatorFamily", testIndicatorFamily},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			is, ok := s.(intelStore)
			if !ok {
				t.Skipf("%T keeps no threat intelligence", s)
			}
			tc.fn(t, is)
		})
	}
}

func importList(t *testing.T, s intelStore, now time.Time, list ...store.Indicator) store.IndicatorImport {
	t.Helper()
	res, err := s.ImportIndicators(ctx(t), now, func(add func(store.Indicator) error) error {
		for _, in := range list {
			if err := add(in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ImportIndicators: %v", err)
	}
	return res
}

func live(t *testing.T, s intelStore, types ...string) (int64, map[string]store.Indicator) {
	t.Helper()
	out := map[string]store.Indicator{}
	v, err := s.LiveIndicators(ctx(t), types, func(in store.Indicator) error {
		out[fmt.Sprintf("%s %s %d", in.Type, in.Value, in.Port)] = in
		return nil
	})
	if err != nil {
		t.Fatalf("LiveIndicators: %v", err)
	}
	return v, out
}

func testIndicatorsImportDedupe(t *testing.T, s intelStore) {
	if v, err := s.IndicatorsVersion(ctx(t)); err != nil || v != 0 {
		t.Fatalf("IndicatorsVersion of an empty store = %d, %v; want 0", v, err)
	}
	c2 := store.Indicator{Type: "ipv4", Value: "192.0.2.10", Port: 443, Sources: []string{"feodotracker"}, Family: "QakBot", Confidence: 75,
		FirstSeen: base.Add(-48 * time.Hour), LastSeen: base.Add(-24 * time.Hour)}
	r := importList(t, s, base, c2,
		store.Indicator{Type: "sha256", Value: "aa" + fmt.Sprintf("%062d", 1), Sources: []string{"malwarebazaar"}},
		store.Indicator{Type: "ipv4", Value: "192.0.2.10", Port: 8080, Sources: []string{"feodotracker"}})
	if r.Stored != 3 || r.Added != 3 || r.Version != 1 {
		t.Fatalf("first import = %+v, want 3 stored, 3 added, version 1", r)
	}
	// The same C2 from another feed: kept once, both sources, widest times.
	other := c2
	other.Sources, other.Family, other.Confidence = []string{"threatfox"}, "", 100
	other.FirstSeen, other.LastSeen = base.Add(-72*time.Hour), base.Add(-time.Hour)
	r = importList(t, s, base.Add(time.Hour), other)
	if r.Stored != 1 || r.Added != 0 || r.Version != 1 {
		t.Fatalf("second import = %+v, want 1 stored, 0 added, version still 1", r)
	}
	v, got := live(t, s)
	if v != 1 || len(got) != 3 {
		t.Fatalf("live = version %d, %d indicators; want 1, 3", v, len(got))
	}
	in := got["ipv4 192.0.2.10 443"]
	if !slices.Equal(in.Sources, []string{"feodotracker", "threatfox"}) || in.Family != "QakBot" || in.Confidence != 100 {
		t.Errorf("merged indicator = %+v, want both sources, family QakBot, confidence 100", in)
	}
	sameTime(t, "FirstSeen", in.FirstSeen, base.Add(-72*time.Hour))
	sameTime(t, "LastSeen", in.LastSeen, base.Add(-time.Hour))
	sameTime(t, "RefreshedAt", in.RefreshedAt, base.Add(time.Hour))
	if _, only := live(t, s, "sha256"); len(only) != 1 {
		t.Errorf("LiveIndicators(sha256) = %d indicators, want 1", len(only))
	}
}

func testIndicatorsFailedFeed(t *testing.T, s intelStore) {
	importList(t, s, base, store.Indicator{Type: "domain", Value: "good.example", Sources: []string{"a"}})
	boom := errors.New("truncated")
	_, err := s.ImportIndicators(ctx(t), base, func(add func(store.Indicator) error) error {
		if err := add(store.Indicator{Type: "domain", Value: "half.example", Sources: []string{"b"}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ImportIndicators of a failing feed = %v, want its error", err)
	}
	v, got := live(t, s)
	if v != 1 || len(got) != 1 {
		t.Errorf("after a failed import: version %d, %d indicators; want 1 and 1 (nothing from the failed feed)", v, len(got))
	}
}

func testIndicatorsDeltaAndExpiry(t *testing.T, s intelStore) {
	a := store.Indicator{Type: "ipv4", Value: "198.51.100.1", Sources: []string{"f"}}
	b := store.Indicator{Type: "domain", Value: "c2.example", Sources: []string{"f"}}
	importList(t, s, base, a)                   // v1
	importList(t, s, base.Add(48*time.Hour), b) // v2
	d, err := s.IndicatorChanges(ctx(t), 1, nil)
	if err != nil || d.To != 2 || len(d.Added) != 1 || d.Added[0].Value != "c2.example" || len(d.Removed) != 0 {
		t.Fatalf("IndicatorChanges(1) = %+v, %v; want c2.example added, to 2", d, err)
	}
	// a was last listed at base: stale a day later than that.
	n, v, err := s.ExpireIndicators(ctx(t), base.Add(49*time.Hour), base.Add(24*time.Hour), base.Add(-time.Hour))
	if err != nil || n != 1 || v != 3 {
		t.Fatalf("ExpireIndicators = %d, %d, %v; want 1 removed, version 3", n, v, err)
	}
	d, err = s.IndicatorChanges(ctx(t), 2, nil)
	if err != nil || d.To != 3 || len(d.Removed) != 1 || d.Removed[0].Value != "198.51.100.1" || len(d.Added) != 0 {
		t.Fatalf("IndicatorChanges(2) = %+v, %v; want 198.51.100.1 removed", d, err)
	}
	// From 1 the device never saw b, and a is gone.
	d, err = s.IndicatorChanges(ctx(t), 1, nil)
	if err != nil || len(d.Added) != 1 || len(d.Removed) != 1 {
		t.Fatalf("IndicatorChanges(1) = %+v, %v; want one added, one removed", d, err)
	}
	if d, err := s.IndicatorChanges(ctx(t), 0, []string{"domain"}); err != nil || len(d.Added) != 1 || len(d.Removed) != 0 {
		t.Fatalf("IndicatorChanges(0, domain) = %+v, %v; want only c2.example", d, err)
	}
	// Nothing more is stale; forgetting the removal makes old deltas impossible.
	n, v, err = s.ExpireIndicators(ctx(t), base.Add(100*time.Hour), base.Add(24*time.Hour), base.Add(100*time.Hour))
	if err != nil || n != 0 || v != 3 {
		t.Fatalf("second ExpireIndicators = %d, %d, %v; want 0, 3", n, v, err)
	}
	if _, err := s.IndicatorChanges(ctx(t), 2, nil); !errors.Is(err, store.ErrDeltaTooOld) {
		t.Fatalf("IndicatorChanges(2) after forgetting = %v, want ErrDeltaTooOld", err)
	}
	if d, err := s.IndicatorChanges(ctx(t), 3, nil); err != nil || len(d.Added)+len(d.Removed) != 0 {
		t.Fatalf("IndicatorChanges(3) = %+v, %v; want no changes", d, err)
	}
	// A removed indicator listed again comes back in a new version.
	if r := importList(t, s, base.Add(101*time.Hour), a); r.Added != 1 || r.Version != 4 {
		t.Fatalf("re-import = %+v, want 1 added, version 4", r)
	}
	if _, got := live(t, s); len(got) != 2 {
		t.Errorf("live after re-import = %d, want 2", len(got))
	}
}

// An indicator a feed says is valid until a time leaves the live set
// then, however recently it was listed; listed again by its only feed
// with a later end, it stays longer; another feed listing it without an
// end keeps it until it goes stale.
func testIndicatorsValidUntil(t *testing.T, s intelStore) {
	stale, forget := base.Add(-30*24*time.Hour), base.Add(-60*24*time.Hour)
	a := store.Indicator{Type: "ipv4", Value: "203.0.113.77", Port: 443, Sources: []string{"stix"}, ValidUntil: base.Add(2 * time.Hour)}
	b := store.Indicator{Type: "domain", Value: "c2.example", Sources: []string{"stix"}, ValidUntil: base.Add(2 * time.Hour)}
	importList(t, s, base, a, b) // v1
	_, got := live(t, s)
	sameTime(t, "ValidUntil", got["ipv4 203.0.113.77 443"].ValidUntil, base.Add(2*time.Hour))
	if n, v, err := s.ExpireIndicators(ctx(t), base.Add(time.Hour), stale, forget); err != nil || n != 0 || v != 1 {
		t.Fatalf("ExpireIndicators before valid_until = %d, %d, %v; want 0, 1", n, v, err)
	}
	// The feed publishes a a later end; another feed lists b with none.
	a.ValidUntil = base.Add(10 * time.Hour)
	importList(t, s, base.Add(time.Hour), a, store.Indicator{Type: "domain", Value: "c2.example", Sources: []string{"urlfeed"}})
	_, got = live(t, s)
	sameTime(t, "extended ValidUntil", got["ipv4 203.0.113.77 443"].ValidUntil, base.Add(10*time.Hour))
	if vu := got["domain c2.example 0"].ValidUntil; !vu.IsZero() {
		t.Errorf("b listed without an end by a second feed has ValidUntil %v, want none", vu)
	}
	// The original end of a has passed: it stays (extended), b stays (open).
	if n, v, err := s.ExpireIndicators(ctx(t), base.Add(3*time.Hour), stale, forget); err != nil || n != 0 || v != 1 {
		t.Fatalf("ExpireIndicators after the first end = %d, %d, %v; want 0, 1", n, v, err)
	}
	n, v, err := s.ExpireIndicators(ctx(t), base.Add(10*time.Hour), stale, forget)
	if err != nil || n != 1 || v != 2 {
		t.Fatalf("ExpireIndicators at the extended end = %d, %d, %v; want 1, version 2", n, v, err)
	}
	d, err := s.IndicatorChanges(ctx(t), 1, nil)
	if err != nil || len(d.Removed) != 1 || d.Removed[0].Value != "203.0.113.77" || len(d.Added) != 0 {
		t.Fatalf("IndicatorChanges(1) = %+v, %v; want 203.0.113.77 removed", d, err)
	}
	if _, got := live(t, s); len(got) != 1 {
		t.Errorf("live = %v, want only c2.example", got)
	}
}

// A feed withdrawing an indicator (a revoked STIX re-publication) takes
// only its own listing away: the indicator stays while another feed
// lists it, and leaves the live set, in a new version devices learn by
// delta, when none does. Withdrawing what is not stored changes nothing.
func testIndicatorsWithdrawn(t *testing.T, s intelStore) {
	c2 := store.Indicator{Type: "ipv4", Value: "198.51.100.9", Port: 443, Family: "QakBot"}
	fromA, fromB := c2, c2
	fromA.Sources, fromB.Sources = []string{"cert-a"}, []string{"cert-b"}
	importList(t, s, base, fromA, fromB) // v1
	withdrawA := fromA
	withdrawA.Withdrawn = true
	r := importList(t, s, base.Add(time.Hour), withdrawA)
	if r.Withdrawn != 1 || r.Removed != 0 || r.Version != 2 {
		t.Fatalf("withdrawing cert-a's listing = %+v; want 1 withdrawn, none removed, version 2 (the first source changed)", r)
	}
	v, got := live(t, s)
	if in := got["ipv4 198.51.100.9 443"]; v != 2 || !slices.Equal(in.Sources, []string{"cert-b"}) {
		t.Fatalf("after cert-a withdrew: version %d, %+v; want version 2, cert-b only", v, in)
	}
	// Withdrawing an indicator no one stored, or a source never listed.
	ghost := store.Indicator{Type: "domain", Value: "never.example", Sources: []string{"cert-a"}, Withdrawn: true}
	if r := importList(t, s, base.Add(2*time.Hour), ghost, withdrawA); r.Withdrawn != 0 || r.Removed != 0 || r.Version != 2 {
		t.Fatalf("withdrawing what is not listed = %+v; want nothing, version 2", r)
	}
	withdrawB := fromB
	withdrawB.Withdrawn = true
	if r := importList(t, s, base.Add(3*time.Hour), withdrawB); r.Withdrawn != 1 || r.Removed != 1 || r.Version != 3 {
		t.Fatalf("withdrawing the last listing = %+v; want 1 withdrawn, 1 removed, version 3", r)
	}
	if _, got := live(t, s); len(got) != 0 {
		t.Fatalf("live after both withdrew = %v, want none", got)
	}
	d, err := s.IndicatorChanges(ctx(t), 1, nil)
	if err != nil || d.To != 3 || len(d.Removed) != 1 || d.Removed[0].Value != "198.51.100.9" {
		t.Fatalf("IndicatorChanges(1) = %+v, %v; want 198.51.100.9 removed by version 3", d, err)
	}
	// Listed again, it comes back.
	if r := importList(t, s, base.Add(4*time.Hour), fromA); r.Added != 1 || r.Version != 4 {
		t.Fatalf("listed again = %+v; want 1 added, version 4", r)
	}
}

func testSightingsBehindNAT(t *testing.T, s intelStore) {
	for _, id := range []string{"dev-a", "dev-b", "dev-c"} {
		mustCreate(t, s, newDevice(id))
	}
	at := base.Add(-2 * time.Hour)
	// a and b share the NAT address 192.0.2.7; c checked in from it a week earlier.
	mustRecord(t, s, newCheckin("dev-a", at.Add(-30*time.Minute), health.Affirming))
	mustRecord(t, s, newCheckin("dev-b", at.Add(20*time.Minute), health.Affirming))
	mustRecord(t, s, newCheckin("dev-c", at.Add(-7*24*time.Hour), health.Affirming))
	other := newCheckin("dev-c", at, health.Affirming)
	other.SourceIP = "203.0.113.5"
	mustRecord(t, s, other)

	id, asked, err := s.AddSighting(ctx(t), store.Sighting{IP: "192.0.2.7", SeenAt: at, Family: "QakBot", C2: "198.51.100.9:443", Source: "shadowserver"}, 24*time.Hour, base)
	if err != nil {
		t.Fatalf("AddSighting: %v", err)
	}
	if !slices.Equal(asked, []string{"dev-a", "dev-b"}) {
		t.Fatalf("devices asked = %v, want [dev-a dev-b]", asked)
	}
	qa, err := s.OpenQuestions(ctx(t), "dev-a")
	if err != nil || len(qa) != 1 || qa[0].SightingID != id || qa[0].C2 != "198.51.100.9:443" || qa[0].Window != 24*time.Hour {
		t.Fatalf("OpenQuestions(dev-a) = %+v, %v", qa, err)
	}
	sameTime(t, "SeenAt", qa[0].SeenAt, at)
	if q, _ := s.OpenQuestions(ctx(t), "dev-c"); len(q) != 0 {
		t.Errorf("dev-c was asked %d questions, want none", len(q))
	}
	qb, _ := s.OpenQuestions(ctx(t), "dev-b")
	// A device cannot answer another's question.
	if err := s.AnswerQuestion(ctx(t), "dev-b", qa[0].ID, true, "{}", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("answering another device's question = %v, want ErrNotFound", err)
	}
	if err := s.AnswerQuestion(ctx(t), "dev-a", qa[0].ID, true, `{"endpoint":"198.51.100.9:443"}`, base); err != nil {
		t.Fatalf("AnswerQuestion(a): %v", err)
	}
	if err := s.AnswerQuestion(ctx(t), "dev-a", qa[0].ID, false, "", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("answering twice = %v, want ErrNotFound", err)
	}
	if err := s.AnswerQuestion(ctx(t), "dev-b", qb[0].ID, false, "", base); err != nil {
		t.Fatalf("AnswerQuestion(b): %v", err)
	}
	if q, _ := s.OpenQuestions(ctx(t), "dev-a"); len(q) != 0 {
		t.Errorf("dev-a still has %d open questions", len(q))
	}
	ca, err := s.ConfirmedSince(ctx(t), "dev-a", base.Add(-time.Hour))
	if err != nil || len(ca) != 1 || !ca[0].Confirmed || ca[0].Evidence != `{"endpoint":"198.51.100.9:443"}` {
		t.Fatalf("ConfirmedSince(dev-a) = %+v, %v", ca, err)
	}
	if cb, _ := s.ConfirmedSince(ctx(t), "dev-b", base.Add(-time.Hour)); len(cb) != 0 {
		t.Errorf("dev-b has %d confirmations, want none", len(cb))
	}
	if ca, _ := s.ConfirmedSince(ctx(t), "dev-a", base.Add(time.Hour)); len(ca) != 0 {
		t.Errorf("ConfirmedSince after the answer = %d, want none", len(ca))
	}
}

// importSightings runs one ImportSightings of list.
func importSightings(t *testing.T, s intelStore, now time.Time, list ...store.Sighting) store.SightingImport {
	t.Helper()
	r, err := s.ImportSightings(ctx(t), now, 24*time.Hour, func(add func(store.Sighting) error) error {
		for _, sg := range list {
			if err := add(sg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ImportSightings: %v", err)
	}
	return r
}

func openCount(t *testing.T, s intelStore, dev string) []store.Question {
	t.Helper()
	q, err := s.OpenQuestions(ctx(t), dev)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// One report is one transaction: a report imported again asks no device
// twice (only a device that checked in from the address since); a report
// whose feed fails stores nothing; a sighting without a C2 asks about
// the family's addresses when the indicator set holds some, and asks
// nobody when it holds none.
func testSightingsImport(t *testing.T, s intelStore) {
	for _, id := range []string{"dev-a", "dev-b", "dev-d"} {
		mustCreate(t, s, newDevice(id))
	}
	at := base.Add(-2 * time.Hour)
	mustRecord(t, s, newCheckin("dev-a", at.Add(-30*time.Minute), health.Affirming)) // 192.0.2.7
	mustRecord(t, s, newCheckin("dev-b", at.Add(20*time.Minute), health.Affirming))
	importList(t, s, base, store.Indicator{Type: "ipv4", Value: "198.51.100.9", Port: 443, Sources: []string{"threatfox"}, Family: "win.qakbot"})
	withC2 := store.Sighting{IP: "192.0.2.7", SeenAt: at, Family: "QakBot", C2: "198.51.100.9:443", Source: "shadowserver"}
	familyOnly := store.Sighting{IP: "192.0.2.7", SeenAt: at.Add(time.Minute), Family: "qakbot", Source: "shadowserver"}
	unknown := store.Sighting{IP: "192.0.2.7", SeenAt: at.Add(2 * time.Minute), Family: "nobodyknowsbot", Source: "shadowserver"}

	r := importSightings(t, s, base, withC2, withC2, familyOnly, unknown)
	if r.Sightings != 3 || r.Duplicates != 1 || r.Questions != 4 || r.NotAsked != 1 || !slices.Equal(r.Devices, []string{"dev-a", "dev-b"}) {
		t.Fatalf("first import = %+v; want 3 sightings, 1 duplicate, 4 questions to dev-a and dev-b, 1 not asked", r)
	}
	qa := openCount(t, s, "dev-a")
	if len(qa) != 2 || qa[0].C2 != "198.51.100.9:443" || qa[1].C2 != "" || qa[1].Family != "qakbot" {
		t.Fatalf("dev-a questions = %+v; want the C2 one and the family one", qa)
	}
	// The same report again: nothing new, nobody asked twice.
	r = importSightings(t, s, base.Add(time.Minute), withC2, familyOnly, unknown)
	if r.Sightings != 0 || r.Duplicates != 3 || r.Questions != 0 || len(r.Devices) != 0 {
		t.Fatalf("again = %+v; want 3 duplicates and no question", r)
	}
	if q := openCount(t, s, "dev-a"); len(q) != 2 {
		t.Fatalf("dev-a has %d questions after the report came again, want 2", len(q))
	}
	// A device that checked in from the address since is asked then.
	d := newCheckin("dev-d", at.Add(time.Hour), health.Affirming)
	mustRecord(t, s, d)
	r = importSightings(t, s, base.Add(2*time.Minute), withC2, familyOnly)
	if r.Sightings != 0 || r.Duplicates != 2 || r.Questions != 2 || !slices.Equal(r.Devices, []string{"dev-d"}) {
		t.Fatalf("again with dev-d = %+v; want dev-d asked twice", r)
	}
	// A report whose feed fails half way stores nothing.
	boom := errors.New("truncated")
	_, err := s.ImportSightings(ctx(t), base, 24*time.Hour, func(add func(store.Sighting) error) error {
		if err := add(store.Sighting{IP: "192.0.2.7", SeenAt: at.Add(time.Hour), Family: "Emotet", C2: "203.0.113.5:8080", Source: "x"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ImportSightings of a failing report = %v, want its error", err)
	}
	if q := openCount(t, s, "dev-a"); len(q) != 2 {
		t.Errorf("dev-a has %d questions after a failed report, want 2", len(q))
	}
	// AddSighting dedupes too.
	id1, asked, err := s.AddSighting(ctx(t), withC2, 24*time.Hour, base)
	if err != nil || len(asked) != 0 {
		t.Fatalf("AddSighting of a known sighting = %v, %v; want nobody asked", asked, err)
	}
	if qa[0].SightingID != id1 {
		t.Errorf("AddSighting gave sighting %d, want the stored %d", id1, qa[0].SightingID)
	}
}

// testIndicatorFamily: the family of one stored indicator, by its exact
// (type, value, port), live or removed; ErrNotFound for any other.
func testIndicatorFamily(t *testing.T, s intelStore) {
	fs, ok := s.(store.IndicatorFamilies)
	if !ok {
		t.Fatalf("%T does not implement store.IndicatorFamilies", s)
	}
	importList(t, s, base,
		store.Indicator{Type: "ipv4", Value: "192.0.2.10", Port: 443, Sources: []string{"feodotracker"}, Family: "QakBot"},
		store.Indicator{Type: "ipv4", Value: "192.0.2.10", Port: 0, Sources: []string{"feodotracker"}, Family: "Emotet"},
		store.Indicator{Type: "sha256", Value: fmt.Sprintf("%064d", 7), Sources: []string{"malwarebazaar"}},
		store.Indicator{Type: "domain", Value: "gone.example", Sources: []string{"urlhaus"}, Family: "Mirai"})
	// gone.example is no longer listed: removed, but still known.
	if _, _, err := s.ExpireIndicators(ctx(t), base.Add(48*time.Hour), base.Add(time.Hour), base.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	importList(t, s, base.Add(48*time.Hour),
		store.Indicator{Type: "ipv4", Value: "192.0.2.10", Port: 443, Sources: []string{"feodotracker"}, Family: "QakBot"})
	for _, tc := range []struct {
		typ, value string
		port       int
		want       string
		err        error
	}{
		{"ipv4", "192.0.2.10", 443, "QakBot", nil},
		{"ipv4", "192.0.2.10", 0, "Emotet", nil},
		{"sha256", fmt.Sprintf("%064d", 7), 0, "", nil},
		{"domain", "gone.example", 0, "Mirai", nil},
		{"ipv4", "192.0.2.10", 8080, "", store.ErrNotFound},
		{"ipv4", "192.0.2.11", 0, "", store.ErrNotFound},
		{"domain", "192.0.2.10", 0, "", store.ErrNotFound},
	} {
		got, err := fs.IndicatorFamily(ctx(t), tc.typ, tc.value, tc.port)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("IndicatorFamily(%s, %s, %d) = %q, %v; want %q, %v", tc.typ, tc.value, tc.port, got, err, tc.want, tc.err)
		}
	}
}
