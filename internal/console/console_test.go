package console

import (
	"testing"
)

func TestChartLayout(t *testing.T) {
	tests := []struct {
		name    string
		values  [][]int64
		stacked bool
		wantTop string
	}{
		{"small stacked", [][]int64{{1, 2}, {1, 0}}, true, "4"},
		{"zero", [][]int64{{0, 0}}, false, "4"},
		{"thousands", [][]int64{{1200, 3900}}, false, "4,000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in []seriesIn
			for i, v := range tc.values {
				in = append(in, seriesIn{key: string(rune('a' + i)), label: "s", class: "line", values: v})
			}
			c := newChart("c", "t", "", []string{"2026-01-01", "2026-01-02"}, in, tc.stacked)
			if got := c.YTicks[len(c.YTicks)-1].Label; got != tc.wantTop {
				t.Errorf("top tick = %s, want %s", got, tc.wantTop)
			}
			for i, s := range c.Series {
				for j, p := range s.Points {
					if p.Value != tc.values[i][j] {
						t.Errorf("series %d day %d = %d, want %d", i, j, p.Value, tc.values[i][j])
					}
				}
			}
		})
	}
	if thousands(1234567) != "1,234,567" || thousands(-1000) != "-1,000" || percent(0.5) != "50.0%" {
		t.Error("number formatting")
	}
}
