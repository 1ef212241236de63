package authority

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/taxii"
)

// CountryResolver gives the ISO 3166-1 country code of an address, ""
// when unknown (geoip.Resolver is one).
type CountryResolver interface {
	Country(addr netip.Addr) string
}

// populationState is what population statistics add to the authority.
type populationState struct {
	svc     *population.Service // nil: no /v1/population/ API
	geo     CountryResolver     // nil: country ""
	taxii   *taxii.Server       // nil: no /taxii2/
	proxies []netip.Prefix      // trusted reverse proxies
}

func (a *Authority) initPopulation(cfg Config, d Deps) error {
	p := &populationState{svc: d.Population, geo: d.GeoIP}
	for _, s := range cfg.TrustedProxies {
		pf, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("trusted proxy %q is not a CIDR", s)
		}
		p.proxies = append(p.proxies, pf.Masked())
	}
	if d.TAXII != nil {
		p.taxii = &taxii.Server{
			Title:        "herd population health",
			Description:  "Aggregate, privacy-protected population health of the devices " + cfg.Issuer + " certifies.",
			Collections:  []taxii.Collection{d.TAXII.Collection()},
			Authenticate: func(r *http.Request) (string, error) { return a.authenticatePartner(r, d.TAXII.Stats) },
			Logger:       a.log,
		}
	}
	a.pop = p
	return nil
}

func (a *Authority) routesPopulation(m *http.ServeMux) {
	if a.pop.svc != nil {
		h := &population.Handler{Service: a.pop.svc, Authorize: a.authorizePopulation}
		m.Handle("/v1/population/", h)
	}
	if a.pop.taxii != nil {
		m.Handle("/taxii2/", a.pop.taxii)
	}
}

