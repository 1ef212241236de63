package ratelimit

import (
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(Limit{PerSecond: 2, Burst: 3})
	steps := []struct {
		name     string
		key      string
		at       time.Duration
		want     bool
		wantWait time.Duration
	}{
		{"burst 1", "a", 0, true, 0},
		{"burst 2", "a", 0, true, 0},
		{"burst 3", "a", 0, true, 0},
		{"empty", "a", 0, false, 500 * time.Millisecond},
		{"other key has its own bucket", "b", 0, true, 0},
		{"half a token later", "a", 250 * time.Millisecond, false, 250 * time.Millisecond},
		{"one token later", "a", 500 * time.Millisecond, true, 0},
		{"empty again", "a", 500 * time.Millisecond, false, 500 * time.Millisecond},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			ok, wait := l.Allow(s.key, t0.Add(s.at))
			if ok != s.want || (wait-s.wantWait).Abs() > time.Millisecond {
				t.Errorf("Allow = %v, %v; want %v, %v", ok, wait, s.want, s.wantWait)
			}
		})
	}
	if _, _ = l.Allow("c", t0.Add(2*time.Minute)); l.Len() != 1 {
		t.Errorf("after a sweep %d keys are tracked, want only the new one", l.Len())
	}
}

func TestInf(t *testing.T) {
	l := New(Inf)
	for range 1000 {
		if ok, _ := l.Allow("a", time.Time{}); !ok {
			t.Fatal("Inf refused")
		}
	}
}
