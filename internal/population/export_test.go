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

// auditIntervals is the disclosure oracle: for every withheld cell of
// one day of t, it finds the least and greatest true count consistent
// with everything published that day (published cells, row and column
// totals, listed-but-withheld meaning a count in [1, K−1], unlisted
// meaning 0), by enumerating every assignment of the withheld cells.
// It reads only the published table, never the suppression internals.
// ok is false when the table is too large to enumerate.
func auditIntervals(t Table, day string, k int64) (lo, hi map[[2]string]int64, ok bool) {
	type ref struct{ seg, key string }
	var unknown []ref
	known := map[ref]int64{}
	for _, c := range t.Cells {
		if c.Day != day {
			continue
		}
		if c.Count == nil {
			unknown = append(unknown, ref{c.Segment, c.Key})
		} else {
			known[ref{c.Segment, c.Key}] = *c.Count
		}
	}
	type cons struct {
		idx  []int
		rest int64 // published total minus published cells of the line
	}
	var cs []cons
	line := func(match func(ref) bool, total int64) {
		c := cons{rest: total}
		for r, v := range known {
			if match(r) {
				c.rest -= v
			}
		}
		for x, u := range unknown {
			if match(u) {
				c.idx = append(c.idx, x)
			}
		}
		cs = append(cs, c)
	}
	for _, m := range t.RowTotals {
		if m.Day == day && m.Count != nil {
			line(func(r ref) bool { return r.seg == m.Segment }, *m.Count)
		}
	}
	for _, m := range t.ColumnTotals {
		if m.Day == day && m.Count != nil {
			line(func(r ref) bool { return r.key == m.Key }, *m.Count)
		}
	}
	n := len(unknown)
	if math.Pow(float64(k-1), float64(n)) > 2e6 {
		return nil, nil, false
	}
	lo, hi = map[[2]string]int64{}, map[[2]string]int64{}
	v := make([]int64, n)
	for i := range v {
		v[i] = 1
	}
	for {
		good := true
		for _, c := range cs {
			var s int64
			for _, x := range c.idx {
				s += v[x]
			}
			if s != c.rest {
				good = false
				break
			}
		}
		if good {
			for x, u := range unknown {
				key := [2]string{u.seg, u.key}
				if l, seen := lo[key]; !seen || v[x] < l {
					lo[key] = v[x]
				}
				if v[x] > hi[key] {
					hi[key] = v[x]
				}
			}
		}
		i := 0
		for ; i < n; i++ {
			if v[i] < k-1 {
				v[i]++
				break
			}
			v[i] = 1
		}
		if i == n {
			break
		}
	}
	return lo, hi, true
}

