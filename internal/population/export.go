package population

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// Private exports.
//
// An export holds aggregate counts only: three tables (devices by verdict,
// devices by failing check, new infections by malware family), each a
// grid per day of segment (one dimension per export: OS family by
// default, OS release, agent version, country, or the whole population)
// × key. Never a device id, an address, a user name or a pairwise
// subject, and no label a device chose (see labels.go).
//
// Every number comes from the day releases (Releaser), which protect all
// tables and all dimensions of a complete day together (release.go), so
// exports of different dimensions, the TAXII collection and the public
// page can be laid side by side without a withheld count coming out:
//   - every count from 1 to K−1 is withheld ("count": null,
//     "suppressed": true); zero counts are not listed;
//   - a withheld count keeps every value from its floor (1, unless its
//     listed parts say more) to K−1 whatever else is published;
//   - a row (segment) total is published only for a row with no withheld
//     count; a column total is the day's whole-population count for the
//     key, published only when no dimension withholds a count of it;
//     there is no grand total;
//   - only complete days (UTC): no "today so far".
//
// Noise (optional, ε > 0): Laplace noise of scale Δ/ε is added to every
// published count after suppression, rounded and clamped at 0, and row
// totals are then not published. Δ is the sensitivity of a table-day of
// the joint release (every dimension and the whole population): a device
// changes one count per dimension in the verdict and infection tables (Δ
// = 5) and at most one per check per dimension in the failing table (Δ =
// 50). The noise of a count is drawn once, from a seed the authority keeps
// for its day, so every export and every channel publishes the same noisy
// value for it, and a day keeps the ε of its first release. Which counts
// are withheld is decided on true counts, so the release is not strictly
// ε-differentially private: the published values are ε-DP per table-day
// (3·D·ε over D days by sequential composition, recorded in the export),
// the pattern of withheld counts is not (it tells which counts are under
// K, or protect one that is); what protects a small count is its
// suppression, and the noise only blurs the published ones.

// ErrInvalidOption is wrapped by BuildExport's errors about its options
// (as opposed to errors reading the store).
var ErrInvalidOption = errors.New("invalid export option")

// ExportOptions control an export.
type ExportOptions struct {
	// Since and Until bound the days (UTC, inclusive). Zero Until means
	// the last complete day (yesterday); a later Until is an error. Zero
	// Since means 30 days before Until.
	Since, Until time.Time
	// MinCount is K: counts under it are withheld (default 10; at least
	// 2). For a day released before, the K of its first release holds.
	MinCount int64
	// Epsilon > 0 adds Laplace noise (see above); 0 or at least
	// MinEpsilon. For a day released before, the ε of its first release
	// holds.
	Epsilon float64
	// Dimension is the segment dimension (default store.DimOS; the zero
	// value cannot ask for the whole population, WholePopulation does).
	Dimension store.Dimension
	// WholePopulation exports one segment, the whole population
	// (store.DimNone), whatever Dimension says.
	WholePopulation bool
	// Issuer names the authority in the export (and its STIX identity).
	Issuer string
	// Records keeps each released day's parameters and noise seed
	// (normally the store); required with Epsilon > 0.
	Records store.Secrets
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

// Total is a margin: the total of a row (segment) or a column (key) of
// one day. Count is nil when withheld.
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
	// RowTotals are per (day, segment), ColumnTotals per (day, key).
	RowTotals    []Total `json:"row_totals,omitempty"`
	ColumnTotals []Total `json:"column_totals,omitempty"`
	// Margins reports whether row totals are published (not with noise).
	Margins bool `json:"margins_published"`
}

// DayParams are the parameters a day was first released with, when they
// differ from the ones the export asked for.
type DayParams struct {
	Day      string  `json:"day"`
	MinCount int64   `json:"min_count"`
	Epsilon  float64 `json:"epsilon,omitempty"`
}

