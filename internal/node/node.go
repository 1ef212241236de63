// Package node assembles one health-authority node from its configuration:
// the store named by a DSN, the signing keys, the policy and the HTTP API.
// `herd serve`, `herd demo` and end-to-end tests all start nodes this way.
package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/geoip"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
	"github.com/herd-health/herd/internal/webhook"
)

// Config configures a node. Zero values mean the documented defaults.
type Config struct {
	// DSN names the store: "sqlite:PATH", a bare file path, or
	// "postgres://…". Empty means SQLite in DataDir.
	DSN string
	// DataDir holds the SQLite database by default (default: DefaultDataDir()).
	DataDir string
	// Authority is the authority's configuration; Issuer is required.
	Authority authority.Config
	// PolicyFile is a policy JSON file; empty means herd's default policy.
	PolicyFile string
	// Console configures the operators' console and the public pages
	// (its Issuer defaults to the authority's).
	Console console.Config
	Logger  *slog.Logger
	// Now gives the time; nil means time.Now.
	Now func() time.Time
	// Webhooks tunes webhook delivery (retries, backoff, timeout).
	Webhooks webhook.Config
	// KEK is the key-encryption key sealing the signing keys in the
	// store (32 bytes). When nil, HERD_KEK or the file KEKFile is used;
	// with neither, keys are stored in clear.
	KEK []byte
	// KEKFile holds the key-encryption key (base64). When it does not
	// exist and HERD_KEK is unset, a new key is written there (mode 0600)
	// on first start: convenient, but whoever can read both the data
	// directory and the database can then use the signing keys.
	KEKFile string
	// GeoIPDatabase is a MaxMind-format country (or city) database; each
	// check-in's country is resolved from its client address. Empty: the
	// country is unknown ("").
	GeoIPDatabase string
	// MinCount (K, default 10) and Epsilon (0: no noise) are the
	// disclosure control of what the TAXII API and the public population
	// page share (for days not released before).
	MinCount int64
	Epsilon  float64
	// DetectionInterval is how often outbreak detection runs (default
	// 1 hour); of several nodes over one store, one runs each slot.
	DetectionInterval time.Duration
	// Feeds are refreshed on a schedule; IndicatorExpiryDays (0: the
	// default, DefaultIndicatorExpiryDays; negative: never) expires
	// indicators no feed has listed for more than that many days, and
	// every node expires those whose valid_until has passed. FeedTick is
	// how often due feeds are looked for (default a minute), FeedClient
	// downloads them, FeedMaxBytes bounds one download. A failed refresh
	// is tried again after FeedRetry (default a minute), doubling up to
	// FeedRetryMax (default an hour) and never later than the feed's
	// interval.
	Feeds               []Feed
	IndicatorExpiryDays int
	FeedTick            time.Duration
	FeedClient          *http.Client
	FeedMaxBytes        int64
	FeedRetry           time.Duration
	FeedRetryMax        time.Duration
	// WriteTimeout bounds writing one answer (default 30 seconds); the
	// indicator bundle download sets its own, longer deadline from its
	// size.
	WriteTimeout time.Duration
}

// DefaultDataDir is where `herd serve` keeps its database by default.
func DefaultDataDir() string {
	if d := os.Getenv("HERD_DATA_DIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/herd"
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "herd")
	}
	return ".herd"
}

// StoreDSN returns the store DSN the configuration names. It creates
// nothing: Open makes the data directory, other commands open an
// existing store only.
func (c Config) StoreDSN() (string, error) {
	if c.DSN != "" {
		return c.DSN, nil
	}
	dir := c.DataDir
	if dir == "" {
		dir = DefaultDataDir()
	}
	return "sqlite:" + filepath.Join(dir, "herd.db"), nil
}

