package population

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

func TestEARSHandVectors(t *testing.T) {
	// Baseline 2,4,3,5,2,4,3: Σ = 23, μ = 23/7 = 3.285714;
	// Σx² = 83, Σ(x−μ)² = 83 − 23²/7 = 7.428571, s² = 7.428571/6 = 1.238095,
	// σ = 1.112697.
	// Y = 12: S = (12 − 3.285714 − 1.112697)/1.112697 = 6.831696 > 2: alarm.
	// Y = 6:  S = (6 − 4.398411)/1.112697 = 1.439379 ≤ 2: no alarm.
	// The count that alarms: μ + 3σ = 6.623805.
	base := []float64{2, 4, 3, 5, 2, 4, 3}
	tests := []struct {
		name      string
		fn        func([]float64, int) (Point, bool)
		y         []float64
		mean, sd  float64
		statistic float64
		alarm     bool
	}{
		{"C1 alarm", EARSC1, append(base[:7:7], 12), 3.285714, 1.112697, 6.831696, true},
		{"C1 quiet", EARSC1, append(base[:7:7], 6), 3.285714, 1.112697, 1.439379, false},
		// C2 at t = 9 with days 0..6 all 1: μ = 1, s = 0 floored to 0.5;
		// S = (5 − 1.5)/0.5 = 7: alarm. Days 7 and 8 (9, 9) are the guard
		// band the lag keeps out of the baseline.
		{"C2 guard band", EARSC2, []float64{1, 1, 1, 1, 1, 1, 1, 9, 9, 5}, 1, 0.5, 7, true},
		// C1 on the same series: baseline days 2..8 = 1,1,1,1,1,9,9:
		// μ = 23/7 = 3.285714, Σ(x−μ)² = 167 − 529/7 = 91.428571,
		// σ = √(91.428571/6) = 3.903600; S = max(0, (5 − 7.189314)/3.9036) = 0.
		{"C1 swallowed by outbreak in baseline", EARSC1, []float64{1, 1, 1, 1, 1, 1, 1, 9, 9, 5}, 3.285714, 3.903600, 0, false},
		// C3 at t = 11, days 0..8 all 2 so every C2 baseline is μ = 2,
		// σ = 0.5 (floored); days 9, 10, 11 are 3: each term is
		// (3 − 2.5)/0.5 = 1, sum 3 > 2: alarm, though C2 alone (1) is quiet.
		{"C3 sum of three", EARSC3, []float64{2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3}, 2, 0.5, 3, true},
		{"C2 same day quiet", EARSC2, []float64{2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3}, 2, 0.5, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tc.fn(tc.y, len(tc.y)-1)
			if !ok {
				t.Fatal("series judged too short")
			}
			if !near(p.Mean, tc.mean) || !near(p.SD, tc.sd) || !near(p.Statistic, tc.statistic) || p.Alarm != tc.alarm {
				t.Errorf("got mean %.6f sd %.6f S %.6f alarm %v; want %.6f %.6f %.6f %v",
					p.Mean, p.SD, p.Statistic, p.Alarm, tc.mean, tc.sd, tc.statistic, tc.alarm)
			}
			if p.Threshold != 2 {
				t.Errorf("threshold %v, want 2", p.Threshold)
			}
		})
	}
	p, _ := EARSC1(append(base[:7:7], 12), 7)
	if !near(p.UpperLimit, 6.623805) || !near(p.Level, 6.623805) {
		t.Errorf("upper limit %.6f, level %.6f; want 6.623805", p.UpperLimit, p.Level)
	}
	t.Run("levels", func(t *testing.T) {
		// C3 on "C3 sum of three": the terms of days 9 and 10 are 1 each,
		// so day 11 alarms above μ + (k + h − 2)σ = 2 + 0.5 = 2.5.
		p, _ := EARSC3([]float64{2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3}, 11)
		if !near(p.Level, 2.5) {
			t.Errorf("C3 level %.6f, want 2.5", p.Level)
		}
		// Days 9 and 10 at 5: terms (5 − 2.5)/0.5 = 5 each, 10 > h: day 11
		// alarms whatever its count, even 0.
		p, _ = EARSC3([]float64{2, 2, 2, 2, 2, 2, 2, 2, 2, 5, 5, 0}, 11)
		if p.Level != NoLevel || !p.Alarm || !near(p.Statistic, 10) {
			t.Errorf("C3 after two high days: level %v alarm %v S %.6f; want NoLevel, an alarm, 10", p.Level, p.Alarm, p.Statistic)
		}
		// CUSUM on the vector below: day 7's level is μ + (h + k − 0)σ =
		// 2 + 4.5·0.5 = 4.25 (4 does not alarm); day 8's is μ + (4.5 −
		// 3.5)σ = 2.285714 + 0.755929 = 3.041643 (4 alarms).
		ps := CUSUM([]float64{2, 2, 2, 2, 2, 2, 2, 4, 4})
		if !near(ps[0].Level, 4.25) || !near(ps[1].Level, 3.041643) {
			t.Errorf("CUSUM levels %.6f %.6f, want 4.25 3.041643", ps[0].Level, ps[1].Level)
		}
	})
	t.Run("too short", func(t *testing.T) {
		y := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
		if _, ok := EARSC1(y, 6); ok {
			t.Error("C1 on day 6")
		}
		if _, ok := EARSC2(y, 8); ok {
			t.Error("C2 on day 8")
		}
		if _, ok := EARSC3(y, 9); ok {
			t.Error("C3 on day 9 (its first term needs day 9's C2 at t-2=7)")
		}
	})
	t.Run("CUSUM", func(t *testing.T) {
		// Days 0..6 are 2. Day 7 = 4: μ = 2, σ = 0.5, z = 4, S = 4 − 0.5 = 3.5.
		// Day 8 = 4: baseline 2×6, 4: μ = 16/7 = 2.285714, Σ(x−μ)² = 40 − 256/7
		// = 3.428571, σ = √(3.428571/6) = 0.755929, z = 2.267787,
		// S = 3.5 + 2.267787 − 0.5 = 5.267787 > 4: alarm.
		ps := CUSUM([]float64{2, 2, 2, 2, 2, 2, 2, 4, 4})
		if len(ps) != 2 || !near(ps[0].Statistic, 3.5) || ps[0].Alarm || !near(ps[1].Statistic, 5.267787) || !ps[1].Alarm {
			t.Errorf("CUSUM = %+v", ps)
		}
	})
}

