package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/policy"
)

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// isLoopback reports whether a listen address is on the loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serveGCPercent is the garbage collector's target for herd serve when
// GOGC does not set one: a check-in allocates some 30 KB, and at Go's
// default of 100 the collector runs often over a heap that stays small
// beside SQLite's page cache; at 400 the process holds about 15 MB more
// and a busy authority answers some 8% more check-ins per second on the
// same two cores.
const serveGCPercent = 400

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
	fs := flag.NewFlagSet("herd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	publicURL := fs.String("public-url", "", "the authority's public URL, its certificates' issuer (default http://ADDR)")
	db := fs.String("db", "", "store: sqlite:PATH or postgres://… (default SQLite in the data directory)")
	dataDir := fs.String("data-dir", "", "data directory (default "+node.DefaultDataDir()+")")
	policyFile := fs.String("policy", "", "policy file (default: herd's built-in policy)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM)")
	tlsKey := fs.String("tls-key", "", "TLS private key file (PEM)")
	kekFile := fs.String("kek-file", "", "file holding the key-encryption key of the signing keys (default DATA-DIR/kek, made on first start; HERD_KEK overrides)")
	lifetime := fs.Duration("cert-lifetime", 4*time.Hour, "health certificate lifetime")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on a non-loopback address (never in production)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	geoipDB := fs.String("geoip", "", "MaxMind-format GeoIP country database (check-ins are counted by country)")
	configFile := fs.String("config", "", "JSON configuration file; flags given on the command line override it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "herd serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var file serveFile
	if *configFile != "" {
		var err error
		if file, err = loadServeFile(fs, *configFile); err != nil {
			fmt.Fprintf(stderr, "herd serve: config: %v\n", err)
			return 2
		}
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		fmt.Fprintf(stderr, "herd serve: --addr %q is not a valid address: give HOST:PORT, e.g. 127.0.0.1:8080 (%v)\n", *addr, err)
		return 2
	}
	if *lifetime <= 0 {
		fmt.Fprintf(stderr, "herd serve: --cert-lifetime %s is out of range: give a positive duration such as 4h\n", *lifetime)
		return 2
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(stderr, "herd serve: --tls-cert and --tls-key go together")
		return 2
	}
	if *tlsCert == "" && !isLoopback(*addr) && !*insecure {
		fmt.Fprintf(stderr, "herd serve: %s is not a loopback address; give --tls-cert and --tls-key (plain HTTP is for loopback and tests)\n", *addr)
		return 2
	}
	// Everything the configuration says is checked before the store, the
	// key-encryption key or the listener is touched.
	if *logFormat != "text" && *logFormat != "json" {
		fmt.Fprintf(stderr, "herd serve: log format %q must be text or json\n", *logFormat)
		return 2
	}
	if *tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey); err != nil {
			fmt.Fprintf(stderr, "herd serve: TLS certificate and key (%s, %s): %v\n", *tlsCert, *tlsKey, err)
			return 2
		}
	}
	if _, _, err := keyring.LoadKEK(kekPath(*kekFile, *dataDir), false); err != nil {
		fmt.Fprintf(stderr, "herd serve: %v\n", err)
		return 2
	}
	if *policyFile != "" {
		if _, err := policy.Load(*policyFile); err != nil {
			fmt.Fprintf(stderr, "herd serve: policy: %v\n", err)
			return 2
		}
	}
	acfg := authority.Config{Issuer: *publicURL, CertificateLifetime: *lifetime, EnrollmentToken: os.Getenv("HERD_ENROLLMENT_TOKEN"), Build: "herd " + version,
		Operations: file.OperationsConfig, TrustedProxies: file.TrustedProxies, AllowInsecureWebhooks: file.AllowInsecureWebhooks}
	check := acfg
	if check.Issuer == "" {
		check.Issuer = "http://" + *addr // the listener's address, known once it listens
	}
	if err := check.Check(); err != nil {
		fmt.Fprintf(stderr, "herd serve: config: %v\n", err)
		return 2
	}
	log := newLogger(stderr, *logFormat)
	if !isLoopback(*addr) && acfg.LoopbackTrusted() {
		log.Warn("rate limits exempt loopback (trusted_networks) and no trusted_proxies are set: a reverse proxy on this host would exempt every client it forwards; list the proxy in trusted_proxies, or leave loopback out of trusted_networks",
			"addr", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "herd serve: %v\n", err)
		return 1
	}
	issuer := acfg.Issuer
	if issuer == "" {
		scheme := "http"
		if *tlsCert != "" {
			scheme = "https"
		}
		issuer = scheme + "://" + ln.Addr().String()
	}
	acfg.Issuer = issuer
	n, err := node.Open(ctx, node.Config{
		DSN:        *db,
		DataDir:    *dataDir,
		PolicyFile: *policyFile,
		Logger:     log,
		KEKFile:    kekPath(*kekFile, *dataDir),
		Authority:  acfg,
		Webhooks:   file.Webhooks,
		Feeds:      file.Feeds, IndicatorExpiryDays: file.expiryDays(),
		GeoIPDatabase: *geoipDB,
		MinCount:      file.MinCount,
		Epsilon:       file.Epsilon,
		Console:       console.Config{Cohorts: cohortMap(file.Cohorts)},
	})
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "herd serve: %v\n", err)
		return 1
	}
	defer n.Close()
	log.Info("health authority listening", "addr", ln.Addr().String(), "issuer", issuer, "policy", n.Policy.ID())
	if err := n.Serve(ctx, ln, *tlsCert, *tlsKey); err != nil {
		fmt.Fprintf(stderr, "herd serve: %v\n", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// kekPath is the key-encryption key file: the flag, or kek in the data
// directory.
func kekPath(flagValue, dataDir string) string {
	if flagValue != "" {
		return flagValue
	}
	if dataDir == "" {
		dataDir = node.DefaultDataDir()
	}
	return filepath.Join(dataDir, "kek")
}