// Node is a running authority node (without its listener).
type Node struct {
	Store store.Store
	Keys  *keyring.Keyring
	// Policy is the policy the node appraised with when it opened; the
	// one in use now is Authority.Policy().
	Policy    *policy.Policy
	Authority *authority.Authority
	// Console serves /console, /learn and /population (nil when the store
	// keeps no console accounts).
	Console *console.Console
	// Population answers /v1/population/ and runs outbreak detection;
	// nil when the store keeps no population aggregates.
	Population *population.Service
	geo        *geoip.Resolver
	cfg        Config
	sealer     keyring.Sealer
	feeds      feeds
}

// Handler serves the authority's API and, beside it, the console.
func (n *Node) Handler() http.Handler {
	if n.Console == nil {
		return n.Authority
	}
	m := http.NewServeMux()
	m.Handle("/", n.Authority)
	ch := n.Console.Handler()
	// The console sees the client the API sees: behind a trusted proxy,
	// the address X-Forwarded-For names (its login limit and audit
	// records are per client, not per proxy).
	fwd := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ch.ServeHTTP(w, n.Authority.Forwarded(r)) })
	for _, p := range console.Routes {
		m.Handle(p, fwd)
	}
	return m
}

// Open builds a node.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	dsn, err := cfg.StoreDSN()
	if err != nil {
		return nil, err
	}
	if cfg.DSN == "" {
		dir := filepath.Dir(strings.TrimPrefix(dsn, "sqlite:"))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory %s: %w", dir, err)
		}
	}
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	n, err := open(ctx, cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return n, nil
}

func open(ctx context.Context, cfg Config, st store.Store) (*Node, error) {
	pol := policy.Default()
	if cfg.PolicyFile != "" {
		p, err := policy.Load(cfg.PolicyFile)
		if err != nil {
			return nil, err
		}
		pol = p
	}
	lifetime := cfg.Authority.CertificateLifetime
	if lifetime == 0 {
		lifetime = 4 * time.Hour
	}
	kek := cfg.KEK
	if kek == nil {
		var created bool
		var err error
		if kek, err = loadOrMakeKEK(ctx, cfg.KEKFile, st, &created); err != nil {
			return nil, err
		}
		if created && cfg.Logger != nil {
			cfg.Logger.Warn("made a new key-encryption key for the signing keys; keep it apart from the database in production (HERD_KEK or --kek-file)", "path", cfg.KEKFile)
		}
	}
	keys, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: lifetime, Now: cfg.Now, KEK: kek})
	if err != nil {
		return nil, err
	}
	sealer := keyring.Sealer{KEK: kek}
	// Secrets stored in clear before the store had a KEK are sealed now.
	if n, err := sealer.SealStoredSecrets(ctx, st); err != nil {
		return nil, fmt.Errorf("sealing the stored secrets: %w", err)
	} else if n > 0 && cfg.Logger != nil {
		cfg.Logger.Info("sealed secrets kept in clear with the key-encryption key", "count", n)
	}
	deps := authority.Deps{Store: st, Keys: keys, Policy: pol, Logger: cfg.Logger, Now: cfg.Now, Sealer: sealer}
	if ps, ok := st.(store.Policies); ok {
		deps.Policies = ps
		if cfg.PolicyFile != "" {
			// The file given at start becomes the active policy of every
			// node, as a new version when it differs from the active one.
			now := time.Now
			if cfg.Now != nil {
				now = cfg.Now
			}
			act, changed, err := authority.ActivatePolicy(ctx, ps, pol, "serve --policy", now())
			if errors.Is(err, store.ErrConflict) {
				return nil, fmt.Errorf("policy %s: %w; give the changed policy a higher version", cfg.PolicyFile, err)
			}
			if err != nil {
				return nil, fmt.Errorf("policy %s: %w", cfg.PolicyFile, err)
			}
			if changed && cfg.Logger != nil {
				cfg.Logger.Info("policy activated from the start file", "policy", pol.ID(), "seq", act.Seq)
			}
		}
	}
	if sl, ok := st.(store.StatusLists); ok {
		deps.Status = sl
	}
	if ops, ok := st.(store.Operations); ok {
		deps.Operations = ops
	}
	geo, err := populationDeps(ctx, cfg, st, &deps)
	if err != nil {
		return nil, err
	}
	if cfg.Authority.IntelCacheTTL == 0 {
		cfg.Authority.IntelCacheTTL = 2 * time.Second // read intel state every 2 s, not per check-in
	}
	a, err := authority.New(ctx, cfg.Authority, deps)
	if err != nil {
		geo.Close()
		return nil, err
	}
	if is, ok := st.(authority.IntelStore); ok {
		a.SetIntel(is)
	}
	n := &Node{Store: st, Keys: keys, Policy: a.Policy(), Authority: a, Population: deps.Population, geo: geo, cfg: cfg, sealer: sealer}
	if err := n.openConsole(cfg, st); err != nil {
		geo.Close()
		return nil, err
	}
	return n, nil
}

