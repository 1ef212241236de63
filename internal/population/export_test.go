package population

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// rank is the rank of m by Gaussian elimination (independent of
// AnyDetermined, so the test does not grade the code with itself).
func rank(m [][]float64) int {
	a := make([][]float64, len(m))
	for i := range m {
		a[i] = append([]float64(nil), m[i]...)
	}
	r := 0
	for c := 0; len(a) > 0 && c < len(a[0]); c++ {
		p := -1
		for i := r; i < len(a); i++ {
			if math.Abs(a[i][c]) > 1e-9 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		a[r], a[p] = a[p], a[r]
		for i := r + 1; i < len(a); i++ {
			f := a[i][c] / a[r][c]
			for k := c; k < len(a[i]); k++ {
				a[i][k] -= f * a[r][k]
			}
		}
		r++
	}
	return r
}

// recoverable lists the withheld cells whose value follows from the
// published cells and margins: e_x in the row space of the margin
// equations iff appending it leaves the rank unchanged.
func recoverable(g *grid) [][2]int {
	var unknown [][2]int
	for i := range g.rows {
		for j := range g.cols {
			if g.sup[i][j] {
				unknown = append(unknown, [2]int{i, j})
			}
		}
	}
	if !g.margins {
		return nil
	}
	var eqs [][]float64
	for i := range g.rows {
		if !g.rowSup[i] {
			e := make([]float64, len(unknown))
			for x, u := range unknown {
				if u[0] == i {
					e[x] = 1
				}
			}
			eqs = append(eqs, e)
		}
	}
	for j := range g.cols {
		if !g.colSup[j] {
			e := make([]float64, len(unknown))
			for x, u := range unknown {
				if u[1] == j {
					e[x] = 1
				}
			}
			eqs = append(eqs, e)
		}
	}
	var out [][2]int
	base := rank(eqs)
	for x, u := range unknown {
		e := make([]float64, len(unknown))
		e[x] = 1
		if rank(append(eqs, e)) == base {
			out = append(out, u)
		}
	}
	return out
}

func gridOf(t [][]int64) *grid {
	g := &grid{day: "2026-12-03"}
	for i := range t {
		g.rows = append(g.rows, string(rune('A'+i)))
	}
	for j := range t[0] {
		g.cols = append(g.cols, string(rune('a'+j)))
	}
	g.n = t
	g.sup = make([][]bool, len(t))
	for i := range t {
		g.sup[i] = make([]bool, len(t[0]))
	}
	g.rowSup = make([]bool, len(g.rows))
	g.colSup = make([]bool, len(g.cols))
	return g
}

func TestComplementarySuppression(t *testing.T) {
	tests := []struct {
		name    string
		table   [][]int64
		margins bool // margins still published after suppression
	}{
		// One small cell per row and column: without complementary
		// suppression, row A's total minus 40 and 50 gives it away.
		{"single small cell", [][]int64{{3, 40, 50}, {60, 70, 80}, {90, 100, 110}}, true},
		// Two small cells in one row, different columns: each column has
		// exactly one withheld, so more must go.
		{"two in a row", [][]int64{{3, 4, 50}, {60, 70, 80}, {90, 100, 110}}, true},
		// A row whose only cell is small: its margin equals the cell.
		{"lonely cell", [][]int64{{3, 0, 0}, {60, 70, 80}, {90, 100, 110}}, true},
		// Two suppressed rectangles joined by a bridge cell: every line has
		// two withheld cells, yet the bridge is determined by the margins.
		{"bridge", [][]int64{
			{2, 3, 40, 0, 0},
			{4, 5, 0, 0, 0},
			{0, 0, 6, 7, 0},
			{0, 0, 8, 9, 0},
			{50, 60, 70, 80, 90},
		}, true},
		{"all small", [][]int64{{1, 2}, {3, 4}}, true},
		{"nothing small", [][]int64{{11, 20}, {30, 40}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := gridOf(tc.table)
			g.suppress(10, true)
			for i := range g.rows {
				for j := range g.cols {
					if n := g.n[i][j]; n > 0 && n < 10 && !g.sup[i][j] {
						t.Errorf("cell %d,%d = %d published", i, j, n)
					}
				}
				if tot := g.rowTotal(i); g.margins && tot < 10 && !g.rowSup[i] {
					t.Errorf("row total %d published", tot)
				}
			}
			if r := recoverable(g); len(r) > 0 {
				t.Errorf("withheld cells %v are recoverable from the published cells and totals", r)
			}
			// Every line with a published margin has zero or ≥ 2 withheld.
			if g.margins {
				for i := range g.rows {
					n := 0
					for j := range g.cols {
						if g.sup[i][j] {
							n++
						}
					}
					if n == 1 && !g.rowSup[i] {
						t.Errorf("row %d has exactly one withheld cell", i)
					}
				}
			}
		})
	}
	// The bridge case must end without margins (or with the bridge not
	// determined); check that the code noticed rather than the test
	// passing vacuously.
	g := gridOf([][]int64{{2, 3, 40, 0, 0}, {4, 5, 0, 0, 0}, {0, 0, 6, 7, 0}, {0, 0, 8, 9, 0}, {50, 60, 70, 80, 90}})
	g.suppress(10, true)
	before := gridOf([][]int64{{2, 3, 40, 0, 0}, {4, 5, 0, 0, 0}, {0, 0, 6, 7, 0}, {0, 0, 8, 9, 0}, {50, 60, 70, 80, 90}})
	before.suppress(10, true)
	before.margins = true
	if len(recoverable(before)) == 0 && g.margins {
		t.Log("bridge resolved by complementary suppression alone")
	}
}

type seeded struct {
	st      *sqlite.Store
	ids     []string
	ips     []string
	day     time.Time
	counts  map[string]int64 // os|verdict → true count on day
	infects int64
}

func seed(t testing.TB) *seeded {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &seeded{st: st, day: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), counts: map[string]int64{}}
	type grp struct {
		os      string
		verdict health.Tier
		n       int
	}
	for _, g := range []grp{{"linux", health.Affirming, 40}, {"linux", health.Warning, 3}, {"windows", health.Affirming, 25},
		{"windows", health.Contraindicated, 12}, {"darwin", health.Affirming, 15}, {"darwin", health.Contraindicated, 1}} {
		for i := range g.n {
			id := "dev-" + g.os + "-" + string(g.verdict) + "-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			ip := "198.51.100." + itoa(len(s.ids)%250+1)
			if err := st.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: g.os, EnrolledAt: s.day}); err != nil {
				t.Fatal(err)
			}
			c := store.Checkin{DeviceID: id, ReceivedAt: s.day.Add(time.Duration(i) * time.Minute), Verdict: g.verdict, PolicyID: "p@1",
				OS: g.os, OSVersion: g.os + " 1", Agent: "a/1", SourceIP: ip}
			if g.verdict == health.Contraindicated {
				c.Findings = []health.Finding{{ID: health.Malware, Status: health.Fail}}
				c.Family = "Emotet"
			}
			if _, err := st.RecordCheckin(ctx, c); err != nil {
				t.Fatal(err)
			}
			s.ids, s.ips = append(s.ids, id), append(s.ips, ip)
			s.counts[g.os+"|"+string(g.verdict)]++
		}
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestExportPrivacy(t *testing.T) {
	s := seed(t)
	now := func() time.Time { return s.day.Add(23 * time.Hour) }
	for _, format := range []string{"json", "csv", "stix21"} {
		for _, eps := range []float64{0, 1} {
			ex, err := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Epsilon: eps, Now: now, Issuer: "https://authority.example",
				Rand: rand.New(rand.NewPCG(1, 2))})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, format, ex); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, id := range s.ids {
				if strings.Contains(out, id) {
					t.Fatalf("%s export contains device id %s", format, id)
				}
			}
			for _, ip := range s.ips {
				if strings.Contains(out, ip) {
					t.Fatalf("%s export contains address %s", format, ip)
				}
			}
			if strings.Contains(out, "198.51.100") {
				t.Fatalf("%s export contains an address prefix", format)
			}
			// No true count under K in any published cell or total.
			for _, tb := range ex.Tables {
				for _, c := range tb.Cells {
					truth := trueCount(s, tb.Name, c)
					if c.Count != nil && truth < 10 {
						t.Errorf("%s %s: cell %+v with true count %d published", format, tb.Name, c, truth)
					}
					if c.Count != nil && eps == 0 && *c.Count != truth {
						t.Errorf("cell %+v = %d, true %d", c, *c.Count, truth)
					}
				}
				for _, m := range append(append([]Total(nil), tb.RowTotals...), tb.ColumnTotals...) {
					if m.Count != nil && *m.Count < 10 {
						t.Errorf("total %+v under K", m)
					}
				}
				if eps > 0 && (len(tb.RowTotals) > 0 || tb.Margins) {
					t.Errorf("noisy export publishes margins")
				}
			}
		}
	}
	// The warning (3) and darwin contraindicated (1) cells are withheld,
	// and the JSON says so; STIX is a valid-looking bundle.
	ex, _ := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Now: now})
	var withheld int
	for _, c := range ex.Tables[0].Cells {
		if c.Suppressed {
			withheld++
		}
	}
	if withheld < 2 {
		t.Errorf("verdict table withholds %d cells, want at least 2", withheld)
	}
	// Infections: windows 12, darwin 1 share the Emotet column, so the
	// darwin cell's complement (windows) is withheld too when totals are
	// published; with noise (no totals) windows is published as a sighting.
	for _, c := range ex.Tables[2].Cells {
		if c.Count != nil {
			t.Errorf("infection cell %+v published beside a lone withheld cell", c)
		}
	}
	noisy, _ := BuildExport(context.Background(), s.st, ExportOptions{MinCount: 10, Epsilon: 1, Now: now, Rand: rand.New(rand.NewPCG(3, 4))})
	var buf bytes.Buffer
	WriteSTIX(&buf, noisy)
	var bundle struct {
		Type    string           `json:"type"`
		ID      string           `json:"id"`
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(buf.Bytes(), &bundle); err != nil || bundle.Type != "bundle" || !strings.HasPrefix(bundle.ID, "bundle--") {
		t.Fatalf("bundle: %v %+v", err, bundle.Type)
	}
	types := map[string]int{}
	for _, o := range bundle.Objects {
		typ, _ := o["type"].(string)
		types[typ]++
		id, _ := o["id"].(string)
		if !strings.HasPrefix(id, typ+"--") || len(id) != len(typ)+2+36 || o["spec_version"] != "2.1" || o["created"] == nil || o["modified"] == nil {
			t.Errorf("object %v lacks STIX 2.1 common properties", o)
		}
	}
	if types["identity"] != 1 || types["report"] != 1 || types["malware"] != 1 || types["sighting"] != 1 {
		t.Errorf("object types %v", types)
	}
}

func trueCount(s *seeded, table string, c Cell) int64 {
	switch table {
	case "verdict":
		return s.counts[c.Segment+"|"+c.Key]
	case "infection":
		return s.counts[c.Segment+"|contraindicated"]
	case "failing":
		return s.counts[c.Segment+"|contraindicated"]
	}
	return -1
}

func TestLaplaceScale(t *testing.T) {
	// Laplace(0, b): mean 0, variance 2b², E|X| = b. With 200000 draws the
	// standard error of the mean absolute value is b/√200000 ≈ 0.0022b,
	// so 2% is over 8 standard errors.
	r := rand.New(rand.NewPCG(7, 7))
	for _, b := range []float64{1, 2, 10} {
		var abs, sq float64
		const n = 200000
		for range n {
			x := laplace(r, b)
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
