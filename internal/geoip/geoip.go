// Package geoip resolves a client address to the ISO 3166-1 country code
// an operator's MaxMind-format database (GeoLite2-Country, GeoIP2-City,
// DB-IP's country lite, …) gives it. Only the two-letter code is read;
// nothing else about the address is kept.
package geoip

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Resolver looks countries up in one database. A nil *Resolver resolves
// every address to "" (unknown).
type Resolver struct {
	db *maxminddb.Reader
}

// Open opens the database at path.
func Open(path string) (*Resolver, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	return &Resolver{db: db}, nil
}

// OpenBytes reads a database held in memory.
func OpenBytes(b []byte) (*Resolver, error) {
	db, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	return &Resolver{db: db}, nil
}

// record is the part of a country or city record read: the country the
// address is in, else the country it is registered to.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Registered struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
}

// Country returns the upper-case ISO 3166-1 alpha-2 code of addr, or ""
// when the database has none (or on any lookup error).
func (r *Resolver) Country(addr netip.Addr) string {
	if r == nil || r.db == nil || !addr.IsValid() {
		return ""
	}
	var rec record
	if err := r.db.Lookup(addr.Unmap()).Decode(&rec); err != nil {
		return ""
	}
	code := rec.Country.ISOCode
	if code == "" {
		code = rec.Registered.ISOCode
	}
	code = strings.ToUpper(code)
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return ""
	}
	return code
}

// Close releases the database.
func (r *Resolver) Close() error {
	if r == nil || r.db == nil {
		return nil
	}
	return r.db.Close()
}
