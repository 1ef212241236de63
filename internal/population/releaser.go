package population

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// MinEpsilon is the least ε that adds noise worth the name: below it the
// noise scale (sensitivity/ε) swamps any count, and a near-zero ε is more
// likely a typing mistake than a wish. 0 means no noise.
const MinEpsilon = 0.01

// CheckEpsilon reports what is wrong with ε as a noise parameter.
func CheckEpsilon(eps float64) error {
	switch {
	case math.IsNaN(eps) || math.IsInf(eps, 0):
		return fmt.Errorf("epsilon must be a finite number, got %v", eps)
	case eps < 0:
		return fmt.Errorf("epsilon must be 0 (no noise) or at least %g, got %v", MinEpsilon, eps)
	case eps > 0 && eps < MinEpsilon:
		return fmt.Errorf("epsilon %v is below %g: the noise would drown every count (use 0 for none)", eps, MinEpsilon)
	}
	return nil
}

// The dimensions of a joint release: the whole population and the four
// segment dimensions. A device is in one count of each per line.
var jointDims = len(releaseDims) + 1

// Sensitivity is the L1 sensitivity of one table-day of the joint release
// (every dimension and the whole population at once): how much one
// device can change the table's counts. A device is counted once per day
// in the verdict table and in at most one new-infection cell a day, so
// it changes one count per dimension; in the failing table it changes at
// most one count per check per dimension.
func Sensitivity(table store.AggregateKind) int {
	if table == store.AggFailing {
		return len(health.CheckIDs) * jointDims
	}
	return jointDims
}

// ReleasedCount is one count of a day release. Value is nil when it is
// withheld.
type ReleasedCount struct {
	Dimension store.Dimension // store.DimNone: the whole population
	Segment   string          // "" for the whole population
	Key       string
	Value     *int64
}

// DayTable is one table of a day release.
type DayTable struct {
	Name        store.AggregateKind
	Sensitivity int
	NoiseScale  float64 // 0 without noise
	// Counts are every line's counts: the whole population and each
	// dimension's segments, ordered by key, dimension, segment.
	Counts []ReleasedCount
	// RowTotals are the per-segment totals (Key ""), published only for
	// rows holding no withheld count, and only without noise.
	RowTotals []ReleasedCount
}

// DayRelease is what every sharing channel may show about one complete
// day (UTC): the three tables with disclosure control applied to all of
// them and to every dimension at once.
type DayRelease struct {
	Day      string // YYYY-MM-DD
	MinCount int64
	Epsilon  float64
	Tables   []DayTable // verdict, failing, infection; empty when the day has no counts
}

// Table returns the named table (nil when the day has none).
func (d *DayRelease) Table(name store.AggregateKind) *DayTable {
	for i := range d.Tables {
		if d.Tables[i].Name == name {
			return &d.Tables[i]
		}
	}
	return nil
}

// releaseRecord is what the authority keeps about a released day: its
// parameters and noise seed, fixed by its first release.
type releaseRecord struct {
	MinCount int64   `json:"min_count"`
	Epsilon  float64 `json:"epsilon"`
	Seed     []byte  `json:"seed"`
}

func recordName(day string) string { return "population-release/" + day }

// Releaser makes the day releases every sharing channel shows.
//
// A day is released once: the first release of a complete day records
// its K, its ε and a random noise seed (Records), and every later
// release of that day, through any channel, on any node, after a restart
// or a change of configuration, uses the recorded K, ε and seed. So the
// same counts are withheld and the same noisy values published every
// time (asking again or changing the configuration draws no fresh noise
// to average away), and two releases of one day can never be combined
// into more than one says. K and ε given here apply to days not yet
// released.
type Releaser struct {
	Stats store.PopulationStats
	// Records keeps each released day's parameters and noise seed
	// (normally the store). Nil records nothing: every release then uses
	// MinCount and Epsilon as given, and Epsilon must be 0.
	Records  store.Secrets
	MinCount int64 // K (default 10, at least 2)
	Epsilon  float64
	Now      func() time.Time

	mu    sync.Mutex
	cache map[string]*DayRelease
}

