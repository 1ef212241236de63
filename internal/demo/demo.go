package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/verify"
)

// Options configure a demo. Zero values mean the defaults.
type Options struct {
	// Dir holds the demo's database and agent state; empty means a new
	// temporary directory, removed by Close.
	Dir string
	// AuthorityAddr, ShopAddr and AgentAddr are where the three parts
	// listen (default 127.0.0.1 with a free port each).
	AuthorityAddr, ShopAddr, AgentAddr string
	// Lang is the language of the checks' reasons.
	Lang i18n.Lang
	// Source is the system the agent checks; nil means this machine.
	Source source.Source
	// Checks run on the device; required.
	Checks []checks.Check
	// Env is passed to the checks.
	Env checks.Env
	// Version names this build.
	Version string
	Logger  *slog.Logger
}

// Result is what one round of the demo produced, in the shape of `herd
// demo --once --json`.
type Result struct {
	Verdict     health.Tier      `json:"verdict"`
	Decision    verify.Decision  `json:"decision"`
	Audience    string           `json:"audience"`
	Certificate string           `json:"certificate"`
	JWKS        healthcert.JWKS  `json:"jwks"`
	Checks      []health.Result  `json:"checks"`
	Findings    []health.Finding `json:"findings"`
	PolicyID    string           `json:"policy_id"`
	URLs        URLs             `json:"urls"`
}

// URLs are where the demo's parts answer.
type URLs struct {
	Authority string `json:"authority"`
	Shop      string `json:"shop"`
	Agent     string `json:"agent"`
}

// Demo is a running demo.
type Demo struct {
	Result Result

	opts    Options
	node    *node.Node
	agent   *agent.Agent
	servers []*http.Server
	tempDir string
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}

// Start starts the authority, the shop and the agent, enrolls the agent,
// runs the checks, checks in, and asks the shop what it decides about
// this device.
func Start(ctx context.Context, o Options) (d *Demo, err error) {
	if len(o.Checks) == 0 {
		return nil, errors.New("demo: no checks to run")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Source == nil {
		o.Source = source.NewLive()
	}
	d = &Demo{opts: o}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if o.Dir == "" {
		if d.tempDir, err = os.MkdirTemp("", "herd-demo-"); err != nil {
			return nil, err
		}
		o.Dir = d.tempDir
	}

	authLn, err := listen(o.AuthorityAddr)
	if err != nil {
		return d, fmt.Errorf("demo: authority listener: %w", err)
	}
	shopLn, err := listen(o.ShopAddr)
	if err != nil {
		authLn.Close()
		return d, fmt.Errorf("demo: shop listener: %w", err)
	}
	agentLn, err := listen(o.AgentAddr)
	if err != nil {
		authLn.Close()
		shopLn.Close()
		return d, fmt.Errorf("demo: agent listener: %w", err)
	}
	urls := URLs{
		Authority: "http://" + authLn.Addr().String(),
		Shop:      "http://" + shopLn.Addr().String(),
		Agent:     "http://" + agentLn.Addr().String(),
	}

	// The authority.
	d.node, err = node.Open(ctx, node.Config{
		DSN:       "sqlite:" + filepath.Join(o.Dir, "herd.db"),
		Authority: authority.Config{Issuer: urls.Authority, Build: "herd " + o.Version},
		Logger:    o.Logger.With("part", "authority"),
	})
	if err != nil {
		return d, fmt.Errorf("demo: authority: %w", err)
	}
	d.serve(authLn, d.node.Handler())

	// The shop, a relying party that knows the authority only by its JWKS URL.
	v, err := verify.New(verify.Options{Issuer: urls.Authority, Audience: urls.Shop, JWKSURL: urls.Authority + "/v1/jwks.json"})
	if err != nil {
		return d, fmt.Errorf("demo: verifier: %w", err)
	}
	shop := &Shop{Audience: urls.Shop, AgentEndpoint: urls.Agent, Verifier: v, Rules: DefaultRules(), DeviceOS: o.Source.OS(), LearnBase: urls.Authority}
	d.serve(shopLn, shop.Handler())

	// The agent, enrolled, trusting the shop's origin.
	d.agent = &agent.Agent{
		Store:   agent.Store{Dir: filepath.Join(o.Dir, "agent")},
		Checks:  o.Checks,
		Source:  o.Source,
		Env:     o.Env,
		Log:     o.Logger.With("part", "agent"),
		Version: o.Version,
	}
	st, err := d.agent.Enroll(ctx, urls.Authority, "")
	if err != nil {
		return d, fmt.Errorf("demo: %w", err)
	}
	st.Trust(urls.Shop, urls.Shop)
	if err := d.agent.Store.SaveState(st); err != nil {
		return d, err
	}
	d.serve(agentLn, &agent.Endpoint{Agent: d.agent})

	last, err := d.agent.CheckIn(ctx)
	if err != nil {
		return d, fmt.Errorf("demo: %w", err)
	}
	d.Result, err = d.appraise(ctx, last, urls)
	return d, err
}

// appraise asks the shop, over HTTP with the certificate in the
// Device-Health header, what it decides.
func (d *Demo) appraise(ctx context.Context, last *agent.Last, urls URLs) (Result, error) {
	r := Result{
		Verdict:  last.Response.Verdict,
		Audience: urls.Shop,
		JWKS:     d.node.Keys.JWKS(),
		Checks:   checks.Render(last.Outcomes, d.opts.Lang),
		Findings: last.Response.Findings,
		PolicyID: last.Response.PolicyID,
		URLs:     urls,
	}
	cert, err := d.agent.Certificate(urls.Shop)
	if err != nil {
		return r, fmt.Errorf("demo: %w", err)
	}
	r.Certificate = cert.Token
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urls.Shop+"/api/decision", nil)
	req.Header.Set(healthcert.HTTPHeader, cert.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, fmt.Errorf("demo: asking the shop: %w", err)
	}
	defer resp.Body.Close()
	var dec Decision
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&dec); err != nil {
		return r, fmt.Errorf("demo: the shop's answer (%s): %w", resp.Status, err)
	}
	if dec.Tier != r.Verdict {
		return r, fmt.Errorf("demo: the shop read verdict %q from a certificate saying %q (%s)", dec.Tier, r.Verdict, dec.Reason)
	}
	r.Decision = dec.Decision
	return r, nil
}

func (d *Demo) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	d.servers = append(d.servers, srv)
	go srv.Serve(ln)
}

// Run keeps the agent checking in until ctx ends, as `herd demo` does
// without --once. onCheckin is called after every successful check-in.
func (d *Demo) Run(ctx context.Context, interval time.Duration, onCheckin func(Result)) error {
	for {
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		last, err := d.agent.CheckIn(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.opts.Logger.Warn("check-in failed", "err", err)
			continue
		}
		if r, err := d.appraise(ctx, last, d.Result.URLs); err == nil {
			d.Result = r
			if onCheckin != nil {
				onCheckin(r)
			}
		}
	}
}

// Close stops every part and removes a temporary directory.
func (d *Demo) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range d.servers {
		s.Shutdown(ctx)
	}
	if d.node != nil {
		d.node.Close()
	}
	if d.tempDir != "" {
		os.RemoveAll(d.tempDir)
	}
	return nil
}
