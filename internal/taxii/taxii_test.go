package taxii_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
	"github.com/herd-health/herd/internal/taxii"
)

// client is a TAXII 2.1 client written from the specification: it sends
// the TAXII media type and HTTP Basic credentials, checks the answer's
// media type, and follows next until more is false.
type client struct {
	t    *testing.T
	http *http.Client
	base string
}

func (c *client) get(path string, q url.Values) (int, map[string]any, http.Header) {
	c.t.Helper()
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", taxii.MediaTAXII)
	req.SetBasicAuth("cert-nl", "partner-token")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != taxii.MediaTAXII {
		c.t.Fatalf("GET %s: Content-Type %q", u, ct)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		c.t.Fatalf("GET %s: %v: %s", u, err, b)
	}
	return resp.StatusCode, v, resp.Header
}

func (c *client) ok(path string, q url.Values) map[string]any {
	c.t.Helper()
	code, v, _ := c.get(path, q)
	if code != http.StatusOK {
		c.t.Fatalf("GET %s %v: %d %v", path, q, code, v)
	}
	return v
}

// all pages through an objects, manifest or versions endpoint with limit
// per page and returns every item of list ("objects" or "versions").
func (c *client) all(path, list string, q url.Values, limit int) ([]any, int) {
	c.t.Helper()
	var out []any
	pages := 0
	next := ""
	for {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", fmt.Sprint(limit))
		if next != "" {
			qq.Set("next", next)
		}
		env := c.ok(path, qq)
		pages++
		items, _ := env[list].([]any)
		out = append(out, items...)
		if env["more"] != true {
			return out, pages
		}
		next = env["next"].(string)
	}
}

type popDay struct {
	st  *sqlite.Store
	ids []string
}

func (p *popDay) add(t *testing.T, n int, os string, v health.Tier, family string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("device-%s-%s-%d-%d", os, v, at.Day(), i)
		if err := p.st.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: os, EnrolledAt: at}); err != nil {
			t.Fatal(err)
		}
		c := store.Checkin{DeviceID: id, ReceivedAt: at.Add(time.Duration(i) * time.Second), Verdict: v, PolicyID: "p@1", OS: os,
			OSVersion: map[string]string{"linux": "debian 12", "windows": "windows 26100"}[os], Agent: "1.4.2", SourceIP: "192.0.2.7", Family: family}
		if v == health.Contraindicated {
			c.Findings = []health.Finding{{ID: health.Malware, Status: health.Fail}}
		}
		if _, err := p.st.RecordCheckin(ctx, c); err != nil {
			t.Fatal(err)
		}
		p.ids = append(p.ids, id)
	}
}

// Two complete days and today: on 2026-12-02 linux has 3 new Emotet
// infections (under K = 10), on 2026-12-03 windows has 11.
func newPopulation(t *testing.T) (*popDay, *taxii.Population, time.Time) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := &popDay{st: st}
	d1 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	p.add(t, 30, "windows", health.Affirming, "", d1)
	p.add(t, 14, "windows", health.Contraindicated, "Emotet", d1)
	p.add(t, 20, "linux", health.Affirming, "", d1)
	p.add(t, 3, "linux", health.Contraindicated, "Emotet", d1)
	d2 := d1.AddDate(0, 0, 1)
	p.add(t, 25, "windows", health.Affirming, "", d2)
	p.add(t, 11, "windows", health.Contraindicated, "Emotet", d2)
	p.add(t, 40, "linux", health.Affirming, "", d2)
	now := d2.AddDate(0, 0, 1).Add(2 * time.Hour) // 2026-12-04 10:00
	p.add(t, 5, "linux", health.Contraindicated, "Emotet", now.Add(-time.Hour))
	pop := &taxii.Population{Stats: st, Records: st, MinCount: 10, Issuer: "https://authority.example", Days: 7, Now: func() time.Time { return now }}
	return p, pop, now
}

func server(pop *taxii.Population) *taxii.Server {
	return &taxii.Server{Title: "herd", Collections: []taxii.Collection{pop.Collection()},
		Authenticate: func(r *http.Request) (string, error) {
			if _, pw, ok := r.BasicAuth(); ok && pw == "partner-token" {
				return "cert-nl", nil
			}
			return "", taxii.ErrUnauthenticated
		}}
}

