// Package geoiptest builds small MaxMind-format country databases for
// tests.
package geoiptest

import (
	"bytes"
	"net"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Documentation maps the documentation ranges (RFC 5737, RFC 3849) to
// countries: 192.0.2.0/24 NL, 198.51.100.0/24 BR, 2001:db8::/32 JP.
var Documentation = map[string]string{
	"192.0.2.0/24":    "NL",
	"198.51.100.0/24": "BR",
	"2001:db8::/32":   "JP",
}

// Build returns a GeoIP2-Country-shaped database mapping each CIDR to its
// country code.
func Build(t testing.TB, networks map[string]string) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-Country", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, cc := range networks {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(cc)}}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	var b bytes.Buffer
	if _, err := tree.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
