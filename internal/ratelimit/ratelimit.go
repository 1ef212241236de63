// Package ratelimit is an in-memory token-bucket limiter keyed by a
// string (a source address, a device id). It is per process: several
// nodes each allow the configured rate, so a cluster of n nodes behind a
// load balancer allows up to n times as much.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limit is a sustained rate and a burst. The zero Limit allows nothing;
// use Inf for no limit.
type Limit struct {
	// PerSecond is how many requests a key may make per second, sustained.
	PerSecond float64 `json:"per_second"`
	// Burst is how many it may make at once.
	Burst int `json:"burst"`
}

// Inf is no limit.
var Inf = Limit{PerSecond: math.Inf(1), Burst: math.MaxInt32}

type bucket struct {
	tokens float64
	last   time.Time
}

// Limiter keeps one bucket per key.
type Limiter struct {
	limit Limit
	mu    sync.Mutex
	b     map[string]*bucket
	swept time.Time
}

// New makes a limiter.
func New(l Limit) *Limiter { return &Limiter{limit: l, b: map[string]*bucket{}} }

// Allow takes one token from key's bucket. When there is none it says
// how long until there will be one.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if math.IsInf(l.limit.PerSecond, 1) {
		return true, 0
	}
	burst := float64(max(l.limit.Burst, 1))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, burst)
	b := l.b[key]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.b[key] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*l.limit.PerSecond)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if l.limit.PerSecond <= 0 {
		return false, time.Hour
	}
	wait := time.Duration((1 - b.tokens) / l.limit.PerSecond * float64(time.Second))
	return false, wait
}

// sweep drops full buckets once a minute, so memory follows the number
// of recently active keys.
func (l *Limiter) sweep(now time.Time, burst float64) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.b {
		if b.tokens+now.Sub(b.last).Seconds()*l.limit.PerSecond >= burst {
			delete(l.b, k)
		}
	}
}

// Len is the number of keys tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.b)
}