// TestLevelIsTheThreshold: on seeded Poisson series, every detector
// alarms on a day exactly when the day's count is above its Level (or
// whatever the count when Level is NoLevel), and a count just above the
// level alarms while one at it does not.
func TestLevelIsTheThreshold(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for run := range 300 {
		y := make([]float64, 30)
		lambda := []float64{0.3, 2, 8}[run%3]
		for i := range y {
			y[i] = poisson(r, lambda)
		}
		for _, name := range DetectorNames {
			for _, p := range RunDetector(name, y) {
				if p.Level == NoLevel {
					if !p.Alarm {
						t.Fatalf("%s day %d of %v: NoLevel without an alarm", name, p.Index, y)
					}
					continue
				}
				if p.Alarm != (p.Observed > p.Level) {
					t.Fatalf("%s day %d of %v: observed %v, level %v, alarm %v", name, p.Index, y, p.Observed, p.Level, p.Alarm)
				}
				for _, tc := range []struct {
					y     float64
					alarm bool
				}{{p.Level + 1e-9, true}, {p.Level - 1e-9, false}} {
					z := append([]float64(nil), y[:p.Index+1]...)
					z[p.Index] = tc.y
					if q := RunDetector(name, z); q[len(q)-1].Alarm != tc.alarm {
						t.Fatalf("%s day %d of %v with count %v: alarm %v, want %v (level %v)", name, p.Index, y, tc.y, !tc.alarm, tc.alarm, p.Level)
					}
				}
			}
		}
	}
	if RunDetector("nope", []float64{1, 2, 3}) != nil {
		t.Error("an unknown detector ran")
	}
}

