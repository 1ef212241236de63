package storetest

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// FeedReports checks the record of feed imports, the live indicators by
// source and type, and the summary of recent sightings.
func FeedReports(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("FeedRuns", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		fr, ok := s.(store.FeedReports)
		if !ok {
			t.Fatalf("%T keeps no feed reports: both stores must", s)
		}
		if rs, err := fr.FeedRecords(ctx(t)); err != nil || len(rs) != 0 {
			t.Fatalf("FeedRecords before any run = %+v, %v; want none", rs, err)
		}
		runs := []store.FeedRun{
			{Name: "urlhaus", URL: "https://example.org/u.csv", At: base},
			{Name: "feodo", URL: "https://example.org/f.json", At: base, Err: "HTTP 503"},
			{Name: "urlhaus", URL: "https://example.org/u2.csv", At: base.Add(time.Hour), Err: "connection refused"},
		}
		for _, r := range runs {
			if err := fr.RecordFeedRun(ctx(t), r); err != nil {
				t.Fatalf("RecordFeedRun(%+v): %v", r, err)
			}
		}
		rs, err := fr.FeedRecords(ctx(t))
		if err != nil || len(rs) != 2 {
			t.Fatalf("FeedRecords = %+v, %v; want two", rs, err)
		}
		if rs[0].Name != "feodo" || !rs[0].LastSuccess.IsZero() || rs[0].LastError != "HTTP 503" {
			t.Errorf("feodo = %+v; want never succeeded, HTTP 503", rs[0])
		}
		sameTime(t, "feodo LastAttempt", rs[0].LastAttempt, base)
		// A failure keeps the last success and its error is shown.
		if rs[1].Name != "urlhaus" || rs[1].URL != "https://example.org/u2.csv" || rs[1].LastError != "connection refused" {
			t.Errorf("urlhaus = %+v", rs[1])
		}
		sameTime(t, "urlhaus LastSuccess", rs[1].LastSuccess, base)
		sameTime(t, "urlhaus LastAttempt", rs[1].LastAttempt, base.Add(time.Hour))
		// A success clears the error.
		if err := fr.RecordFeedRun(ctx(t), store.FeedRun{Name: "urlhaus", URL: "https://example.org/u2.csv", At: base.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		rs, _ = fr.FeedRecords(ctx(t))
		if rs[1].LastError != "" {
			t.Errorf("urlhaus error after a success = %q, want none", rs[1].LastError)
		}
		sameTime(t, "urlhaus LastSuccess after success", rs[1].LastSuccess, base.Add(2*time.Hour))

		// A failure recorded under a provisional name (the file's) is
		// dropped when the same location succeeds under its feed's name;
		// a record of that name that once succeeded, or of another
		// location, stays.
		for _, r := range []store.FeedRun{
			{Name: "list.csv", URL: "/srv/feeds/list.csv", At: base, Err: "not recognised"},
			{Name: "other.csv", URL: "/srv/feeds/other.csv", At: base, Err: "not recognised"},
			{Name: "feodotracker", URL: "/srv/feeds/list.csv", At: base.Add(time.Minute), Provisional: "list.csv"},
			{Name: "feodotracker", URL: "/srv/feeds/other.csv", At: base.Add(2 * time.Minute), Provisional: "urlhaus"},
		} {
			if err := fr.RecordFeedRun(ctx(t), r); err != nil {
				t.Fatalf("RecordFeedRun(%+v): %v", r, err)
			}
		}
		rs, _ = fr.FeedRecords(ctx(t))
		var names []string
		for _, r := range rs {
			names = append(names, r.Name)
		}
		if want := "[feodo feodotracker other.csv urlhaus]"; fmt.Sprint(names) != want {
			t.Errorf("records %v, want %s (list.csv replaced, urlhaus kept: it succeeded once)", names, want)
		}
	})
	t.Run("IndicatorsBySource", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		fr, ok := s.(store.FeedReports)
		is, ok2 := s.(store.Intel)
		if !ok || !ok2 {
			t.Fatalf("%T keeps no feed reports: both stores must", s)
		}
		if got, err := fr.IndicatorsBySource(ctx(t)); err != nil || len(got) != 0 {
			t.Fatalf("IndicatorsBySource on an empty set = %+v, %v", got, err)
		}
		_, err := is.ImportIndicators(ctx(t), base, func(add func(store.Indicator) error) error {
			for _, in := range []store.Indicator{
				{Type: "ipv4", Value: "192.0.2.1", Port: 443, Sources: []string{"feodo"}},
				{Type: "ipv4", Value: "192.0.2.2", Sources: []string{"feodo", "threatfox"}},
				{Type: "domain", Value: "bad.example", Sources: []string{"threatfox"}},
				{Type: "sha256", Value: "aa", Sources: []string{"threatfox"}},
				{Type: "ipv4", Value: "192.0.2.9", Sources: []string{"stale"}},
			} {
				if err := add(in); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The stale source's indicator is refreshed no more and expires.
		if _, err := s.(store.Feeds).TouchIndicators(ctx(t), "feodo", base, base.Add(48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.(store.Feeds).TouchIndicators(ctx(t), "threatfox", base, base.Add(48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n, _, err := is.ExpireIndicators(ctx(t), base.Add(49*time.Hour), base.Add(24*time.Hour), base); err != nil || n != 1 {
			t.Fatalf("ExpireIndicators = %d, %v; want 1", n, err)
		}
		got, err := fr.IndicatorsBySource(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.SourceIndicators{
			{Source: "feodo", ByType: map[string]int64{"ipv4": 2}},
			{Source: "threatfox", ByType: map[string]int64{"ipv4": 1, "domain": 1, "sha256": 1}},
		}
		if len(got) != len(want) {
			t.Fatalf("IndicatorsBySource = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].Source != want[i].Source || !maps.Equal(got[i].ByType, want[i].ByType) {
				t.Errorf("IndicatorsBySource[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
	t.Run("SightingsSince", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		fr, ok := s.(store.FeedReports)
		ss, ok2 := s.(store.Sightings)
		if !ok || !ok2 {
			t.Fatalf("%T keeps no feed reports: both stores must", s)
		}
		for _, id := range []string{"dev-a", "dev-b", "dev-c"} {
			mustCreate(t, s, newDevice(id))
		}
		recent, old := base.Add(-2*time.Hour), base.Add(-40*24*time.Hour)
		mustRecord(t, s, newCheckin("dev-a", recent, health.Affirming))
		mustRecord(t, s, newCheckin("dev-b", recent, health.Affirming))
		mustRecord(t, s, newCheckin("dev-c", old, health.Affirming))
		ip := newCheckin("dev-a", recent, health.Affirming).SourceIP
		add := func(at time.Time, c2 string) {
			t.Helper()
			if _, _, err := ss.AddSighting(ctx(t), store.Sighting{IP: ip, SeenAt: at, Family: "QakBot", C2: c2, Source: "shadowserver"}, 24*time.Hour, base); err != nil {
				t.Fatal(err)
			}
		}
		add(recent, "198.51.100.9:443") // asks a and b
		add(recent, "198.51.100.10:443")
		add(old, "198.51.100.11:443") // asks c, 40 days ago
		qa, err := ss.OpenQuestions(ctx(t), "dev-a")
		if err != nil || len(qa) != 2 {
			t.Fatalf("dev-a questions = %d, %v; want 2", len(qa), err)
		}
		for _, q := range qa {
			if err := ss.AnswerQuestion(ctx(t), "dev-a", q.ID, true, "{}", base); err != nil {
				t.Fatal(err)
			}
		}
		qc, _ := ss.OpenQuestions(ctx(t), "dev-c")
		for _, q := range qc {
			if err := ss.AnswerQuestion(ctx(t), "dev-c", q.ID, true, "{}", base); err != nil {
				t.Fatal(err)
			}
		}
		got, err := fr.SightingsSince(ctx(t), base.AddDate(0, 0, -30))
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.SightingSummary{Sightings: 2, DevicesAsked: 2, DevicesConfirmed: 1}); got != want {
			t.Errorf("SightingsSince(30 days) = %+v, want %+v", got, want)
		}
		all, _ := fr.SightingsSince(ctx(t), base.AddDate(0, 0, -60))
		if want := (store.SightingSummary{Sightings: 3, DevicesAsked: 3, DevicesConfirmed: 2}); all != want {
			t.Errorf("SightingsSince(60 days) = %+v, want %+v", all, want)
		}
	})
}
