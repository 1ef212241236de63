package agent

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/source"
)

// TestHistoryCadence: a new endpoint is written to disk at once; a known
// one seen again only at a check-in or after historySaveEvery, so watch
// rounds cost a write only when something is new. The history never
// holds more than HistoryAge or HistoryMax, and a restarted agent reads
// what was written.
func TestHistoryCadence(t *testing.T) {
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	a := &Agent{Store: Store{Dir: dir}, Now: func() time.Time { return now }}
	conn := func(remote, state string) source.Connection {
		return source.Connection{Proto: "tcp", Local: "10.0.0.5:50000", Remote: remote, State: state}
	}
	mtime := func() time.Time {
		fi, err := os.Stat(a.Store.path(historyFile))
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	kept := func() map[string]Seen {
		var h []Seen
		a.Store.readJSON(historyFile, &h)
		out := map[string]Seen{}
		for _, s := range h {
			out[s.Endpoint] = s
		}
		return out
	}
	// Listening sockets and half-open inbound ones are not endpoints the
	// device talked to.
	must(t, a.observe([]source.Connection{conn("203.0.113.7:443", "SYN_SENT"), conn("198.51.100.9:51000", "SYN_RECV"),
		{Proto: "tcp", Local: "0.0.0.0:22", State: "LISTEN"}}, false))
	if k := kept(); len(k) != 1 || k["203.0.113.7:443"].First != now {
		t.Fatalf("kept %v, want the SYN_SENT endpoint only", k)
	}
	written := mtime()
	time.Sleep(20 * time.Millisecond) // file times tell writes apart

	now = now.Add(45 * time.Second)
	must(t, a.observe([]source.Connection{conn("203.0.113.7:443", "ESTABLISHED")}, false))
	if mtime() != written {
		t.Error("a watch round seeing a known endpoint rewrote the history")
	}
	if h := a.loadHistory(); len(h) != 1 || h[0].Last != now {
		t.Errorf("in memory %v, want last seen %v", h, now)
	}
	now = now.Add(historySaveEvery)
	must(t, a.observe([]source.Connection{conn("203.0.113.7:443", "ESTABLISHED")}, false))
	if k := kept(); k["203.0.113.7:443"].Last != now {
		t.Errorf("after %v the refreshed time is not written: %v", historySaveEvery, k)
	}

	// A restarted agent reads the history; what is older than HistoryAge
	// goes.
	b := &Agent{Store: Store{Dir: dir}, Now: func() time.Time { return now }}
	now = now.Add(HistoryAge + time.Minute)
	must(t, b.observe([]source.Connection{conn("192.0.2.80:8080", "TIME_WAIT")}, true))
	if h := b.loadHistory(); len(h) != 1 || h[0].Endpoint != "192.0.2.80:8080" {
		t.Errorf("history after %v: %v, want only the new endpoint", HistoryAge, h)
	}

	// At most HistoryMax, the least recently seen dropped first.
	var many []source.Connection
	for i := 0; i < HistoryMax+10; i++ {
		many = append(many, conn(fmt.Sprintf("198.18.%d.%d:443", i/250, i%250+1), "ESTABLISHED"))
	}
	now = now.Add(time.Minute)
	must(t, b.observe(many, false))
	now = now.Add(time.Minute)
	must(t, b.observe([]source.Connection{conn("192.0.2.80:8080", "ESTABLISHED")}, true))
	h := b.loadHistory()
	if len(h) != HistoryMax || h[0].Endpoint != "192.0.2.80:8080" {
		t.Errorf("%d endpoints, first %v; want %d with the one seen last first", len(h), h[0], HistoryMax)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
