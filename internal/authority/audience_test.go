package authority_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/protocol"
)

// A certificate is never issued for an audience a browser or a person
// could be fooled by: the check-in is a 400 naming it, and nothing is
// stored.
func TestCheckinRefusesHostileAudiences(t *testing.T) {
	e := newEnv(t, authority.Config{})
	d := e.enroll()
	for _, tc := range []struct {
		aud string
		ok  bool
	}{
		{"https://bank.example", true},
		{"https://bank.example:8443/app", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:3000", true},
		{"http://[::1]:3000", true},
		{"urn:example:shop", true},
		{"tag:shop.example,2026:web", true},
		{"shop.example", true},
		{"javascript:alert(1)", false},
		{"JavaScript:alert(1)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"file:///etc/passwd", false},
		{"vbscript:msgbox", false},
		{"http://bank.example", false},
		{"https://user:pw@bank.example", false},
		{"https://bank.example#frag", false},
		{"https:bank.example", false},
		{"https://", false},
		{"<script>alert(1)</script>", false},
		{"shop\texample", false},
		{"urn:", false},
		{"bank\u202eexample", false}, // a right-to-left override: a format character
		{"bank\u200bexample", false},
		{"bank\u00a0example", false},
	} {
		before := e.checkins()
		code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(t, d, e.statement(d, e.nonce(), healthy, tc.aud)), nil)
		switch {
		case tc.ok && code != http.StatusOK:
			t.Errorf("%q: %d %+v, want 200", tc.aud, code, perr)
		case !tc.ok && (code != http.StatusBadRequest || perr.Code != "bad_audience" || !strings.Contains(perr.Error, "audience")):
			t.Errorf("%q: %d %+v, want 400 bad_audience", tc.aud, code, perr)
		case !tc.ok && e.checkins() != before:
			t.Errorf("%q: a refused check-in was stored", tc.aud)
		}
	}
}

func TestValidAudienceLength(t *testing.T) {
	if err := protocol.ValidAudience(strings.Repeat("a", 256)); err != nil {
		t.Errorf("256 bytes: %v", err)
	}
	if err := protocol.ValidAudience(strings.Repeat("a", 257)); err == nil {
		t.Error("257 bytes accepted")
	}
}
