package geoip_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/herd-health/herd/internal/geoip"
	"github.com/herd-health/herd/internal/geoip/geoiptest"
)

func TestCountry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(path, geoiptest.Build(t, geoiptest.Documentation), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct{ name, addr, want string }{
		{"ipv4 NL", "192.0.2.7", "NL"},
		{"ipv4 BR", "198.51.100.200", "BR"},
		{"ipv6 JP", "2001:db8:1::5", "JP"},
		{"ipv4-mapped ipv6", "::ffff:192.0.2.9", "NL"},
		{"not in the database", "203.0.113.1", ""},
		{"loopback", "127.0.0.1", ""},
		{"invalid", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := netip.ParseAddr(tc.addr)
			if got := r.Country(a); got != tc.want {
				t.Errorf("Country(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
	var none *geoip.Resolver
	if got := none.Country(netip.MustParseAddr("192.0.2.7")); got != "" {
		t.Errorf("nil resolver = %q, want \"\"", got)
	}
	if _, err := geoip.Open(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}
