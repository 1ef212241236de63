package authority

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/herd-health/herd/internal/protocol"
)

// The check-in answer is written on every check-in. appendCheckinResponse
// writes its usual shape (no indicator offer, questions or notice; plain
// strings) straight into a pooled buffer, byte for byte what
// json.Encoder with HTML escaping off writes (TestCheckinResponseBytes);
// anything else goes through encoding/json.

var respBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// writeCheckinResponse writes resp as writeJSON would.
func writeCheckinResponse(w http.ResponseWriter, resp *protocol.CheckinResponse) {
	bp := respBufs.Get().(*[]byte)
	b, ok := appendCheckinResponse((*bp)[:0], resp)
	if !ok {
		respBufs.Put(bp)
		writeJSON(w, http.StatusOK, resp)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		respBufs.Put(bp)
	}
}

// appendCheckinResponse appends resp's JSON and a newline to b, and
// reports false (for encoding/json to write it) when resp has anything
// beyond the usual shape.
func appendCheckinResponse(b []byte, resp *protocol.CheckinResponse) ([]byte, bool) {
	if resp.Indicators != nil || len(resp.Questions) > 0 || resp.Notice != "" {
		return b, false
	}
	ok := true
	str := func(s string) {
		if !plainJSON(s) {
			ok = false
			return
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	b = append(b, `{"checkin_id":`...)
	b = strconv.AppendInt(b, resp.CheckinID, 10)
	b = append(b, `,"verdict":`...)
	str(string(resp.Verdict))
	b = append(b, `,"policy_id":`...)
	str(resp.PolicyID)
	b = append(b, `,"findings":`...)
	if resp.Findings == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range resp.Findings {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			str(string(f.ID))
			b = append(b, `,"status":`...)
			str(string(f.Status))
			if f.Trust != "" {
				b = append(b, `,"trust":`...)
				str(string(f.Trust))
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"required":`...)
	if resp.Required == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, id := range resp.Required {
			if i > 0 {
				b = append(b, ',')
			}
			str(string(id))
		}
		b = append(b, ']')
	}
	b = append(b, `,"certificates":`...)
	if resp.Certificates == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range resp.Certificates {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"aud":`...)
			str(c.Audience)
			b = append(b, `,"token":`...)
			str(c.Token)
			b = append(b, `,"expires_at":`...)
			t, err := c.ExpiresAt.MarshalJSON()
			if err != nil {
				return b, false
			}
			b = append(b, t...)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"next_checkin_seconds":`...)
	b = strconv.AppendInt(b, resp.NextCheckinSeconds, 10)
	b = append(b, "}\n"...)
	return b, ok
}

// plainJSON reports whether s is written by encoding/json (HTML escaping
// off) as itself between quotes: printable ASCII without '"' or '\'.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
