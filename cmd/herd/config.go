package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/webhook"
)

// serveFile is the configuration file of `herd serve --config FILE`: JSON
// with the keys below. Keys named like a flag (with _ for -) set that
// flag unless it is given on the command line: flags override the file.
// The README's serve section documents every field.
type serveFile struct {
	Addr         string `json:"addr"`
	PublicURL    string `json:"public_url"`
	DB           string `json:"db"`
	DataDir      string `json:"data_dir"`
	Policy       string `json:"policy"`
	TLSCert      string `json:"tls_cert"`
	TLSKey       string `json:"tls_key"`
	KEKFile      string `json:"kek_file"`
	CertLifetime string `json:"cert_lifetime"`
	InsecureHTTP *bool  `json:"insecure_http"`
	LogFormat    string `json:"log_format"`
	// GeoIPDatabase is a MaxMind-format country database (the --geoip
	// flag): check-ins are counted by the country of their client
	// address; without one the country is "unknown".
	GeoIPDatabase string `json:"geoip_database"`
	// TrustedProxies are CIDRs of reverse proxies whose X-Forwarded-For
	// is believed (its rightmost untrusted address is the client).
	TrustedProxies []string `json:"trusted_proxies"`
	// MinCount is K for what the TAXII API shares: no count under it is
	// published (default 10). Epsilon > 0 adds Laplace noise.
	MinCount int64   `json:"min_count"`
	Epsilon  float64 `json:"epsilon"`

	// Operations: rate_limits, trusted_networks, enrollment_mode,
	// metrics_from_loopback, retention.
	authority.OperationsConfig
	// Webhooks: max_attempts, initial_backoff, max_backoff, timeout,
	// poll_interval.
	Webhooks webhook.Config `json:"webhooks"`
	// Feeds are threat-intelligence feeds refreshed on a schedule:
	// [{"name", "url", "interval"}]; IndicatorExpiryDays expires
	// indicators no feed has listed for that many days (0: never).
	Feeds               []node.Feed `json:"feeds"`
	IndicatorExpiryDays int         `json:"indicator_expiry_days"`
}

// loadServeFile reads path and sets every flag the file names that the
// command line did not.
func loadServeFile(fs *flag.FlagSet, path string) (serveFile, error) {
	var f serveFile
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	vals := map[string]string{
		"addr": f.Addr, "public-url": f.PublicURL, "db": f.DB, "data-dir": f.DataDir, "policy": f.Policy,
		"tls-cert": f.TLSCert, "tls-key": f.TLSKey, "kek-file": f.KEKFile, "cert-lifetime": f.CertLifetime, "log-format": f.LogFormat,
		"geoip": f.GeoIPDatabase,
	}
	if f.InsecureHTTP != nil {
		vals["insecure-http"] = strconv.FormatBool(*f.InsecureHTTP)
	}
	for name, v := range vals {
		if v == "" || set[name] || fs.Lookup(name) == nil {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return f, fmt.Errorf("%s: %s: %w", path, strings.ReplaceAll(name, "-", "_"), err)
		}
	}
	return f, nil
}
