package loadgen

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
)

// The spliced statement is byte for byte what json.Marshal gives for the
// same Statement, and the server's decoder reads it back.
func TestStatementTemplateMatchesMarshal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		audiences []string
		now       time.Time
	}{
		{"one audience", []string{"https://bank.example"}, time.Date(2026, 12, 3, 18, 0, 0, 123456789, time.UTC)},
		{"two audiences, whole second", []string{"https://a.example", "https://b.example"}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"none", nil, time.Date(2027, 6, 30, 23, 59, 59, 100, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := newStatementTemplate(tc.audiences)
			if err != nil {
				t.Fatal(err)
			}
			id, nonce := "dQw4w9WgXcQ-_abc", "AAAAAGd0aW1lX3JhbmRvbQ-xyz_"
			got := tmpl.appendStatement(nil, id, nonce, tc.now)
			st := health.Statement{
				Version: 1, DeviceID: id, Nonce: nonce, IssuedAt: tc.now, CollectedAt: tc.now.Add(-2 * time.Second),
				OS: "linux", OSVersion: "debian 12", AgentVersion: "herd-agent loadgen", Audiences: tc.audiences,
			}
			for _, cid := range health.CheckIDs {
				s := checkinStatuses[cid]
				st.Checks = append(st.Checks, health.Result{ID: cid, Status: s, Reason: "simulated " + string(s) + " result for " + string(cid),
					Evidence: health.Evidence{Source: "loadgen", Trust: health.OSReported}})
			}
			want, _ := json.Marshal(st)
			if string(got) != string(want) {
				t.Fatalf("template gives\n%s\nwant\n%s", got, want)
			}
			var back health.Statement
			if err := json.Unmarshal(got, &back); err != nil || back.Nonce != nonce || !back.IssuedAt.Equal(tc.now) || back.Validate() != nil {
				t.Fatalf("decoded %+v, %v", back, err)
			}
		})
	}
}
