package authority

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/protocol"
)

func encodingJSON(t *testing.T, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func genResponse(r *rand.Rand) protocol.CheckinResponse {
	tiers := []health.Tier{health.Affirming, health.Warning, health.Contraindicated, health.None}
	odd := []string{"plain", `quote"d`, `back\slash`, "tab\there", "<html>&", "é", "\u2028", "\x7f", "bad\xffutf8"}
	resp := protocol.CheckinResponse{CheckinID: r.Int64() - r.Int64(), Verdict: tiers[r.IntN(4)],
		PolicyID: fmt.Sprintf("herd-default@%d", r.IntN(9)), NextCheckinSeconds: r.Int64N(1e6)}
	if r.IntN(8) == 0 {
		resp.PolicyID = odd[r.IntN(len(odd))]
	}
	if r.IntN(6) > 0 {
		resp.Findings = []health.Finding{}
		for _, id := range health.CheckIDs[:r.IntN(4)] {
			resp.Findings = append(resp.Findings, health.Finding{ID: id, Status: health.Fail, Trust: []health.Trust{"", health.OSReported}[r.IntN(2)]})
		}
	}
	if r.IntN(6) > 0 {
		resp.Required = health.CheckIDs[:r.IntN(len(health.CheckIDs))]
	}
	if r.IntN(6) > 0 {
		resp.Certificates = []protocol.Certificate{}
		for range r.IntN(3) {
			exp := time.Unix(r.Int64N(4e9), r.Int64N(1e9)*int64(r.IntN(2)))
			if r.IntN(2) == 0 {
				exp = exp.UTC()
			} else {
				exp = exp.In(time.FixedZone("", 60*(r.IntN(1000)-500)))
			}
			resp.Certificates = append(resp.Certificates, protocol.Certificate{Audience: "https://bank.example/" + fmt.Sprint(r.IntN(50)),
				Token: "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln" + fmt.Sprint(r.Uint64()), ExpiresAt: exp})
		}
	}
	switch r.IntN(20) {
	case 0:
		resp.Notice = "n.o.t"
	case 1:
		resp.Questions = []protocol.SightingQuestion{{}}
	case 2:
		resp.Indicators = &protocol.IndicatorsOffer{}
	}
	return resp
}

// TestCheckinResponseBytes: the check-in answer written by hand is byte
// for byte what encoding/json writes, over many generated answers (the
// unusual ones through encoding/json itself).
func TestCheckinResponseBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	fast := 0
	for i := range 5000 {
		resp := genResponse(r)
		want := encodingJSON(t, resp)
		if got, ok := appendCheckinResponse(nil, &resp); ok {
			fast++
			if !bytes.Equal(got, want) {
				t.Fatalf("answer %d:\n got %s\nwant %s", i, got, want)
			}
		}
		w := httptest.NewRecorder()
		writeCheckinResponse(w, &resp)
		if !bytes.Equal(w.Body.Bytes(), want) || w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("answer %d written as %d %v %s, want %s", i, w.Code, w.Header(), w.Body.Bytes(), want)
		}
	}
	if fast < 3000 {
		t.Fatalf("only %d of 5000 answers written by hand", fast)
	}
}

func BenchmarkCheckinResponse(b *testing.B) {
	resp := protocol.CheckinResponse{CheckinID: 123456, Verdict: health.Affirming, PolicyID: "herd-default@1", Findings: []health.Finding{},
		Required: health.CheckIDs[:6], Certificates: []protocol.Certificate{{Audience: "https://bank.example", Token: string(bytes.Repeat([]byte("x"), 700)), ExpiresAt: time.Now().UTC()}}, NextCheckinSeconds: 3600}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			writeCheckinResponse(discard{}, &resp)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			writeJSON(discard{}, 200, resp)
		}
	})
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// TestReadBodyMatchesReadAll: bodies of a stated length, a wrong stated
// length, no stated length, and over the limit read as io.ReadAll reads
// them through the same limit.
func TestReadBodyMatchesReadAll(t *testing.T) {
	a := &Authority{}
	a.cfg.MaxBodyBytes = 64
	body := bytes.Repeat([]byte("a"), 40)
	tests := []struct {
		name   string
		data   []byte
		length int64
	}{
		{"stated", body, 40},
		{"stated too short", body, 10},
		{"stated too long", body, 50},
		{"unstated", body, -1},
		{"empty", nil, 0},
		{"at the limit", bytes.Repeat([]byte("b"), 64), 64},
		{"over the limit stated", bytes.Repeat([]byte("c"), 65), 65},
		{"over the limit understated", bytes.Repeat([]byte("c"), 100), 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk := func() (*httptest.ResponseRecorder, *http.Request) {
				r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(tt.data))
				r.ContentLength = tt.length
				return httptest.NewRecorder(), r
			}
			w, r := mk()
			got, gerr := a.readBody(w, r)
			w, r = mk()
			want, werr := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
			if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("readBody = %q, %v; io.ReadAll = %q, %v", got, gerr, want, werr)
			}
		})
	}
}
