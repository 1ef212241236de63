package authority

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
)

// slowStatement is the reference: encoding/json with unknown fields refused.
func slowStatement(b []byte) (health.Statement, error) {
	var st health.Statement
	err := decodeJSON(b, &st)
	return st, err
}

// genStatement makes a statement of the agent's shape with varied values.
func genStatement(r *rand.Rand) health.Statement {
	now := time.Date(2026, 12, 3, 19, 0, 0, r.IntN(1e9), time.UTC).Add(time.Duration(r.IntN(1e6)) * time.Second)
	if r.IntN(3) == 0 {
		now = now.In(time.FixedZone("", 3600*(r.IntN(25)-12)))
	}
	st := health.Statement{Version: 1, DeviceID: fmt.Sprintf("dev-%d", r.Int64()), Nonce: fmt.Sprintf("n%x", r.Uint64()),
		IssuedAt: now, CollectedAt: now.Add(-time.Duration(r.IntN(5000)) * time.Millisecond),
		OS: []string{"linux", "windows", "darwin"}[r.IntN(3)], IndicatorsVersion: r.Int64N(1000) * int64(r.IntN(2))}
	if r.IntN(2) == 0 {
		st.OSVersion = "debian 12 — bookworm"
	}
	if r.IntN(2) == 0 {
		st.AgentVersion = fmt.Sprintf("herd-agent 0.%d", r.IntN(9))
	}
	for range r.IntN(3) {
		st.Audiences = append(st.Audiences, fmt.Sprintf("https://rp%d.example", r.IntN(100)))
	}
	statuses := []health.Status{health.Pass, health.Fail, health.Unknown, health.NotApplicable}
	trusts := []health.Trust{health.OSReported, health.ProductReported, health.HardwareBacked, health.SelfReported, ""}
	for _, id := range health.CheckIDs[:r.IntN(len(health.CheckIDs)+1)] {
		res := health.Result{ID: id, Status: statuses[r.IntN(4)], Reason: "the reason 原因 " + string(id),
			Evidence: health.Evidence{Source: "cmd " + string(id), Trust: trusts[r.IntN(5)]}}
		if r.IntN(2) == 0 {
			res.Evidence.Facts = map[string]any{"version": fmt.Sprint(r.IntN(100)), "count": float64(r.IntN(1000)) / 8, "enabled": r.IntN(2) == 0}
		}
		if r.IntN(3) == 0 {
			res.Details = []string{"ufw: not installed", "nftables: input policy drop"}[:1+r.IntN(2)]
		}
		if r.IntN(3) == 0 {
			res.Remediation = "turn it on"
		}
		st.Checks = append(st.Checks, res)
	}
	return st
}

// TestFastStatementMatchesEncodingJSON: over many generated statements of
// the agent's shape, the hand-written reader takes every one and gives
// exactly what encoding/json gives.
func TestFastStatementMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		b, err := json.Marshal(genStatement(r))
		if err != nil {
			t.Fatal(err)
		}
		var fast health.Statement
		if !fastStatement(b, &fast) {
			t.Fatalf("statement %d not taken by the fast reader: %s", i, b)
		}
		slow, err := slowStatement(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("statement %d differs:\nfast %#v\nslow %#v", i, fast, slow)
		}
	}
}

// TestStatementFallback: shapes the fast reader does not take still
// decode (or fail) exactly as encoding/json decides.
func TestStatementFallback(t *testing.T) {
	base := `{"version":1,"device_id":"d","nonce":"n","issued_at":"2026-12-03T19:00:00Z","collected_at":"2026-12-03T19:00:00Z","os":"linux","indicators_version":0,"checks":[%s]%s}`
	tests := []struct {
		name  string
		body  string
		fast  bool
		error bool
	}{
		{"plain", fmt.Sprintf(base, `{"id":"firewall","status":"pass","reason":"r","evidence":{"source":"s","trust":"os_reported","v":1.5e3}}`, ""), true, false},
		{"unknown top-level key", fmt.Sprintf(base, "", `,"extra":1`), false, true},
		{"unknown result key", fmt.Sprintf(base, `{"id":"firewall","bogus":1}`, ""), false, true},
		{"differently cased key", fmt.Sprintf(base, "", `,"OS_Version":"x"`), false, false},
		{"repeated key", fmt.Sprintf(base, "", `,"os":"windows"`), false, false},
		{"escaped string", fmt.Sprintf(base, `{"id":"fire\u0077all","status":"pass"}`, ""), false, false},
		{"null list", fmt.Sprintf(base, "", `,"audiences":null`), true, false},
		{"null string", fmt.Sprintf(base, "", `,"os_version":null`), false, false},
		{"fraction in int", fmt.Sprintf(base, "", `,"version":1.0`), false, true},
		{"nested fact", fmt.Sprintf(base, `{"id":"firewall","evidence":{"source":"s","x":{"a":[1]}}}`, ""), false, false},
		{"sightings", fmt.Sprintf(base, "", `,"sightings":[{"question_id":1,"seen":false}]`), false, false},
		{"trailing data", fmt.Sprintf(base, "", "") + ` {}`, false, true},
		{"trailing close brace", fmt.Sprintf(base, "", "") + `}`, false, false},
		{"bad time", strings.Replace(fmt.Sprintf(base, "", ""), "19:00:00Z", "19:00:00", 1), false, true},
		{"not an object", `[1,2]`, false, true},
		{"truncated", fmt.Sprintf(base, "", "")[:40], false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.body)
			var fast health.Statement
			if got := fastStatement(b, &fast); got != tt.fast {
				t.Errorf("fast reader took it = %v, want %v", got, tt.fast)
			}
			var st health.Statement
			err := decodeStatement(b, &st)
			if (err != nil) != tt.error {
				t.Fatalf("decodeStatement error = %v, want error %v", err, tt.error)
			}
			slow, serr := slowStatement(b)
			if (serr != nil) != (err != nil) || (err == nil && !reflect.DeepEqual(st, slow)) {
				t.Fatalf("decodeStatement = %#v, %v; encoding/json = %#v, %v", st, err, slow, serr)
			}
			if err != nil {
				if ae, ok := err.(*apiError); !ok || ae.code != "malformed_json" {
					t.Fatalf("error = %v, want code malformed_json", err)
				}
			}
		})
	}
}

// FuzzStatementDecode: on any input, the fast reader either declines or
// gives exactly the value encoding/json gives (which then succeeds too).
func FuzzStatementDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		b, _ := json.Marshal(genStatement(r))
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"checks":[{"evidence":{"a":-0.5e-3,"b":true,"c":false}}],"audiences":[]}`))
	f.Add([]byte(` {"version":-0,"indicators_version":123456789012345678} `))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast health.Statement
		if !fastStatement(b, &fast) {
			return
		}
		slow, err := slowStatement(b)
		if err != nil {
			t.Fatalf("fast reader took %q, encoding/json refuses it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("input %q:\nfast %#v\nslow %#v", b, fast, slow)
		}
	})
}

func BenchmarkStatementDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	body, _ := json.Marshal(genStatement(r))
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var st health.Statement
			if err := decodeStatement(body, &st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := slowStatement(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
