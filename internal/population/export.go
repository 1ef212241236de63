package population

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// Private exports.
//
// An export holds aggregate counts only: three tables (devices by verdict,
// devices by failing check, new infections by malware family), each a
// grid per day of segment (one dimension: OS family by default) × key.
// Never a device id, an address, a user name or a pairwise subject.
//
// Disclosure control, decided on true counts:
//   - primary suppression: every cell whose true count is between 1 and
//     K−1 is withheld ("count": null, "suppressed": true); zero cells are
//     not listed (absence is not about anyone);
//   - margins: each day's row totals (per segment) and column totals
//     (per key) are published from true counts only for lines that hold
//     no withheld cell (see grid.suppress); no grand total. No published
//     number then involves a withheld cell, so nothing narrows a withheld
//     cell beyond the [1, K−1] that its being withheld reveals (the
//     tests audit this by computing, for every withheld cell, the least
//     and greatest value consistent with everything published);
//   - one dimension per export: publishing the same counts split by two
//     linked dimensions (OS family and OS release) would let a withheld
//     cell be recovered across tables.
//
// Differential privacy (optional, ε > 0): Laplace noise of scale Δ/ε is
// added to every published cell after suppression, rounded and clamped
// at 0; margins are then not published (they would spend more budget).
// Δ, the sensitivity, assumes a device contributes to one cell per
// table-day in the verdict table (true: the store counts it once per day
// with its latest verdict) and in the infection table (true: the store
// counts a device's new infection at most once per day), and to at most 10 cells
// (the ten checks) per day in the failing-check table, so Δ = 1, 1 and 10.
// Each table-day release is ε-differentially private; over D days and
// the three tables a device's total budget is 3·D·ε by sequential
// composition, and the export records it.

// ErrInvalidOption is wrapped by BuildExport's errors about its options
// (as opposed to errors reading the store).
var ErrInvalidOption = errors.New("invalid export option")

// ExportOptions control an export.
type ExportOptions struct {
	// Since and Until bound the days (UTC, inclusive); zero Until means
	// today, zero Since means 30 days before Until.
	Since, Until time.Time
	// MinCount is K: cells with a true count under it are withheld
	// (default 10; at least 2).
	MinCount int64
	// Epsilon > 0 adds Laplace noise (see above).
	Epsilon float64
	// Dimension is the segment dimension (default store.DimOS; the zero
	// value cannot ask for the whole population, WholePopulation does).
	Dimension store.Dimension
	// WholePopulation exports one segment, the whole population
	// (store.DimNone), whatever Dimension says.
	WholePopulation bool
	// Issuer names the authority in the export (and its STIX identity).
	Issuer string
	// Rand is the noise source; nil means a generator seeded from
	// crypto/rand. Tests pass a seeded one.
	Rand *rand.Rand
	// Now gives the time; nil means time.Now.
	Now func() time.Time
}

