package console

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/herd-health/herd/internal/population"
)

// Chart is an inline SVG chart: stacked areas (or lines) over days, with
// a point per day and series carrying its value in data attributes, and
// the same numbers in a table for readers who cannot see it.
type Chart struct {
	ID     string
	Title  string
	Desc   string
	Width  int
	Height int
	// Plot area.
	Left, Top, PlotW, PlotH float64
	Series                  []ChartSeries
	XTicks, YTicks          []Tick
	Days                    []string
	// YMax is the value at the top of the y axis.
	YMax float64
	// Levels are optional per-day threshold lines (outbreak detectors'
	// alarm levels), drawn dashed over the series.
	Levels     []LevelLine
	Stacked    bool
	LegendOnly bool
	// WithheldText is shown in the table for a withheld count.
	WithheldText string
	// AnyText is shown in the table for a day a detector alarms on
	// whatever the count (default "any").
	AnyText string
}

// ChartSeries is one series.
type ChartSeries struct {
	Key    string
	Label  string
	Class  string // colour class: affirming, warning, contraindicated, none, line
	Area   string // SVG path of the filled area (stacked charts)
	Line   string // SVG path of the top line
	Points []Point
}

// Point is one day of a series.
type Point struct {
	X, Y  float64
	Day   string
	Value int64
	Label string
	// Withheld: the count is not published (Value is meaningless); the
	// chart leaves a gap and the table says so.
	Withheld bool
}

// LevelLine is a threshold per day: the count above which a detector
// alarms that day.
type LevelLine struct {
	Key   string // the detector
	Label string
	Class string // line style: level-1 … level-4
	Path  string // SVG path through the days it is defined on
	// Points has one entry per day of the chart.
	Points []LevelPoint
}

// LevelPoint is the level of one day.
type LevelPoint struct {
	X, Y  float64
	Day   string
	Value float64
	// Defined: the detector has a level that day (it needs a baseline
	// first); Any: it alarms whatever the count (Value is meaningless).
	Defined, Any bool
}

// Text is the level as the table shows it ("" for Any: the chart's
// AnyText says it).
func (p LevelPoint) Text() string {
	switch {
	case !p.Defined:
		return "—"
	case p.Any:
		return ""
	}
	return f2(p.Value)
}

// Any is the table's text for a day a detector alarms whatever the count.
func (c Chart) Any() string {
	if c.AnyText == "" {
		return "any"
	}
	return c.AnyText
}

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// Tick is an axis label.
type Tick struct {
	Pos   float64
	Label string
}

// Row is one row of the fallback table: a day and a value per series.
func (c Chart) Rows() [][]string {
	rows := make([][]string, len(c.Days))
	for i, d := range c.Days {
		row := []string{d}
		for _, s := range c.Series {
			if s.Points[i].Withheld {
				row = append(row, c.withheldText())
				continue
			}
			row = append(row, thousands(s.Points[i].Value))
		}
		rows[i] = row
	}
	return rows
}

func (c Chart) withheldText() string {
	if c.WithheldText == "" {
		return "withheld"
	}
	return c.WithheldText
}

type seriesIn struct {
	key, label, class string
	values            []int64
	// withheld marks days whose count is not published (nil: none).
	withheld []bool
}

func (s seriesIn) isWithheld(i int) bool { return i < len(s.withheld) && s.withheld[i] }

// niceMax rounds m up to 1, 2 or 5 times a power of ten.
func niceMax(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= m {
			return f * p
		}
	}
	return 10 * p
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// newChart lays out series over days; stacked sums them bottom-up.
func newChart(id, title, desc string, days []string, in []seriesIn, stacked bool) Chart {
	return layoutChart(id, title, desc, days, in, stacked, 0)
}

// levelIn is one detector's level per day for levelChart: NaN where the
// detector is not defined, population.NoLevel where it alarms whatever
// the count (see population.Point).
type levelIn struct {
	key, label string
	levels     []float64
}

// levelChart is a line chart of one series with detectors' levels per
// day over it.
func levelChart(id, title, desc string, days []string, s seriesIn, lines []levelIn) Chart {
	var top float64
	for _, l := range lines {
		for _, v := range l.levels {
			if !math.IsNaN(v) {
				top = max(top, v)
			}
		}
	}
	c := layoutChart(id, title, desc, days, []seriesIn{s}, false, top)
	y := func(v float64) float64 { return c.Top + c.PlotH - c.PlotH*v/c.YMax }
	for k, in := range lines {
		l := LevelLine{Key: in.key, Label: in.label, Class: "level-" + strconv.Itoa(k%4+1)}
		var path strings.Builder
		pen := " M"
		for i, d := range days {
			p := LevelPoint{X: c.Series[0].Points[i].X, Day: d}
			switch v := in.levels[i]; {
			case math.IsNaN(v):
			case v == population.NoLevel:
				p.Defined, p.Any = true, true
			default:
				p.Defined, p.Value, p.Y = true, v, y(v)
			}
			if p.Defined && !p.Any {
				fmt.Fprintf(&path, "%s%s,%s", pen, f1(p.X), f1(p.Y))
				pen = " L"
			} else {
				pen = " M"
			}
			l.Points = append(l.Points, p)
		}
		l.Path = strings.TrimSpace(path.String())
		c.Levels = append(c.Levels, l)
	}
	return c
}

