package agent

import (
	"testing"
	"time"

	"github.com/herd-health/herd/internal/protocol"
)

func TestNextWait(t *testing.T) {
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	cert := func(left time.Duration) protocol.Certificate {
		return protocol.Certificate{Audience: "a", ExpiresAt: now.Add(left)}
	}
	for _, c := range []struct {
		name     string
		resp     protocol.CheckinResponse
		interval time.Duration
		jitter   float64
		want     time.Duration
	}{
		{"interval, no jitter centre", protocol.CheckinResponse{}, time.Hour, 0.5, time.Hour},
		{"interval, low jitter", protocol.CheckinResponse{}, time.Hour, 0, 54 * time.Minute},
		{"interval, high jitter", protocol.CheckinResponse{}, time.Hour, 1, 66 * time.Minute},
		{"authority's interval wins", protocol.CheckinResponse{NextCheckinSeconds: 600}, time.Hour, 0.5, 10 * time.Minute},
		{"half the certificate's life", protocol.CheckinResponse{Certificates: []protocol.Certificate{cert(time.Hour)}}, 4 * time.Hour, 0.5, 30 * time.Minute},
		{"shortest certificate", protocol.CheckinResponse{Certificates: []protocol.Certificate{cert(4 * time.Hour), cert(20 * time.Minute)}}, 4 * time.Hour, 0.5, 10 * time.Minute},
		{"certificate later than interval", protocol.CheckinResponse{Certificates: []protocol.Certificate{cert(4 * time.Hour)}}, time.Hour, 0.25, 57 * time.Minute},
		{"floor of 30 s", protocol.CheckinResponse{Certificates: []protocol.Certificate{cert(10 * time.Second)}}, time.Hour, 0.5, 30 * time.Second},
		{"expired certificate", protocol.CheckinResponse{Certificates: []protocol.Certificate{cert(-time.Hour)}}, time.Hour, 0, 27 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := NextWait(&Last{Response: c.resp}, now, c.interval, c.jitter)
			if got != c.want {
				t.Errorf("NextWait = %s, want %s", got, c.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	min, max := 30*time.Second, 30*time.Minute
	for _, c := range []struct {
		name     string
		failures int
		jitter   float64
		want     time.Duration
	}{
		{"first failure, full", 1, 1, 30 * time.Second},
		{"first failure, half", 1, 0, 15 * time.Second},
		{"second", 2, 1, time.Minute},
		{"third", 3, 1, 2 * time.Minute},
		{"sixth", 6, 1, 16 * time.Minute},
		{"seventh reaches the cap", 7, 1, 30 * time.Minute},
		{"hundredth stays at the cap", 100, 1, 30 * time.Minute},
		{"capped with jitter", 50, 0.5, 22*time.Minute + 30*time.Second},
		{"zero failures", 0, 1, 30 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Backoff(c.failures, min, max, c.jitter); got != c.want {
				t.Errorf("Backoff(%d) = %s, want %s", c.failures, got, c.want)
			}
		})
	}
}