func (r *Releaser) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Releaser) params() (int64, float64, error) {
	k := r.MinCount
	if k == 0 {
		k = 10
	}
	if k < 2 {
		return 0, 0, fmt.Errorf("%w: min count (K) must be at least 2, got %d", ErrInvalidOption, k)
	}
	if err := CheckEpsilon(r.Epsilon); err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if r.Epsilon > 0 && r.Records == nil {
		return 0, 0, fmt.Errorf("%w: noise needs a place to keep each day's seed", ErrInvalidOption)
	}
	return k, r.Epsilon, nil
}

// LastCompleteDay is the last day (UTC) that is over.
func (r *Releaser) LastCompleteDay() time.Time { return lastCompleteDay(r.now()) }

// Days returns the releases of the complete days from from to to (UTC,
// inclusive), oldest first. A day that is not over is an error: no
// channel shows "today so far", whose counts change while one watches.
func (r *Releaser) Days(ctx context.Context, from, to time.Time) ([]*DayRelease, error) {
	k, eps, err := r.params()
	if err != nil {
		return nil, err
	}
	from, to = dayOf(from), dayOf(to)
	if from.After(to) {
		return nil, fmt.Errorf("%w: the first day %s is after the last %s", ErrInvalidOption, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if err := checkComplete(to, r.now()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	var out []*DayRelease
	var missing []time.Time
	r.mu.Lock()
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if rel, ok := r.cache[d.Format(time.DateOnly)]; ok {
			out = append(out, rel)
		} else {
			out = append(out, nil)
			missing = append(missing, d)
		}
	}
	r.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	// One read per table over the missing days.
	byDay := map[string]map[store.AggregateKind][]store.AggregateCount{}
	for _, kind := range []store.AggregateKind{store.AggVerdict, store.AggFailing, store.AggInfection} {
		cells, err := r.Stats.Aggregate(ctx, kind, store.DimAll, missing[0], missing[len(missing)-1])
		if err != nil {
			return nil, fmt.Errorf("reading the %s aggregates: %w", kind, err)
		}
		for _, c := range cells {
			d := c.Day.UTC().Format(time.DateOnly)
			if byDay[d] == nil {
				byDay[d] = map[store.AggregateKind][]store.AggregateCount{}
			}
			byDay[d][kind] = append(byDay[d][kind], c)
		}
	}
	made := map[string]*DayRelease{}
	for _, d := range missing {
		key := d.Format(time.DateOnly)
		rec := releaseRecord{MinCount: k, Epsilon: eps}
		if byDay[key] != nil && r.Records != nil {
			// Only a day with counts is released (an empty day says
			// nothing, so it fixes nothing either).
			if rec, err = r.record(ctx, key, k, eps); err != nil {
				return nil, err
			}
		}
		rel, err := releaseDay(key, byDay[key], rec)
		if err != nil {
			return nil, err
		}
		made[key] = rel
	}
	r.mu.Lock()
	if r.cache == nil {
		r.cache = map[string]*DayRelease{}
	}
	for key, rel := range made {
		r.cache[key] = rel
	}
	if len(r.cache) > 800 {
		keys := make([]string, 0, len(r.cache))
		for key := range r.cache {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys[:len(keys)-400] {
			delete(r.cache, key)
		}
	}
	r.mu.Unlock()
	for i, d := 0, from; i < len(out); i, d = i+1, d.AddDate(0, 0, 1) {
		if out[i] == nil {
			out[i] = made[d.Format(time.DateOnly)]
		}
	}
	return out, nil
}

// record returns the day's release record, making it (with k, ε and a
// fresh seed) if the day was never released.
func (r *Releaser) record(ctx context.Context, day string, k int64, eps float64) (releaseRecord, error) {
	b, err := r.Records.Secret(ctx, recordName(day), func() []byte {
		seed := make([]byte, 32)
		rand.Read(seed)
		b, _ := json.Marshal(releaseRecord{MinCount: k, Epsilon: eps, Seed: seed})
		return b
	})
	if err != nil {
		return releaseRecord{}, fmt.Errorf("reading the release record of %s: %w", day, err)
	}
	var rec releaseRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.MinCount < 2 || CheckEpsilon(rec.Epsilon) != nil || (rec.Epsilon > 0 && len(rec.Seed) < 16) {
		return releaseRecord{}, fmt.Errorf("the release record of %s is damaged", day)
	}
	return rec, nil
}

// releaseDay protects one day's counts with rec's K and adds rec's noise.
func releaseDay(day string, cells map[store.AggregateKind][]store.AggregateCount, rec releaseRecord) (*DayRelease, error) {
	rel := &DayRelease{Day: day, MinCount: rec.MinCount, Epsilon: rec.Epsilon}
	if len(cells) == 0 {
		return rel, nil
	}
	d := newDayCounts(cells, rec.MinCount)
	if err := protect(d, rec.MinCount); err != nil {
		return nil, fmt.Errorf("%s: %w", day, err)
	}
	for _, table := range []store.AggregateKind{store.AggVerdict, store.AggFailing, store.AggInfection} {
		t := DayTable{Name: table, Sensitivity: Sensitivity(table), Counts: []ReleasedCount{}}
		if rec.Epsilon > 0 {
			t.NoiseScale = float64(t.Sensitivity) / rec.Epsilon
		}
		rows := map[relRef]*struct {
			sum  int64
			held bool
		}{}
		for _, l := range d.lines {
			if l.table != table {
				continue
			}
			nodes := append([]relNode(nil), l.nodes...)
			sort.SliceStable(nodes, func(i, j int) bool { return refLess(nodes[i].ref, nodes[j].ref) })
			for _, nd := range nodes {
				c := ReleasedCount{Dimension: nd.ref.dim, Segment: nd.ref.seg, Key: l.key}
				if !nd.withheld {
					v := nd.n
					if t.NoiseScale > 0 {
						v = noisy(nd.n, t.NoiseScale, noiseUniform(rec.Seed, day, table, nd.ref, l.key))
					}
					c.Value = &v
				}
				t.Counts = append(t.Counts, c)
				if nd.ref.dim == store.DimNone {
					continue
				}
				row := rows[nd.ref]
				if row == nil {
					row = &struct {
						sum  int64
						held bool
					}{}
					rows[nd.ref] = row
				}
				row.sum += nd.n
				row.held = row.held || nd.withheld
			}
		}
		if t.NoiseScale == 0 {
			refs := make([]relRef, 0, len(rows))
			for ref := range rows {
				refs = append(refs, ref)
			}
			sort.Slice(refs, func(i, j int) bool { return refLess(refs[i], refs[j]) })
			for _, ref := range refs {
				c := ReleasedCount{Dimension: ref.dim, Segment: ref.seg}
				if !rows[ref].held {
					v := rows[ref].sum
					c.Value = &v
				}
				t.RowTotals = append(t.RowTotals, c)
			}
		}
		rel.Tables = append(rel.Tables, t)
	}
	return rel, nil
}

// noiseUniform is the uniform draw in (0, 1) behind one count's noise:
// an HMAC of the count's name under the day's seed, so the same count of
// the same day always gets the same noise.
func noiseUniform(seed []byte, day string, table store.AggregateKind, ref relRef, key string) float64 {
	m := hmac.New(sha256.New, seed)
	fmt.Fprintf(m, "herd-population-noise\x00%s\x00%s\x00%s\x00%s\x00%s", day, table, ref.dim, ref.seg, key)
	h := binary.BigEndian.Uint64(m.Sum(nil))
	return (float64(h>>11) + 0.5) / (1 << 53)
}

// laplaceAt is the Laplace(0, b) quantile of u in (0, 1).
func laplaceAt(u, b float64) float64 {
	d := u - 0.5
	if d < 0 {
		return b * math.Log(1+2*d)
	}
	return -b * math.Log(1-2*d)
}

// maxNoisy caps a noisy count far below where float64 loses integers
// and int64 overflows.
const maxNoisy = 1 << 50

// noisy is n plus Laplace noise of scale b from draw u, rounded and
// clamped to [0, maxNoisy] without overflow.
func noisy(n int64, b, u float64) int64 {
	v := float64(n) + laplaceAt(u, b)
	switch {
	case math.IsNaN(v) || v <= 0:
		return 0
	case v >= maxNoisy:
		return maxNoisy
	}
	return int64(math.Round(v))
}
