package agent

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/herd-health/herd/internal/source"
)

// The endpoint history: the remote ends this device talked to, kept on
// the device only, so that an outside sighting can be confirmed or
// cleared by the device's own evidence (see SightingAnswers). It is
// sampled at every check-in and at every watch round between them
// (every 45 s by default), from the connection list the round's malware
// check read, so a connection that lives only between check-ins is
// remembered.

// History bounds: endpoints seen in the last HistoryAge, at most
// HistoryMax of them (the least recently seen are dropped first).
const (
	HistoryAge = 4 * 24 * time.Hour
	HistoryMax = 8192
)

// historySaveEvery bounds how long a refreshed "last seen" time may stay
// in memory only: a new endpoint is written at once, a known one seen
// again at the next check-in or after this long.
const historySaveEvery = 10 * time.Minute

// Seen is one remote endpoint the device talked to.
type Seen struct {
	Endpoint string    `json:"endpoint"` // ip:port
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// history is the endpoint history in memory, read from the state
// directory once.
type history struct {
	mu      sync.Mutex
	loaded  bool
	list    []Seen
	idx     map[string]int
	dirty   bool // times changed since the last write
	savedAt time.Time
}

func (a *Agent) hist() *history {
	a.histOnce.Do(func() { a.history = &history{} })
	return a.history
}

// loadLocked reads the kept history the first time it is needed.
func (h *history) loadLocked(s Store) {
	if h.loaded {
		return
	}
	h.loaded = true
	s.readJSON(historyFile, &h.list)
	h.reindexLocked()
}

func (h *history) reindexLocked() {
	h.idx = make(map[string]int, len(h.list))
	for i, s := range h.list {
		h.idx[s.Endpoint] = i
	}
}

// ObserveEndpoints reads the current connections and adds their remote
// ends to the history, writing it out.
func (a *Agent) ObserveEndpoints(ctx context.Context) error {
	conns, err := a.Source.Connections(ctx)
	if err != nil {
		return err
	}
	return a.observe(conns, true)
}

// observe adds the remote ends of conns (those the device talked to or
// tried to: source.Connection.Peer) to the history, drops what is older
// than HistoryAge and the least recently seen beyond HistoryMax, and
// writes the history when an endpoint is new, when save is set, or when
// the last write is older than historySaveEvery.
func (a *Agent) observe(conns []source.Connection, save bool) error {
	h := a.hist()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.loadLocked(a.Store)
	now := a.now().UTC()
	added := false
	for _, c := range conns {
		ap, ok := c.Peer()
		if !ok {
			continue
		}
		ep := ap.String()
		if i, ok := h.idx[ep]; ok {
			if h.list[i].Last.Before(now) {
				h.list[i].Last, h.dirty = now, true
			}
			continue
		}
		h.idx[ep] = len(h.list)
		h.list = append(h.list, Seen{Endpoint: ep, First: now, Last: now})
		added = true
	}
	n := len(h.list)
	h.list = slices.DeleteFunc(h.list, func(s Seen) bool { return now.Sub(s.Last) > HistoryAge })
	if len(h.list) > HistoryMax {
		slices.SortFunc(h.list, func(x, y Seen) int { return y.Last.Compare(x.Last) })
		h.list = h.list[:HistoryMax]
	}
	if len(h.list) != n {
		h.reindexLocked()
		h.dirty = true
	}
	if !added && !(h.dirty && (save || now.Sub(h.savedAt) >= historySaveEvery)) {
		return nil
	}
	out := slices.Clone(h.list)
	slices.SortFunc(out, func(x, y Seen) int { return y.Last.Compare(x.Last) })
	if err := a.Store.writeJSONFile(historyFile, out); err != nil {
		return err
	}
	h.dirty, h.savedAt = false, now
	return nil
}

// loadHistory is the history as it stands, most recently seen first.
func (a *Agent) loadHistory() []Seen {
	h := a.hist()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.loadLocked(a.Store)
	out := slices.Clone(h.list)
	slices.SortFunc(out, func(x, y Seen) int { return y.Last.Compare(x.Last) })
	return out
}

// memoSource reads the connection list once for a watch round: the
// round's malware check and the endpoint history share one read.
type memoSource struct {
	source.Source
	once  sync.Once
	conns []source.Connection
	err   error
}

func (m *memoSource) Connections(ctx context.Context) ([]source.Connection, error) {
	m.once.Do(func() { m.conns, m.err = m.Source.Connections(ctx) })
	return slices.Clone(m.conns), m.err
}
