package authority_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/ratelimit"
)

// The per-address limit keys an IPv6 client by its /64, so hopping
// between the addresses of one prefix gains nothing; IPv4 clients are
// keyed by address.
func TestRateLimitKeysIPv6ByPrefix(t *testing.T) {
	e := newOpsEnv(t, authority.Config{TrustedProxies: []string{"127.0.0.0/8"}, Operations: authority.OperationsConfig{
		TrustedNetworks: []string{},
		RateLimits:      authority.RateLimits{Challenge: ratelimit.Limit{PerSecond: 0.001, Burst: 2}},
	}})
	from := func(addr string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+protocol.PathChallenge, nil)
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		addr string
		want int
	}{
		{"2001:db8:1:2::1", 200},
		{"2001:db8:1:2::ffff", 200},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", 429}, // same /64: its burst of 2 is spent
		{"2001:db8:1:3::1", 200},                  // the next /64
		{"192.0.2.1", 200},
		{"192.0.2.1", 200},
		{"192.0.2.1", 429},
		{"192.0.2.2", 200}, // IPv4: each address on its own
		{"::ffff:192.0.2.2", 200},
		{"::ffff:192.0.2.2", 429}, // an IPv4-mapped address is that IPv4 address
	} {
		if got := from(tc.addr); got != tc.want {
			t.Errorf("from %s: %d, want %d", tc.addr, got, tc.want)
		}
	}
}

// A limit that cannot mean what it says is refused with a reason naming
// it, instead of giving burst 1 or blocking for an hour.
func TestRateLimitConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    ratelimit.Limit
		want string
	}{
		{"rate without burst", ratelimit.Limit{PerSecond: 50}, "rate_limits.checkin: burst is missing or 0"},
		{"burst without rate", ratelimit.Limit{Burst: 10}, "rate_limits.checkin: per_second is 0"},
		{"negative", ratelimit.Limit{PerSecond: -1, Burst: 3}, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := authority.Config{Issuer: "https://health.example", Operations: authority.OperationsConfig{RateLimits: authority.RateLimits{Checkin: tc.l}}}
			if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check() = %v, want an error with %q", err, tc.want)
			}
		})
	}
	ok := authority.Config{Issuer: "https://health.example", Operations: authority.OperationsConfig{RateLimits: authority.RateLimits{Checkin: ratelimit.Limit{PerSecond: 50, Burst: 100}}}}
	if err := ok.Check(); err != nil {
		t.Errorf("a full limit: %v", err)
	}
	off := authority.Config{Issuer: "https://health.example", Operations: authority.OperationsConfig{RateLimits: authority.RateLimits{Off: true, Checkin: ratelimit.Limit{PerSecond: 50}}}}
	if err := off.Check(); err != nil {
		t.Errorf("limits off: %v", err)
	}
}

func TestLoopbackTrusted(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  authority.Config
		want bool
	}{
		{"defaults", authority.Config{}, true},
		{"loopback listed", authority.Config{Operations: authority.OperationsConfig{TrustedNetworks: []string{"10.0.0.0/8", "127.0.0.1/32"}}}, true},
		{"IPv6 loopback listed", authority.Config{Operations: authority.OperationsConfig{TrustedNetworks: []string{"::1/128"}}}, true},
		{"proxies set", authority.Config{TrustedProxies: []string{"127.0.0.1/32"}}, false},
		{"no loopback", authority.Config{Operations: authority.OperationsConfig{TrustedNetworks: []string{"10.0.0.0/8"}}}, false},
		{"nobody exempt", authority.Config{Operations: authority.OperationsConfig{TrustedNetworks: []string{}}}, false},
	} {
		if got := tc.cfg.LoopbackTrusted(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
