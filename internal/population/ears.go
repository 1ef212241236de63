// Package population is the authority's population-health half: the
// queries behind the operators' console (overview, breakdown by segment,
// at-risk cohorts), outbreak detection on the daily incidence of new
// infections, and private exports (JSON, CSV, STIX 2.1, TAXII 2.1) for
// sharing with CERTs and ISACs. It reads the aggregates the store keeps
// in the check-in transaction (store.PopulationStats) and never scans
// devices or history per request.
package population

import "math"

// The CDC Early Aberration Reporting System (EARS) detectors, as defined
// by Hutwagner, Thompson, Seeman and Treadwell, "The bioterrorism
// preparedness and response Early Aberration Reporting System (EARS)",
// J Urban Health 80(2 Suppl 1):i89–i96 (2003), and written as statistics
// by Fricker, Hegler and Dunfee, "Comparing syndromic surveillance
// detection methods: EARS' versus a CUSUM-based methodology", Statistics
// in Medicine 27:3407–3429 (2008):
//
//	C1: baseline = the 7 days t−7 … t−1; μ, σ their mean and sample
//	    standard deviation; S_t = max(0, (Y_t − (μ + kσ)) / σ), k = 1;
//	    alarm when S_t > h = 2, i.e. when Y_t > μ + 3σ.
//	C2: the same with a lag of 2 days: baseline t−9 … t−3.
//	C3: S_t = Σ_{i=t−2}^{t} max(0, (Y_i − (μ_i + kσ_i)) / σ_i) with the C2
//	    baseline of each day i; alarm when S_t > h = 2.
//
// σ is floored at MinSigma so a baseline of zeros (a family never seen
// before) can still alarm; Burkom suggests 0.5 or 1 for sparse counts
// (the R surveillance package's earsC documents the same floor).

// Detector names as alerts carry them.
const (
	C1 = "ears_c1"
	C2 = "ears_c2"
	C3 = "ears_c3"
	// CUSUMDetector names the CUSUM below.
	CUSUMDetector = "cusum"
)

// DetectorNames lists every detector live detection runs, in the order
// alerts are stored.
var DetectorNames = []string{C1, C2, C3, CUSUMDetector}

const (
	earsBaseline = 7   // days in the baseline window
	earsK        = 1.0 // reference value k, in standard deviations
	earsH        = 2.0 // decision threshold h
	// MinSigma floors σ (see above).
	MinSigma = 0.5
)

// Point is a detector's verdict on one day of a series.
type Point struct {
	// Index of the day in the series.
	Index int `json:"index"`
	// Baseline is the window the mean and deviation come from.
	Baseline   []float64 `json:"baseline"`
	Mean       float64   `json:"mean"`
	SD         float64   `json:"sd"` // after the MinSigma floor
	Observed   float64   `json:"observed"`
	Statistic  float64   `json:"statistic"`
	Threshold  float64   `json:"threshold"`
	Alarm      bool      `json:"alarm"`
	UpperLimit float64   `json:"upper_limit"` // μ + (k+h)σ: the count that alarms C1/C2 on its own
	// Level is the threshold as a count: the detector alarms on day
	// Index exactly when Observed > Level, the days before held fixed.
	// C1 and C2: μ + (k+h)σ. C3: μ + (k + h − T)σ, T the C2 terms of
	// the two days before, or NoLevel when T alone exceeds h. CUSUM:
	// μ + (h + k − S_{t−1})σ.
	Level        float64 `json:"level"`
	ThresholdDef string  `json:"threshold_definition"`
}

// NoLevel is the Level of a day on which the detector alarms whatever
// the day's count (C3 after two days whose terms already exceed h).
const NoLevel = -1

// meanSD is the mean and sample standard deviation (n−1) of xs.
func meanSD(xs []float64) (float64, float64) {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mu := sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mu) * (x - mu)
	}
	return mu, math.Sqrt(ss / float64(len(xs)-1))
}

// earsTerm is max(0, (y − (μ + kσ)) / σ) with the baseline ending lag
// days before index t; ok is false when the series is too short.
func earsTerm(y []float64, t, lag int) (p Point, ok bool) {
	start := t - lag - earsBaseline + 1
	if start < 0 || t >= len(y) {
		return Point{}, false
	}
	base := y[start : start+earsBaseline]
	mu, sd := meanSD(base)
	sd = max(sd, MinSigma)
	return Point{
		Index: t, Baseline: append([]float64(nil), base...), Mean: mu, SD: sd, Observed: y[t],
		Statistic: max(0, (y[t]-(mu+earsK*sd))/sd), Threshold: earsH, UpperLimit: mu + (earsK+earsH)*sd,
		Level: mu + (earsK+earsH)*sd,
	}, true
}

