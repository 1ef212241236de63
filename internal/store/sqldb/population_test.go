package sqldb

import (
	"reflect"
	"testing"

	"github.com/herd-health/herd/internal/store"
)

func TestTotalDeltas(t *testing.T) {
	linux, win := store.Segment{OS: "linux"}, store.Segment{OS: "windows"}
	for _, tc := range []struct {
		name string
		in   []PopDelta
		want []PopDelta
	}{
		{"none", nil, nil},
		{"summed over segments", []PopDelta{
			{store.AggVerdict, "2026-12-03", linux, "warning", 1},
			{store.AggFailing, "2026-12-03", linux, "firewall", 1},
			{store.AggVerdict, "2026-12-03", win, "warning", 1},
		}, []PopDelta{
			{Kind: store.AggVerdict, Day: "2026-12-03", Key: "warning", N: 2},
			{Kind: store.AggFailing, Day: "2026-12-03", Key: "firewall", N: 1},
		}},
		// A device moving segment in the same state: its segment cells
		// change, the whole population's do not.
		{"moves cancel out", []PopDelta{
			{store.AggVerdict, "2026-12-03", linux, "affirming", -1},
			{store.AggVerdict, "2026-12-03", win, "affirming", 1},
			{store.AggVerdict, "2026-12-03", win, "warning", 1},
		}, []PopDelta{
			{Kind: store.AggVerdict, Day: "2026-12-03", Key: "warning", N: 1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TotalDeltas(tc.in)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TotalDeltas = %+v, want %+v", got, tc.want)
			}
		})
	}
}