// layoutChart is newChart with the y axis reaching at least minTop.
func layoutChart(id, title, desc string, days []string, in []seriesIn, stacked bool, minTop float64) Chart {
	c := Chart{ID: id, Title: title, Desc: desc, Width: 720, Height: 260, Left: 56, Top: 12, PlotW: 640, PlotH: 200, Days: days, Stacked: stacked}
	n := len(days)
	top := minTop
	cum := make([]int64, n)
	for _, s := range in {
		for i, v := range s.values {
			if stacked {
				cum[i] += v
				top = max(top, float64(cum[i]))
			} else {
				top = max(top, float64(v))
			}
		}
	}
	step := niceMax(top / 4)
	if step < 1 {
		step = 1
	}
	ymax := 4 * step
	c.YMax = ymax
	x := func(i int) float64 {
		if n == 1 {
			return c.Left + c.PlotW/2
		}
		return c.Left + c.PlotW*float64(i)/float64(n-1)
	}
	y := func(v float64) float64 { return c.Top + c.PlotH - c.PlotH*v/ymax }
	// A withheld cell is a gap, never a zero: its series has no point and
	// no line there; in a stacked chart the whole day is a gap, since the
	// series above it cannot be placed.
	gap := make([]bool, n)
	for _, s := range in {
		for i := range n {
			if stacked && s.isWithheld(i) {
				gap[i] = true
			}
		}
	}
	base := make([]int64, n)
	for _, s := range in {
		cs := ChartSeries{Key: s.key, Label: s.label, Class: s.class}
		var line, area strings.Builder
		var run []int
		top := func(i int) float64 {
			if stacked {
				return y(float64(base[i] + s.values[i]))
			}
			return y(float64(s.values[i]))
		}
		flush := func() {
			if len(run) == 0 {
				return
			}
			var seg strings.Builder
			for k, i := range run {
				cmd := " L"
				if k == 0 {
					cmd = " M"
				}
				fmt.Fprintf(&seg, "%s%s,%s", cmd, f1(x(i)), f1(top(i)))
			}
			line.WriteString(seg.String())
			if stacked {
				area.WriteString(seg.String())
				for k := len(run) - 1; k >= 0; k-- {
					fmt.Fprintf(&area, " L%s,%s", f1(x(run[k])), f1(y(float64(base[run[k]]))))
				}
				area.WriteString(" Z")
			}
			run = run[:0]
		}
		for i := range n {
			v := s.values[i]
			pt := Point{X: x(i), Y: top(i), Day: days[i], Value: v, Label: fmt.Sprintf("%s %s: %s", days[i], s.label, thousands(v))}
			if s.isWithheld(i) {
				pt.Withheld, pt.Value, pt.Label = true, 0, fmt.Sprintf("%s %s: withheld", days[i], s.label)
			}
			if pt.Withheld || gap[i] {
				flush()
			} else {
				run = append(run, i)
			}
			cs.Points = append(cs.Points, pt)
		}
		flush()
		var sum int64
		for _, v := range s.values {
			sum += v
		}
		if sum > 0 || !stacked {
			cs.Line = strings.TrimSpace(line.String())
		}
		if stacked {
			cs.Area = strings.TrimSpace(area.String())
			for i := range n {
				base[i] += s.values[i]
			}
		}
		c.Series = append(c.Series, cs)
	}
	for k := 0; k <= 4; k++ {
		v := ymax * float64(k) / 4
		c.YTicks = append(c.YTicks, Tick{Pos: y(v), Label: thousands(int64(math.Round(v)))})
	}
	xstep := max(1, (n+5)/6)
	for i := 0; i < n; i += xstep {
		c.XTicks = append(c.XTicks, Tick{Pos: x(i), Label: shortDay(days[i])})
	}
	return c
}

func shortDay(d string) string {
	if len(d) == 10 {
		return d[5:]
	}
	return d
}

// Bar is a horizontal stacked bar of shares.
type Bar struct {
	Title string
	Parts []BarPart
}

// BarPart is one share of a bar.
type BarPart struct {
	Key, Label, Class string
	Count             int64
	Share             float64
	X, W              float64 // in percent of the bar's width
}

func newBar(title string, parts []BarPart) Bar {
	var x float64
	for i := range parts {
		parts[i].X = x
		parts[i].W = parts[i].Share * 100
		x += parts[i].W
	}
	return Bar{Title: title, Parts: parts}
}

func percent(f float64) string {
	if f > 0 && f < 0.001 {
		return "<0.1%"
	}
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
