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
	"github.com/herd-health/herd/internal/population"
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
	// MinCount is K for what the TAXII API and the public /population
	// page publish: no count under it is shown (default 10, at least 2).
	// Epsilon > 0 (at least 0.01) adds Laplace noise to what they share.
	// Both apply to days not yet released: a day keeps the K and epsilon
	// of its first release.
	MinCount int64   `json:"min_count"`
	Epsilon  float64 `json:"epsilon"`
	// Cohorts are the operator's named at-risk cohorts, counted on the
	// console's cohorts page: [{"name", "expr"}], expr a cohort
	// expression over failing checks ("firewall && os_support"). Each is
	// checked at start.
	Cohorts []cohortConfig `json:"cohorts"`
	// AllowInsecureWebhooks lets relying parties register plain-http
	// webhook URLs to any host (default: https, or http to loopback
	// only). Link-local, unspecified and multicast are refused anyway.
	AllowInsecureWebhooks bool `json:"allow_insecure_webhooks"`

	// Operations: rate_limits, trusted_networks, enrollment_mode,
	// metrics_from_loopback, retention.
	authority.OperationsConfig
	// Webhooks: max_attempts, initial_backoff, max_backoff, timeout,
	// poll_interval.
	Webhooks webhook.Config `json:"webhooks"`
	// Feeds are threat-intelligence feeds refreshed on a schedule:
	// [{"name", "url", "interval"}]; IndicatorExpiryDays expires
	// indicators no feed has listed for more than that many days
	// (default 30; -1: never; 0 is refused, as it would expire every
	// indicator at once).
	Feeds               []node.Feed `json:"feeds"`
	IndicatorExpiryDays *int        `json:"indicator_expiry_days"`
}

// expiryDays is indicator_expiry_days as node.Config takes it: 0 for the
// default.
func (f serveFile) expiryDays() int {
	if f.IndicatorExpiryDays == nil {
		return 0
	}
	return *f.IndicatorExpiryDays
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
	if err := checkCohorts(f.Cohorts); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	if f.MinCount != 0 && f.MinCount < 2 {
		return f, fmt.Errorf("%s: min_count must be at least 2", path)
	}
	if d := f.IndicatorExpiryDays; d != nil && *d == 0 {
		return f, fmt.Errorf("%s: indicator_expiry_days must be at least 1 (default 30), or -1 to keep indicators until their feeds take them back", path)
	}
	for i, fd := range f.Feeds {
		if fd.Name == "" || fd.URL == "" {
			return f, fmt.Errorf("%s: feeds[%d]: a feed needs a name and a url", path, i)
		}
	}
	if err := population.CheckEpsilon(f.Epsilon); err != nil {
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
			return f, fmt.Errorf("%s: %s: invalid value %q (%v)", path, strings.ReplaceAll(name, "-", "_"), v, err)
		}
	}
	return f, nil
}

// cohortConfig is one named cohort of the config file.
type cohortConfig struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// checkCohorts refuses a cohort without a name, a name given twice and an
// expression that does not compile.
func checkCohorts(cs []cohortConfig) error {
	seen := map[string]bool{}
	for i, c := range cs {
		name := strings.TrimSpace(c.Name)
		if name == "" {
			return fmt.Errorf("cohorts[%d]: a cohort needs a name", i)
		}
		if seen[name] {
			return fmt.Errorf("cohorts: %q is named twice", name)
		}
		seen[name] = true
		if _, err := population.CohortMasks(c.Expr); err != nil {
			return fmt.Errorf("cohorts: %q: %w", name, err)
		}
	}
	return nil
}

// cohortMap is the cohorts as the console takes them (nil when none).
func cohortMap(cs []cohortConfig) map[string]string {
	if len(cs) == 0 {
		return nil
	}
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		m[strings.TrimSpace(c.Name)] = strings.TrimSpace(c.Expr)
	}
	return m
}