// EARSC1 evaluates C1 on day t of y (daily counts); ok is false before
// day 7.
func EARSC1(y []float64, t int) (Point, bool) {
	p, ok := earsTerm(y, t, 1)
	p.Alarm = ok && p.Statistic > earsH
	p.ThresholdDef = "C1: S=max(0,(Y-(mean+1*sd))/sd) over days t-7..t-1; alarm when S > 2"
	return p, ok
}

// EARSC2 evaluates C2 on day t of y; ok is false before day 9.
func EARSC2(y []float64, t int) (Point, bool) {
	p, ok := earsTerm(y, t, 3)
	p.Alarm = ok && p.Statistic > earsH
	p.ThresholdDef = "C2: S=max(0,(Y-(mean+1*sd))/sd) over days t-9..t-3; alarm when S > 2"
	return p, ok
}

// EARSC3 evaluates C3 on day t of y; ok is false before day 11. The
// point's Mean and SD are day t's C2 baseline.
func EARSC3(y []float64, t int) (Point, bool) {
	p, ok := earsTerm(y, t, 3)
	if !ok || t < 2 {
		return Point{}, false
	}
	var prior float64
	for i := t - 2; i < t; i++ {
		q, ok := earsTerm(y, i, 3)
		if !ok {
			return Point{}, false
		}
		prior += q.Statistic
	}
	p.Statistic = prior + p.Statistic
	p.Alarm = p.Statistic > earsH
	// Day t's term is max(0, (Y − (μ + kσ))/σ): the sum exceeds h when
	// Y > μ + (k + h − prior)σ, and whatever Y when prior > h.
	if prior > earsH {
		p.Level = NoLevel
	} else {
		p.Level = p.Mean + (earsK+earsH-prior)*p.SD
	}
	p.ThresholdDef = "C3: sum of the C2 terms of days t-2, t-1, t; alarm when the sum > 2"
	return p, true
}

// CUSUM is a one-sided Poisson-style CUSUM on standardized counts, the
// other standard choice: S_t = max(0, S_{t−1} + (Y_t − μ)/σ − k) with the
// C1 baseline, k = 0.5, alarm when S_t > h = 4, then reset to 0.
func CUSUM(y []float64) []Point {
	var out []Point
	s := 0.0
	for t := earsBaseline; t < len(y); t++ {
		base := y[t-earsBaseline : t]
		mu, sd := meanSD(base)
		sd = max(sd, MinSigma)
		// S > h exactly when Y > μ + (h + k − S')σ; S' ≤ h after a reset.
		level := mu + (cusumH+cusumK-s)*sd
		s = max(0, s+(y[t]-mu)/sd-cusumK)
		p := Point{Index: t, Baseline: append([]float64(nil), base...), Mean: mu, SD: sd, Observed: y[t],
			Statistic: s, Threshold: cusumH, Alarm: s > cusumH, Level: level,
			ThresholdDef: "CUSUM: S=max(0,S'+(Y-mean)/sd-0.5) with the C1 baseline; alarm when S > 4, then reset"}
		if p.Alarm {
			s = 0
		}
		out = append(out, p)
	}
	return out
}

const (
	cusumK = 0.5 // reference value, in standard deviations
	cusumH = 4.0 // decision threshold
)

// Detectors runs every detector (C1, C2, C3 and CUSUM over the whole of
// y) on the last day of y; a detector y is too short for is left out.
func Detectors(y []float64) map[string]Point {
	out := map[string]Point{}
	for _, name := range DetectorNames {
		ps := RunDetector(name, y)
		if len(ps) > 0 && ps[len(ps)-1].Index == len(y)-1 {
			out[name] = ps[len(ps)-1]
		}
	}
	return out
}

// RunDetector evaluates the named detector on every day of y it is
// defined for, oldest first; nil for an unknown name. CUSUM starts from
// 0 on day 7 of y, so the same series always gives the same points: an
// alert's stored series reproduces its statistic.
func RunDetector(name string, y []float64) []Point {
	var fn func([]float64, int) (Point, bool)
	switch name {
	case C1:
		fn = EARSC1
	case C2:
		fn = EARSC2
	case C3:
		fn = EARSC3
	case CUSUMDetector:
		return CUSUM(y)
	default:
		return nil
	}
	var out []Point
	for t := range y {
		if p, ok := fn(y, t); ok {
			out = append(out, p)
		}
	}
	return out
}