// Privacy records the disclosure control applied.
type Privacy struct {
	MinCount  int64   `json:"min_count"`
	Mechanism string  `json:"mechanism"` // "suppression" or "suppression+laplace"
	Epsilon   float64 `json:"epsilon,omitempty"`
	// EpsilonPerTableDay is ε for each table-day release (when every day
	// has the same); TotalEpsilon the sequential composition over tables
	// and days.
	EpsilonPerTableDay float64 `json:"epsilon_per_table_day,omitempty"`
	TotalEpsilon       float64 `json:"total_epsilon,omitempty"`
	Composition        string  `json:"composition,omitempty"`
	Assumption         string  `json:"assumption,omitempty"`
	// Protection says what the disclosure control guarantees.
	Protection string `json:"protection"`
	// Earlier lists the days first released with other parameters than
	// asked for: they are exported as they were released then.
	Earlier []DayParams `json:"earlier_releases,omitempty"`
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

const (
	protectionText = "every count under K is withheld; no published count, total or combination of this export with any other export, TAXII answer or public page of the same days narrows a withheld count below K-1 or above the least its listed parts imply; only complete days (UTC)"
	noiseText      = "Laplace noise of scale sensitivity/epsilon, drawn once per day and count from a seed the authority keeps, is added to published counts after suppression; suppression is decided on true counts, so the release is not strictly epsilon-differentially private: the published values are, the pattern of withheld counts is not"
	assumptionText = "a device adds to one count per dimension per day in the verdict and infection tables and to at most one count per check per dimension in the failing table; sensitivity counts the whole population and the four dimensions released together"
)

var tableKinds = []store.AggregateKind{store.AggVerdict, store.AggFailing, store.AggInfection}

// BuildExport reads the day releases and lays out one dimension of them.
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
	if err := CheckEpsilon(o.Epsilon); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
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
		return nil, fmt.Errorf("%w: dimension must be os, os_version, agent or country", ErrInvalidOption)
	}
	last := lastCompleteDay(now())
	until := o.Until
	if until.IsZero() {
		until = last
	}
	until = dayOf(until)
	if until.After(last) {
		return nil, fmt.Errorf("%w: %s is not over; the last complete day is %s", ErrInvalidOption, until.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	since := o.Since
	if since.IsZero() {
		since = until.AddDate(0, 0, -30)
	}
	since = dayOf(since)
	if since.After(until) {
		return nil, fmt.Errorf("%w: since (%s) is after the last complete day (%s)", ErrInvalidOption, since.Format(time.DateOnly), until.Format(time.DateOnly))
	}
	if n := until.Sub(since) / (24 * time.Hour); n > 3660 {
		return nil, fmt.Errorf("%w: at most 3660 days at once, asked for %d", ErrInvalidOption, n+1)
	}
	rl := &Releaser{Stats: st, Records: o.Records, MinCount: o.MinCount, Epsilon: o.Epsilon, Now: now}
	days, err := rl.Days(ctx, since, until)
	if err != nil {
		return nil, err
	}
	return layout(days, o.Dimension, o.Issuer, since, until, o.MinCount, o.Epsilon, now()), nil
}

// ExportOf lays out releases (consecutive days, oldest first) as an
// export of one dimension: dim (store.DimNone for the whole population),
// with the K and ε the caller asked for (the days say what they were
// released with), generated at generated.
func ExportOf(days []*DayRelease, dim store.Dimension, issuer string, k int64, eps float64, generated time.Time) *Export {
	if len(days) == 0 {
		return &Export{Issuer: issuer, Generated: generated.UTC().Truncate(time.Second), Tables: []Table{}}
	}
	since, _ := time.Parse(time.DateOnly, days[0].Day)
	until, _ := time.Parse(time.DateOnly, days[len(days)-1].Day)
	return layout(days, dim, issuer, since, until, k, eps, generated)
}

// layout lays out one dimension of the day releases as an Export.
func layout(days []*DayRelease, dim store.Dimension, issuer string, since, until time.Time, k int64, eps float64, now time.Time) *Export {
	ex := &Export{Issuer: issuer, Generated: now.UTC().Truncate(time.Second), From: since.Format(time.DateOnly), To: until.Format(time.DateOnly)}
	p := Privacy{MinCount: k, Mechanism: "suppression", Protection: protectionText}
	var total float64
	noise, same := false, true
	for _, d := range days {
		if len(d.Tables) == 0 {
			continue
		}
		if d.MinCount != k || d.Epsilon != eps {
			p.Earlier = append(p.Earlier, DayParams{Day: d.Day, MinCount: d.MinCount, Epsilon: d.Epsilon})
		}
		if d.Epsilon > 0 {
			noise = true
			total += float64(len(tableKinds)) * d.Epsilon
		}
		if d.Epsilon != eps {
			same = false
		}
	}
	if noise || eps > 0 {
		p.Mechanism = "suppression+laplace"
		p.Epsilon = eps
		if same {
			p.EpsilonPerTableDay = eps
		}
		p.TotalEpsilon = total
		p.Composition = fmt.Sprintf("sequential over %d tables × %d days; each count's noise is drawn once", len(tableKinds), len(days))
		p.Assumption = assumptionText
		p.Protection = protectionText + "; " + noiseText
	}
	ex.Privacy = p
	for _, kind := range tableKinds {
		t := Table{Name: string(kind), Dimension: string(dim), Sensitivity: Sensitivity(kind), Cells: []Cell{}, Margins: !noise}
		for _, d := range days {
			dt := d.Table(kind)
			if dt == nil {
				continue
			}
			t.NoiseScale = max(t.NoiseScale, dt.NoiseScale)
			for _, c := range dt.Counts {
				if c.Dimension == store.DimNone {
					t.ColumnTotals = append(t.ColumnTotals, Total{Day: d.Day, Key: c.Key, Count: c.Value, Suppressed: c.Value == nil})
				}
				if c.Dimension != dim {
					continue
				}
				t.Cells = append(t.Cells, Cell{Day: d.Day, Segment: c.Segment, Key: c.Key, Count: c.Value, Suppressed: c.Value == nil})
			}
			if dim == store.DimNone {
				continue
			}
			for _, c := range dt.RowTotals {
				if c.Dimension == dim {
					t.RowTotals = append(t.RowTotals, Total{Day: d.Day, Segment: c.Segment, Count: c.Value, Suppressed: c.Value == nil})
				}
			}
		}
		if dim == store.DimNone {
			// The cells are the column totals.
			t.ColumnTotals = nil
		}
		ex.Tables = append(ex.Tables, t)
	}
	return ex
}