// authorizePopulation checks an admin API token and writes an audit
// record, as the admin API does; on failure it has answered.
func (a *Authority) authorizePopulation(w http.ResponseWriter, r *http.Request) bool {
	ok := false
	a.serve(func(w http.ResponseWriter, r *http.Request) error {
		actor, err := a.authenticate(r)
		if err != nil {
			if errors.As(err, new(*apiError)) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="herd"`)
			}
			return err
		}
		action := "population.read"
		if r.Method == http.MethodPost {
			action = "population.outbreaks.run"
		}
		if err := a.ops.store.AppendAudit(r.Context(), store.AuditEntry{
			At: a.now().UTC(), Actor: actor, Action: action, Target: strings.TrimPrefix(r.URL.Path, "/v1/population/"), SourceIP: clientIP(r),
		}); err != nil {
			return fmt.Errorf("writing the audit log: %w", err)
		}
		ok = true
		return nil
	})(w, r)
	return ok
}

// authenticatePartner finds the sharing partner whose token the request
// carries. TAXII 2.1 (section 1.6.8) makes HTTP Basic the authentication
// every server and client implements, so the token is the Basic password
// (the user name is not checked); a Bearer token is accepted too.
func (a *Authority) authenticatePartner(r *http.Request, ps store.PopulationStats) (string, error) {
	tok := bearer(r)
	if tok == "" {
		_, pw, ok := r.BasicAuth()
		if !ok || pw == "" {
			return "", taxii.ErrUnauthenticated
		}
		tok = pw
	}
	name, err := ps.PartnerByTokenHash(r.Context(), apitoken.Hash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return "", taxii.ErrUnauthenticated
	}
	if err != nil {
		return "", fmt.Errorf("checking a partner token: %w", err)
	}
	return name, nil
}

// forwarded returns r with RemoteAddr set to the client address when the
// peer is a trusted proxy: the rightmost X-Forwarded-For address that is
// not itself a trusted proxy. A request from any other peer keeps its
// own address, whatever X-Forwarded-For it carries.
func (a *Authority) forwarded(r *http.Request) *http.Request {
	if a.pop == nil || len(a.pop.proxies) == 0 {
		return r
	}
	peer, ok := addrOf(r.RemoteAddr)
	if !ok || !a.trustedProxy(peer) {
		return r
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // unparsable: the last trusted hop is the client
		}
		client = ip.Unmap()
		if !a.trustedProxy(client) {
			break
		}
	}
	if client == peer {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.RemoteAddr = netip.AddrPortFrom(client, 0).String()
	return r2
}

// Forwarded is r as the API sees its client: RemoteAddr is the client's
// address when the peer is a trusted proxy (see forwarded). Handlers
// mounted beside the API (the console) use it, so that rate limits and
// audit records name the same client the API would.
func (a *Authority) Forwarded(r *http.Request) *http.Request { return a.forwarded(r) }

func addrOf(remote string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	return ip.Unmap(), err == nil
}

func (a *Authority) trustedProxy(ip netip.Addr) bool {
	for _, p := range a.pop.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// country is the check-in's country, "" without a GeoIP database.
func (a *Authority) country(r *http.Request) string {
	if a.pop == nil || a.pop.geo == nil {
		return ""
	}
	ip, ok := addrOf(clientIP(r))
	if !ok {
		return ""
	}
	return a.pop.geo.Country(ip)
}

// segmentLabels are the labels a check-in is counted under in the
// population aggregates: never text the device chose, only the
// authority's own vocabulary (population.SegmentLabels: an OS family, a
// release the os_support table lists, a version-shaped agent build, the
// GeoIP country), each with an "other".
func (a *Authority) segmentLabels(r *http.Request, st *health.Statement) population.Labels {
	return population.SegmentLabels(st.OS, st.OSVersion, st.AgentVersion, a.country(r))
}

// infectionFamily is the malware family a new infection is counted under,
// from the authority's own threat intelligence only (a device's word is
// never a label): the family of the outside sighting the operator
// imported, when the failing malware result is the one intelBeforePolicy
// put in for a confirmed sighting; otherwise the family the store gives
// the indicator the device reports it matched (its indicator_type and
// indicator facts); "" (counted as unknown) when there is no failing
// malware result, no intel, or the store does not know the indicator.
func (a *Authority) infectionFamily(ctx context.Context, checks []health.Result, ic *intelCheckin) (string, error) {
	var res *health.Result
	for i := range checks {
		if checks[i].ID == health.Malware && checks[i].Status == health.Fail {
			res = &checks[i]
		}
	}
	if res == nil {
		return "", nil
	}
	if ic != nil && ic.sighting != nil {
		return population.FamilyLabel(ic.sighting.Family), nil
	}
	if a.intelS == nil {
		return "", nil
	}
	fs, ok := a.intelS.store.(store.IndicatorFamilies)
	if !ok {
		return "", nil
	}
	typ, _ := res.Evidence.Facts["indicator_type"].(string)
	val, _ := res.Evidence.Facts["indicator"].(string)
	typ, val, port, ok := matchedIndicator(typ, val)
	if !ok {
		return "", nil
	}
	fam, err := fs.IndicatorFamily(ctx, typ, val, port)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the family of a matched indicator: %w", err)
	}
	if fam == "" {
		return "", nil
	}
	return population.FamilyLabel(fam), nil
}

// matchedIndicator turns the indicator a device reports it matched into
// the store's key (type, canonical value, port): an address, an
// address:port or a network for ipv4 and ipv6, a domain, a hash, a process
// name. ok is false when it is none of these.
func matchedIndicator(typ, value string) (string, string, int, bool) {
	value = strings.TrimSpace(value)
	if value == "" || len(value) > 512 {
		return "", "", 0, false
	}
	switch typ {
	case string(intel.IPv4), string(intel.IPv6):
		if ap, err := netip.ParseAddrPort(value); err == nil {
			t, v, err := intel.NormalizeAddr(ap.Addr().String())
			return string(t), v, int(ap.Port()), err == nil && string(t) == typ
		}
		t, v, err := intel.NormalizeAddr(value)
		return string(t), v, 0, err == nil && string(t) == typ
	case string(intel.Domain), string(intel.SHA256), string(intel.SHA1), string(intel.MD5):
		t, v, err := intel.Normalize(intel.Type(typ), value)
		return string(t), v, 0, err == nil
	case "process":
		return typ, strings.ToLower(value), 0, true
	}
	return "", "", 0, false
}