// exportOf publishes one day's grid of true counts (rows = segments
// A, B, …; columns = keys a, b, …) as BuildExport does.
func exportOf(tbl [][]int64, k int64) (Table, *grid) {
	g := gridOf(tbl)
	g.suppress(k, true)
	t := Table{Name: "failing", Margins: true}
	g.publish(&t, nil, true)
	return t, g
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

// checkAudit fails t unless every withheld cell's feasible interval is
// exactly [1, K−1], every listed cell under K is withheld and every
// published number is the true one.
func checkAudit(t *testing.T, tbl [][]int64, k int64) Table {
	t.Helper()
	pub, g := exportOf(tbl, k)
	lo, hi, ok := auditIntervals(pub, g.day, k)
	if !ok {
		t.Fatalf("table too large to audit")
	}
	var withheld int
	for _, c := range pub.Cells {
		i, j := int(c.Segment[0]-'A'), int(c.Key[0]-'a')
		if c.Count == nil {
			withheld++
			key := [2]string{c.Segment, c.Key}
			if lo[key] != 1 || hi[key] != k-1 {
				t.Errorf("withheld cell %s/%s (true %d) narrowed to [%d, %d], want [1, %d]", c.Segment, c.Key, tbl[i][j], lo[key], hi[key], k-1)
			}
			continue
		}
		if *c.Count != tbl[i][j] || *c.Count < k {
			t.Errorf("cell %s/%s published as %d (true %d, K %d)", c.Segment, c.Key, *c.Count, tbl[i][j], k)
		}
	}
	if withheld > 0 && len(lo) != withheld {
		t.Errorf("no assignment of the withheld cells is consistent with the published totals")
	}
	for _, m := range pub.RowTotals {
		if m.Count != nil && *m.Count != g.rowTotal(int(m.Segment[0]-'A')) {
			t.Errorf("row %s total %d, true %d", m.Segment, *m.Count, g.rowTotal(int(m.Segment[0]-'A')))
		}
	}
	return pub
}

func TestSuppressionIntervalAudit(t *testing.T) {
	tests := []struct {
		name  string
		k     int64
		table [][]int64
		// rows and columns whose totals must still be published
		wantRows, wantCols int
	}{
		// The operator's case: linux has auto_update 4 and
		// disk_encryption 4 withheld (K=5), both columns withheld, but a
		// published row total 8 pins both at 4.
		{"two withheld summing to 2(K-1)", 5, [][]int64{{4, 4}, {0, 0}}, 1, 0},
		{"two withheld, one other row", 5, [][]int64{{4, 4, 0}, {0, 0, 30}}, 1, 1},
		{"two withheld at the low bound", 5, [][]int64{{1, 1}}, 0, 0},
		{"single small cell", 10, [][]int64{{3, 40, 50}, {60, 70, 80}, {90, 100, 110}}, 2, 2},
		{"two in a row", 10, [][]int64{{3, 4, 50}, {60, 70, 80}, {90, 100, 110}}, 2, 1},
		{"lonely cell", 10, [][]int64{{3, 0, 0}, {60, 70, 80}, {90, 100, 110}}, 2, 2},
		{"bridge", 4, [][]int64{
			{2, 3, 40, 0, 0},
			{1, 2, 0, 0, 0},
			{0, 0, 3, 1, 0},
			{0, 0, 2, 3, 0},
			{50, 60, 70, 80, 90},
		}, 1, 1},
		{"all small", 5, [][]int64{{1, 2}, {3, 4}}, 0, 0},
		{"nothing small", 10, [][]int64{{11, 20}, {30, 40}}, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := checkAudit(t, tc.table, tc.k)
			var rows, cols int
			for _, m := range pub.RowTotals {
				if m.Count != nil {
					rows++
				}
			}
			for _, m := range pub.ColumnTotals {
				if m.Count != nil {
					cols++
				}
			}
			if rows != tc.wantRows || cols != tc.wantCols {
				t.Errorf("published %d row and %d column totals, want %d and %d", rows, cols, tc.wantRows, tc.wantCols)
			}
		})
	}
	// Adversarial: random sparse tables with many small cells.
	r := rand.New(rand.NewPCG(7, 11))
	for n := range 300 {
		k := int64(2 + r.IntN(4))
		rows, cols := 1+r.IntN(4), 1+r.IntN(4)
		tbl := make([][]int64, rows)
		small := 0
		for i := range tbl {
			tbl[i] = make([]int64, cols)
			for j := range tbl[i] {
				switch r.IntN(3) {
				case 0:
				case 1:
					if small < 7 {
						tbl[i][j] = 1 + r.Int64N(k-1)
						small++
					}
				default:
					tbl[i][j] = k + r.Int64N(20)
				}
			}
		}
		t.Run("random "+itoa(n), func(t *testing.T) { checkAudit(t, tbl, k) })
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
	// Infections: windows 12 and darwin 1 share the Emotet column, so the
	// column total is withheld (with it, 13 − 12 gives darwin away) and
	// windows is published.
	for _, c := range ex.Tables[2].Cells {
		if c.Segment == "windows" && (c.Count == nil || *c.Count != 12) {
			t.Errorf("infection cell %+v, want windows 12 published", c)
		}
	}
	for _, m := range ex.Tables[2].ColumnTotals {
		if m.Key == "Emotet" && m.Count != nil {
			t.Errorf("Emotet column total %d published beside a withheld cell", *m.Count)
		}
	}
	for _, tb := range ex.Tables {
		lo, hi, ok := auditIntervals(tb, "2026-12-03", 10)
		if !ok {
			t.Fatalf("%s: too large to audit", tb.Name)
		}
		for c, l := range lo {
			if l != 1 || hi[c] != 9 {
				t.Errorf("%s: withheld cell %v narrowed to [%d, %d]", tb.Name, c, l, hi[c])
			}
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