// Cell is one published cell. Count is nil when withheld.
type Cell struct {
	Day        string `json:"day"`
	Segment    string `json:"segment"`
	Key        string `json:"key"`
	Count      *int64 `json:"count"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// Total is a published margin: the true total of a row (segment) or a
// column (key) of one day, including withheld cells.
type Total struct {
	Day        string `json:"day"`
	Segment    string `json:"segment,omitempty"`
	Key        string `json:"key,omitempty"`
	Count      *int64 `json:"count"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// Table is one exported table.
type Table struct {
	Name        string  `json:"name"` // verdict, failing, infection
	Dimension   string  `json:"dimension"`
	Sensitivity int     `json:"sensitivity"`
	NoiseScale  float64 `json:"noise_scale,omitempty"`
	Cells       []Cell  `json:"cells"`
	// RowTotals are per (day, segment), ColumnTotals per (day, key);
	// absent when margins are not published for the table.
	RowTotals    []Total `json:"row_totals,omitempty"`
	ColumnTotals []Total `json:"column_totals,omitempty"`
	Margins      bool    `json:"margins_published"`
}

// Privacy records the disclosure control applied.
type Privacy struct {
	MinCount  int64   `json:"min_count"`
	Mechanism string  `json:"mechanism"` // "suppression" or "suppression+laplace"
	Epsilon   float64 `json:"epsilon,omitempty"`
	// EpsilonPerTableDay is ε for each table-day release;
	// TotalEpsilon the sequential composition over tables and days.
	EpsilonPerTableDay float64 `json:"epsilon_per_table_day,omitempty"`
	TotalEpsilon       float64 `json:"total_epsilon,omitempty"`
	Composition        string  `json:"composition,omitempty"`
	Assumption         string  `json:"assumption,omitempty"`
}

// Export is the whole export.
type Export struct {
	Issuer    string    `json:"issuer,omitempty"`
	Generated time.Time `json:"generated"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Privacy   Privacy   `json:"privacy"`
	Tables    []Table   `json:"tables"`
}

var tableKinds = []struct {
	kind        store.AggregateKind
	sensitivity int
}{
	{store.AggVerdict, 1},
	{store.AggFailing, len(health.CheckIDs)},
	{store.AggInfection, 1},
}

// BuildExport reads the aggregates and applies disclosure control.
func BuildExport(ctx context.Context, st store.PopulationStats, o ExportOptions) (*Export, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if o.MinCount == 0 {
		o.MinCount = 10
	}
	if o.MinCount < 2 {
		return nil, fmt.Errorf("%w: min count (K) must be at least 2, got %d", ErrInvalidOption, o.MinCount)
	}
	if o.Epsilon < 0 || math.IsNaN(o.Epsilon) || math.IsInf(o.Epsilon, 0) {
		return nil, fmt.Errorf("%w: epsilon must be 0 (no noise) or a positive number, got %g", ErrInvalidOption, o.Epsilon)
	}
	switch {
	case o.WholePopulation:
		o.Dimension = store.DimNone
	case o.Dimension == "":
		o.Dimension = store.DimOS
	}
	switch o.Dimension {
	case store.DimOS, store.DimOSVersion, store.DimAgent, store.DimCountry, store.DimNone:
	default:
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, ErrBadDimension)
	}
	until := o.Until
	if until.IsZero() {
		until = now()
	}
	until = until.UTC().Truncate(24 * time.Hour)
	since := o.Since
	if since.IsZero() {
		since = until.AddDate(0, 0, -30)
	}
	since = since.UTC().Truncate(24 * time.Hour)
	if since.After(until) {
		return nil, fmt.Errorf("%w: since is after until", ErrInvalidOption)
	}
	r := o.Rand
	if r == nil {
		var seed [16]byte
		crand.Read(seed[:])
		r = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	days := int(until.Sub(since)/(24*time.Hour)) + 1
	ex := &Export{Issuer: o.Issuer, Generated: now().UTC().Truncate(time.Second), From: since.Format(time.DateOnly), To: until.Format(time.DateOnly),
		Privacy: Privacy{MinCount: o.MinCount, Mechanism: "suppression"}}
	if o.Epsilon > 0 {
		ex.Privacy = Privacy{MinCount: o.MinCount, Mechanism: "suppression+laplace", Epsilon: o.Epsilon,
			EpsilonPerTableDay: o.Epsilon, TotalEpsilon: o.Epsilon * float64(len(tableKinds)*days),
			Composition: fmt.Sprintf("sequential over %d tables × %d days", len(tableKinds), days),
			Assumption:  "a device adds to one cell per day in the verdict and infection tables and to at most one cell per check in the failing table; noise scale = sensitivity/epsilon"}
	}
	for _, tk := range tableKinds {
		cells, err := st.Aggregate(ctx, tk.kind, o.Dimension, since, until)
		if err != nil {
			return nil, fmt.Errorf("reading the %s aggregates: %w", tk.kind, err)
		}
		t := Table{Name: string(tk.kind), Dimension: string(o.Dimension), Sensitivity: tk.sensitivity, Cells: []Cell{}, Margins: o.Epsilon == 0}
		if o.Epsilon > 0 {
			t.NoiseScale = float64(tk.sensitivity) / o.Epsilon
		}
		byDay := map[string][]store.AggregateCount{}
		var dayKeys []string
		for _, c := range cells {
			d := c.Day.Format(time.DateOnly)
			if byDay[d] == nil {
				dayKeys = append(dayKeys, d)
			}
			byDay[d] = append(byDay[d], c)
		}
		sort.Strings(dayKeys)
		var grids []*grid
		for _, d := range dayKeys {
			g := newGrid(d, o.Dimension, byDay[d])
			g.suppress(o.MinCount, o.Epsilon == 0)
			grids = append(grids, g)
		}
		for _, g := range grids {
			g.publish(&t, r, t.Margins)
		}
		ex.Tables = append(ex.Tables, t)
	}
	return ex, nil
}

// grid is one table-day: rows are segments, columns keys.
type grid struct {
	day        string
	rows, cols []string
	n          [][]int64 // true counts; 0 = no cell
	sup        [][]bool
	rowSup     []bool // margin withheld
	colSup     []bool
	margins    bool
}

func newGrid(day string, dim store.Dimension, cells []store.AggregateCount) *grid {
	g := &grid{day: day}
	ri, ci := map[string]int{}, map[string]int{}
	for _, c := range cells {
		s := segValue(dim, c.Segment)
		if _, ok := ri[s]; !ok {
			ri[s] = len(g.rows)
			g.rows = append(g.rows, s)
		}
		if _, ok := ci[c.Key]; !ok {
			ci[c.Key] = len(g.cols)
			g.cols = append(g.cols, c.Key)
		}
	}
	g.n = make([][]int64, len(g.rows))
	g.sup = make([][]bool, len(g.rows))
	for i := range g.n {
		g.n[i] = make([]int64, len(g.cols))
		g.sup[i] = make([]bool, len(g.cols))
	}
	for _, c := range cells {
		g.n[ri[segValue(dim, c.Segment)]][ci[c.Key]] += c.Count
	}
	g.rowSup = make([]bool, len(g.rows))
	g.colSup = make([]bool, len(g.cols))
	return g
}

func (g *grid) rowTotal(i int) (s int64) {
	for j := range g.cols {
		s += g.n[i][j]
	}
	return
}

func (g *grid) colTotal(j int) (s int64) {
	for i := range g.rows {
		s += g.n[i][j]
	}
	return
}

// suppress applies primary suppression and decides which margins are
// published; with margins false, only primary suppression.
//
// A line total (row or column) is published only when the line holds no
// withheld cell. Then every published total is a sum of published cells
// alone, so no published number involves a withheld cell: all that the
// export says about a withheld cell is that it is listed and withheld,
// i.e. its true count is in [1, K−1], and no combination of published
// cells, totals and those bounds narrows that interval (a total over two
// withheld cells could: two cells in [1, 4] summing to 8 are both 4).
// No grand total is published.
func (g *grid) suppress(k int64, margins bool) {
	for i := range g.rows {
		for j := range g.cols {
			if g.n[i][j] > 0 && g.n[i][j] < k {
				g.sup[i][j] = true
				g.rowSup[i] = true
				g.colSup[j] = true
			}
		}
	}
	g.margins = margins
}

// laplace draws from Laplace(0, b).
func laplace(r *rand.Rand, b float64) float64 {
	u := r.Float64() - 0.5
	if u == -0.5 {
		u = 0
	}
	sign := 1.0
	if u < 0 {
		sign = -1
	}
	return -b * sign * math.Log(1-2*math.Abs(u))
}

func (g *grid) publish(t *Table, r *rand.Rand, margins bool) {
	for i, seg := range g.rows {
		for j, key := range g.cols {
			n := g.n[i][j]
			if n == 0 {
				continue
			}
			c := Cell{Day: g.day, Segment: seg, Key: key}
			if g.sup[i][j] {
				c.Suppressed = true
			} else {
				v := n
				if t.NoiseScale > 0 {
					v = max(0, int64(math.Round(float64(n)+laplace(r, t.NoiseScale))))
				}
				c.Count = &v
			}
			t.Cells = append(t.Cells, c)
		}
	}
	if !margins {
		return
	}
	for i, seg := range g.rows {
		m := Total{Day: g.day, Segment: seg, Suppressed: g.rowSup[i]}
		if !g.rowSup[i] {
			v := g.rowTotal(i)
			m.Count = &v
		}
		t.RowTotals = append(t.RowTotals, m)
	}
	for j, key := range g.cols {
		m := Total{Day: g.day, Key: key, Suppressed: g.colSup[j]}
		if !g.colSup[j] {
			v := g.colTotal(j)
			m.Count = &v
		}
		t.ColumnTotals = append(t.ColumnTotals, m)
	}
}
