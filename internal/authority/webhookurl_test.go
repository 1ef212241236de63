package authority_test

import (
	"testing"
	"time"

	"github.com/herd-health/herd/internal/authority"
)

func TestRelyingPartyWebhookURL(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name, url string
		insecure  bool
		ok        bool
	}{
		{"https", "https://bank.example/hook", false, true},
		{"http to loopback", "http://127.0.0.1:9000/hook", false, true},
		{"plain http", "http://bank.example/hook", false, false},
		{"plain http allowed by the operator", "http://bank.example/hook", true, true},
		{"cloud metadata", "http://169.254.169.254/latest", false, false},
		{"cloud metadata even when allowed", "http://169.254.169.254/latest", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newRP := authority.NewRelyingParty
			if tc.insecure {
				newRP = authority.NewRelyingPartyInsecure
			}
			_, err := newRP("bank", tc.url, now)
			if tc.ok != (err == nil) {
				t.Fatalf("%s: err %v, want ok %v", tc.url, err, tc.ok)
			}
		})
	}
}