// poisson draws from Poisson(lambda) by Knuth's method (small lambda).
func poisson(r *rand.Rand, lambda float64) float64 {
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

type simResult struct {
	name           string
	falseAlarmRate float64 // alarms per monitored day before the outbreak
	// detected is the share of runs alarming within the 7 days of the
	// outbreak; chance the share of runs of the same background without
	// an outbreak alarming in the same 7 days (false alarms alone).
	detected, chance    float64
	medianDelay, p90    float64 // days from the start to the first alarm, detected runs
	monitoredDays, runs int
}

// excess is the detection probability the outbreak adds over chance.
func (r simResult) excess() float64 { return r.detected - r.chance }

// simulate runs every detector on seeded Poisson series (background mean
// lambda) with an outbreak adding Poisson(extra) per day from day start
// for 7 days, and on as many series of the same background without one.
func simulate(lambda, extra float64, runs int) []simResult {
	const n, start = 60, 45
	r := rand.New(rand.NewPCG(2026, 12))
	type acc struct {
		alarms, days     int
		delays           []float64
		detected, chance int
	}
	accs := make([]acc, len(DetectorNames))
	alarms := func(name string, y []float64) []bool {
		a := make([]bool, len(y))
		for _, p := range RunDetector(name, y) {
			a[p.Index] = p.Alarm
		}
		return a
	}
	for range runs {
		y := make([]float64, n)
		null := make([]float64, n)
		for i := range y {
			y[i] = poisson(r, lambda)
			null[i] = poisson(r, lambda)
			if i >= start && i < start+7 {
				y[i] += poisson(r, extra)
			}
		}
		for d, name := range DetectorNames {
			alarm := alarms(name, y)
			// False alarms: days 15..start-1 (every detector is defined).
			for t := 15; t < start; t++ {
				accs[d].days++
				if alarm[t] {
					accs[d].alarms++
				}
			}
			for t := start; t < start+7; t++ {
				if alarm[t] {
					accs[d].detected++
					accs[d].delays = append(accs[d].delays, float64(t-start))
					break
				}
			}
			if slices.Contains(alarms(name, null)[start:start+7], true) {
				accs[d].chance++
			}
		}
	}
	var out []simResult
	for d, name := range DetectorNames {
		a := accs[d]
		sort.Float64s(a.delays)
		res := simResult{name: name, runs: runs, monitoredDays: a.days,
			falseAlarmRate: float64(a.alarms) / float64(a.days), detected: float64(a.detected) / float64(runs),
			chance: float64(a.chance) / float64(runs)}
		if len(a.delays) > 0 {
			res.medianDelay = a.delays[len(a.delays)/2]
			res.p90 = a.delays[len(a.delays)*9/10]
		}
		out = append(out, res)
	}
	return out
}

// TestOutbreakDetectionSynthetic measures detection delay and false-alarm
// rate on 1000 seeded Poisson series per scenario, and how often the
// same 7-day window alarms on 1000 series without an outbreak. Set
// HERD_PRINT_OUTBREAK=1 to print the table BENCHMARKS.md shows.
//
// Bounds: EARS's nominal 3σ rule would give ~0.1% false alarms under
// normality, but σ estimated from 7 Poisson counts is noisy and small
// counts are skewed, so observed rates are a few percent per day (as
// Fricker et al. 2008 report for EARS); we require at most 4% for C1 and
// C2, 3% for CUSUM, and 12% for C3, whose three summed terms alarm on
// runs of mildly high days (measured: 2–3%, 1.4–2%, 8–10.5%). False
// alarms alone make a 7-day window alarm often (C3: about a quarter of
// quiet series; less than 1−(1−p)^7 ≈ 45% because its alarms come in
// runs), so a detector is judged by what the outbreak adds over that
// chance. For a doubling of the daily count (mean 8 → 16 for a week): C1
// detects the outbreak only on its first day or two, after which the
// outbreak enters its own baseline (the hand vector "C1 swallowed by
// outbreak in baseline"), so it must add at least 45 points over chance;
// C2, whose two-day guard band keeps the first days out of the baseline,
// at least 65; C3 at least 60 (its chance rate is the highest) and CUSUM
// at least 75; median delay at most 1 day for all. For +50% (mean 8 → 12)
// every detector must still add at least 20 points. Measured figures are
// in BENCHMARKS.md.
func TestOutbreakDetectionSynthetic(t *testing.T) {
	scenarios := []struct {
		name          string
		lambda, extra float64
	}{
		{"mean 8, doubling", 8, 8},
		{"mean 8, +50%", 8, 4},
		{"mean 2, +4/day", 2, 4},
	}
	var report strings.Builder
	fmt.Fprintf(&report, "| scenario | detector | false alarms / day | alarm in the 7 days, outbreak | same 7 days, no outbreak | outbreak adds | median delay (days) | 90th pct delay |\n|---|---|---|---|---|---|---|---|\n")
	for _, sc := range scenarios {
		res := simulate(sc.lambda, sc.extra, 1000)
		for _, r := range res {
			fmt.Fprintf(&report, "| %s | %s | %.4f | %.3f | %.3f | %+.3f | %.0f | %.0f |\n", sc.name, r.name, r.falseAlarmRate, r.detected, r.chance, r.excess(), r.medianDelay, r.p90)
			limit := map[string]float64{C1: 0.04, C2: 0.04, C3: 0.12, CUSUMDetector: 0.03}[r.name]
			if r.falseAlarmRate > limit {
				t.Errorf("%s %s: false-alarm rate %.4f over %.2f", sc.name, r.name, r.falseAlarmRate, limit)
			}
			if r.falseAlarmRate == 0 || r.chance == 0 {
				t.Errorf("%s %s: no false alarm at all in %d days: the detector is not looking", sc.name, r.name, r.monitoredDays)
			}
			// Seven days of false alarms at the measured daily rate: the
			// chance rate must agree with it (independence would give
			// 1−(1−p)^7; alarms on consecutive days cluster, so less).
			if up := 1 - math.Pow(1-r.falseAlarmRate, 7); r.chance > up+0.05 {
				t.Errorf("%s %s: chance alarms %.3f in 7 days, above the %.3f independent days would give", sc.name, r.name, r.chance, up)
			}
			switch sc.name {
			case "mean 8, doubling":
				min := map[string]float64{C1: 0.45, C2: 0.65, C3: 0.60, CUSUMDetector: 0.75}[r.name]
				if r.excess() < min || r.medianDelay > 1 {
					t.Errorf("%s %s: the outbreak adds %.3f over chance (want ≥ %.2f), median delay %.0f", sc.name, r.name, r.excess(), min, r.medianDelay)
				}
			case "mean 8, +50%":
				if r.excess() < 0.20 {
					t.Errorf("%s %s: the outbreak adds %.3f over chance (want ≥ 0.20)", sc.name, r.name, r.excess())
				}
			}
		}
	}
	if os.Getenv("HERD_PRINT_OUTBREAK") != "" {
		fmt.Print(report.String())
	}
}
