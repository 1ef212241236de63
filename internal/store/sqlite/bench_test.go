package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// BenchmarkRecordCheckinParallel is the store's part of a check-in: many
// callers at once, so writes group-commit as on a busy authority. It
// reports CPU time per check-in.
func BenchmarkRecordCheckinParallel(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	base := time.Now().UTC()
	const devices = 256
	for d := range devices {
		if err := s.CreateDevice(ctx, store.Device{ID: fmt.Sprintf("dev-%d", d), PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: base}); err != nil {
			b.Fatal(err)
		}
	}
	stmt := make([]byte, 2048)
	var next atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	cpu0 := cpuNanos()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			c := store.Checkin{DeviceID: fmt.Sprintf("dev-%d", i%devices), ReceivedAt: base, Verdict: health.Affirming, PolicyID: "p@1",
				OS: "linux", OSVersion: "debian 12", Agent: "a", Statement: stmt, SourceIP: "127.0.0.1",
				NonceKey: []byte(fmt.Sprintf("nonce-%d", i)), NonceExpires: base.Add(time.Hour),
				Certificates: []store.IssuedCertificate{{JTI: fmt.Sprintf("jti-%d", i), DeviceID: fmt.Sprintf("dev-%d", i%devices), Audience: "https://bank.example", IssuedAt: base, ExpiresAt: base.Add(time.Hour)}}}
			if _, err := s.RecordCheckin(ctx, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N), "cpu-ns/op")
}