func TestPopulationCollectionOverTLS(t *testing.T) {
	p, pop, now := newPopulation(t)
	srv := httptest.NewTLSServer(server(pop))
	t.Cleanup(srv.Close)
	c := &client{t: t, http: srv.Client(), base: srv.URL}
	disc := c.ok("/taxii2/", nil)
	root, _ := url.Parse(disc["api_roots"].([]any)[0].(string))
	if root.Scheme != "https" {
		t.Errorf("api root %s is not https", root)
	}
	cols := c.ok(root.Path+"collections/", nil)["collections"].([]any)
	col := cols[0].(map[string]any)["id"].(string)
	base := root.Path + "collections/" + col + "/"
	objs, pages := c.all(base+"objects/", "objects", nil, 3)
	if pages < 2 {
		t.Errorf("%d objects in %d pages", len(objs), pages)
	}
	man, _ := c.all(base+"manifest/", "objects", nil, 1000)
	if len(man) != len(objs) {
		t.Errorf("manifest lists %d, objects %d", len(man), len(objs))
	}
	body, _ := json.Marshal(objs)
	for _, id := range p.ids {
		if strings.Contains(string(body), id) {
			t.Fatalf("device %s in the collection", id)
		}
	}
	if strings.Contains(string(body), "192.0.2.7") {
		t.Fatal("an address in the collection")
	}
	// The sightings are the release's published new infections, by OS:
	// 2026-12-03 windows 11. 2026-12-02's linux 3 is withheld, and so is
	// windows' 14 beside it (the single agent and country counts give
	// the day's 17, so 17 − 14 would give linux away). Today's 5 are not
	// served: the day is not over.
	sightings := map[string]float64{}
	for _, x := range objs {
		o := x.(map[string]any)
		if o["type"] == "sighting" {
			sightings[o["first_seen"].(string)[:10]+" "+o["description"].(string)[strings.LastIndex(o["description"].(string), "=")+1:]] = o["count"].(float64)
		}
		if o["type"] == "observed-data" && o["first_observed"].(string)[:10] == now.Format(time.DateOnly) {
			t.Errorf("today is served: %v", o)
		}
		if n, ok := o["number_observed"].(float64); ok && n < 10 {
			t.Errorf("a count under K: %v", o)
		}
	}
	if want := map[string]float64{"2026-12-03 windows": 11}; fmt.Sprint(sightings) != fmt.Sprint(want) {
		t.Errorf("sightings %v, want %v", sightings, want)
	}
	// And they are exactly what the day releases publish, which every
	// other channel shows too.
	rel := &population.Releaser{Stats: p.st, Records: p.st, MinCount: 10, Now: func() time.Time { return now }}
	days, err := rel.Days(context.Background(), now.AddDate(0, 0, -2), now.AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, d := range days {
		for _, cnt := range d.Table(store.AggInfection).Counts {
			if cnt.Dimension == store.DimOS && cnt.Value != nil {
				published++
				if sightings[d.Day+" "+cnt.Segment] != float64(*cnt.Value) {
					t.Errorf("release %s %s = %d, sighting %v", d.Day, cnt.Segment, *cnt.Value, sightings[d.Day+" "+cnt.Segment])
				}
			}
		}
	}
	if published != len(sightings) {
		t.Errorf("%d published infection counts, %d sightings", published, len(sightings))
	}
}

// Get Object Versions (section 5.8): the authority's identity is stated
// once a day, so it has a version per day; objects gives the latest
// unless match[version] asks otherwise.
func TestObjectVersions(t *testing.T) {
	_, pop, _ := newPopulation(t)
	srv := httptest.NewTLSServer(server(pop))
	t.Cleanup(srv.Close)
	c := &client{t: t, http: srv.Client(), base: srv.URL}
	base := "/taxii2/" + taxii.APIRoot + "/collections/" + taxii.PopulationCollectionID + "/"
	ident := c.ok(base+"objects/", url.Values{"match[type]": {"identity"}})["objects"].([]any)
	if len(ident) != 1 {
		t.Fatalf("objects gives %d identities, want the latest version only", len(ident))
	}
	id := ident[0].(map[string]any)["id"].(string)
	latest := ident[0].(map[string]any)["modified"].(string)
	want := []any{"2026-12-03T00:00:00.000Z", "2026-12-04T00:00:00.000Z"}
	vs, pages := c.all(base+"objects/"+id+"/versions/", "versions", nil, 1)
	if !slices.Equal(vs, want) || pages != 2 {
		t.Errorf("versions %v in %d pages, want %v in 2", vs, pages, want)
	}
	if latest != want[1] {
		t.Errorf("objects gives version %s, want the latest %s", latest, want[1])
	}
	_, _, h := c.get(base+"objects/"+id+"/versions/", nil)
	if h.Get("X-TAXII-Date-Added-First") == "" || h.Get("X-TAXII-Date-Added-Last") == "" {
		t.Errorf("versions without date-added headers: %v", h)
	}
	for _, tc := range []struct {
		version string
		want    []string
	}{
		{"all", []string{"2026-12-03T00:00:00.000Z", "2026-12-04T00:00:00.000Z"}},
		{"first", []string{"2026-12-03T00:00:00.000Z"}},
		{"last", []string{"2026-12-04T00:00:00.000Z"}},
		{"2026-12-03T00:00:00Z", []string{"2026-12-03T00:00:00.000Z"}},
	} {
		objs := c.ok(base+"objects/"+id+"/", url.Values{"match[version]": {tc.version}})["objects"].([]any)
		var got []string
		for _, o := range objs {
			got = append(got, o.(map[string]any)["modified"].(string))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("match[version]=%s: %v, want %v", tc.version, got, tc.want)
		}
	}
	after := c.ok(base+"objects/"+id+"/versions/", url.Values{"added_after": {"2026-12-03T12:00:00Z"}})
	if got := after["versions"].([]any); len(got) != 1 || got[0] != want[1] {
		t.Errorf("versions added after 2026-12-03 12:00: %v", got)
	}
	for _, tc := range []struct {
		path string
		q    url.Values
		code int
	}{
		{base + "objects/identity--00000000-0000-5000-8000-000000000000/versions/", nil, 404},
		{base + "objects/" + id + "/versions/", url.Values{"match[type]": {"identity"}}, 400},
		{base + "objects/" + id + "/versions/", url.Values{"limit": {"0"}}, 400},
		{base + "objects/" + id + "/", url.Values{"match[version]": {"yesterday"}}, 400},
		{base + "objects/" + id + "/versions/", url.Values{"match[spec_version]": {"2.0"}}, 404},
	} {
		if code, v, _ := c.get(tc.path, tc.q); code != tc.code || v["http_status"] != fmt.Sprint(tc.code) {
			t.Errorf("GET %s %v: %d %v, want %d", tc.path, tc.q, code, v, tc.code)
		}
	}
}

func TestPlainHTTPOnlyFromLoopback(t *testing.T) {
	for _, tc := range []struct {
		remote string
		tls    bool
		want   bool
	}{
		{"127.0.0.1:5000", false, true},
		{"127.8.9.10:5000", false, true},
		{"[::1]:5000", false, true},
		{"192.0.2.10:5000", false, false},
		{"[2001:db8::1]:5000", false, false},
		{"[::ffff:192.0.2.10]:5000", false, false},
		{"10.0.0.1:5000", false, false},
		{"not an address", false, false},
		{"192.0.2.10:5000", true, true},
	} {
		r := httptest.NewRequest("GET", "/taxii2/", nil)
		r.RemoteAddr = tc.remote
		r.TLS = nil
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := taxii.PlainHTTPAllowed(r); got != tc.want {
			t.Errorf("PlainHTTPAllowed(%s, tls %v) = %v, want %v", tc.remote, tc.tls, got, tc.want)
		}
	}
	// Over a real connection from this host's own non-loopback address.
	_, pop, _ := newPopulation(t)
	addr := nonLoopbackAddr(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	hs := &http.Server{Handler: server(pop)}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	c := &client{t: t, http: &http.Client{Timeout: 10 * time.Second}, base: "http://" + ln.Addr().String()}
	code, v, _ := c.get("/taxii2/", nil)
	if code != http.StatusForbidden || v["title"] != "TLS required" {
		t.Errorf("plain HTTP from %s: %d %v, want 403 TLS required", addr, code, v)
	}
	// The same server over loopback answers.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs2 := &http.Server{Handler: server(pop)}
	go hs2.Serve(ln2)
	t.Cleanup(func() { hs2.Close() })
	c.base = "http://" + ln2.Addr().String()
	if code, _, _ := c.get("/taxii2/", nil); code != http.StatusOK {
		t.Errorf("plain HTTP over loopback: %d", code)
	}
}

// nonLoopbackAddr is an address of this host that is not loopback (the
// test skips without one).
func nonLoopbackAddr(t *testing.T) string {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	for _, a := range ifs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this host has no non-loopback IPv4 address")
	return ""
}