// loadOrMakeKEK finds the key-encryption key (HERD_KEK or path). Only a
// store that holds no sealed signing key gets a new one written to path:
// a store whose keys are sealed under a KEK that cannot be found fails
// with an error naming where it was looked for, and nothing is written.
func loadOrMakeKEK(ctx context.Context, path string, st store.Keys, created *bool) ([]byte, error) {
	kek, _, err := keyring.LoadKEK(path, false)
	if err != nil || kek != nil || path == "" {
		return kek, err
	}
	sealed, err := keyring.HasSealedKeys(ctx, st)
	if err != nil {
		return nil, err
	}
	if sealed {
		return nil, fmt.Errorf("the store's signing keys are sealed with a key-encryption key, but there is none at %s and %s is unset: restore that file or set %s (a new key would not open them)", path, keyring.KEKEnv, keyring.KEKEnv)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	kek, *created, err = keyring.LoadKEK(path, true)
	return kek, err
}

// Close closes the store and the GeoIP database.
func (n *Node) Close() error { return errors.Join(n.geo.Close(), n.Store.Close()) }

// Serve serves the node's API on ln until ctx ends, then shuts down
// gracefully, letting requests in flight finish.
func (n *Node) Serve(ctx context.Context, ln net.Listener, tlsCert, tlsKey string) error {
	srv := &http.Server{
		Handler:           n.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cmp.Or(n.cfg.WriteTimeout, 30*time.Second),
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	bctx, stopBackground := context.WithCancel(ctx)
	waitBackground := n.runBackground(bctx)
	defer func() { stopBackground(); waitBackground() }()
	errc := make(chan error, 1)
	go func() {
		if tlsCert != "" {
			errc <- srv.ServeTLS(ln, tlsCert, tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-errc; err == nil && !errors.Is(e, http.ErrServerClosed) {
		err = e
	}
	return err
}

// openConsole builds the console when the store keeps what it needs.
func (n *Node) openConsole(cfg Config, st store.Store) error {
	cs, ok := st.(console.Store)
	ps, ok2 := st.(population.Store)
	if !ok || !ok2 {
		return nil
	}
	cc := cfg.Console
	if cc.Issuer == "" {
		cc.Issuer = cfg.Authority.Issuer
	}
	cc.SecureCookies = cc.SecureCookies || strings.HasPrefix(cc.Issuer, "https://")
	if cc.Logger == nil {
		cc.Logger = cfg.Logger
	}
	if cc.Now == nil {
		cc.Now = cfg.Now
	}
	if cc.MinCount == 0 {
		cc.MinCount = cfg.MinCount
	}
	if cc.Epsilon == 0 {
		cc.Epsilon = cfg.Epsilon
	}
	d := console.Deps{Store: cs, Population: &population.Service{Store: ps, Now: cfg.Now, Logger: cfg.Logger}}
	if f := n.consoleFeeds(); f != nil {
		d.Feeds = f
	}
	c, err := console.New(cc, d)
	if err != nil {
		return err
	}
	n.Console = c
	return nil
}
