package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/verify"
)

// scripted is a simulated device check that answers what the test says.
type scripted struct {
	id health.CheckID
	st health.Status
}

func (s scripted) ID() health.CheckID           { return s.id }
func (s scripted) Probes(string) []source.Probe { return nil }
func (s scripted) Run(context.Context, source.Source, checks.Env) checks.Result {
	r := checks.Result{Status: s.st, Reason: i18n.T("simulated "+string(s.st), "模拟"), Evidence: checks.Evidence("test", health.SelfReported)}
	if s.st == health.Fail {
		r.Remediation = i18n.T("fix it", "修复")
	}
	return r
}

func device(statuses map[health.CheckID]health.Status) []checks.Check {
	var out []checks.Check
	for _, id := range health.CheckIDs {
		if st, ok := statuses[id]; ok {
			out = append(out, scripted{id, st})
		}
	}
	return out
}

func linuxSnapshot() source.Source {
	return source.NewReplay(source.NewSnapshot("linux", time.Now().UTC(), "USER", "/home/USER"))
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, url, token)
}

func do(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set(healthcert.HTTPHeader, token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rawStatus sends the request line exactly as given (no client-side
// cleaning) and returns the status; a redirect is followed the same way,
// and the path it led to is returned too.
func rawStatus(t *testing.T, base, method, path, token string) (int, string) {
	t.Helper()
	for range 5 {
		code, loc := rawOnce(t, base, method, path, token)
		if code < 300 || code > 399 {
			return code, path
		}
		path = loc
	}
	t.Fatalf("%s %s: too many redirects", method, path)
	return 0, ""
}

func rawOnce(t *testing.T, base, method, path, token string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path, strings.TrimPrefix(base, "http://"), healthcert.HTTPHeader, token)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func TestEndToEndEveryTier(t *testing.T) {
	base := map[health.CheckID]health.Status{
		health.Firewall: health.Pass, health.AutoUpdate: health.Pass, health.PendingUpdates: health.Pass,
		health.OSSupport: health.Pass, health.Malware: health.Unknown, health.ScreenLock: health.NotApplicable,
	}
	with := func(id health.CheckID, st health.Status) map[health.CheckID]health.Status {
		m := map[health.CheckID]health.Status{}
		for k, v := range base {
			m[k] = v
		}
		m[id] = st
		return m
	}
	tests := []struct {
		name      string
		device    map[health.CheckID]health.Status
		tier      health.Tier
		decision  verify.Decision
		checkout  string // text the checkout page must show
		payStatus int
	}{
		{"healthy", base, health.Affirming, verify.Allow, `data-decision="allow"`, 200},
		{"firewall off", with(health.Firewall, health.Fail), health.Warning, verify.Warn, `data-finding="firewall"`, 403},
		{"infected", with(health.Malware, health.Fail), health.Contraindicated, verify.Restrict, `data-finding="malware"`, 403},
		{"nothing readable", map[health.CheckID]health.Status{health.Firewall: health.Unknown}, health.None, verify.Warn, `data-decision="warn"`, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d, err := Start(ctx, Options{Dir: t.TempDir(), Checks: device(tc.device), Source: linuxSnapshot(), Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			r := d.Result
			if r.Verdict != tc.tier || r.Decision != tc.decision {
				t.Fatalf("verdict %s / decision %s, want %s / %s", r.Verdict, r.Decision, tc.tier, tc.decision)
			}
			// A relying party of its own verifies the certificate offline
			// against the JWKS the demo printed.
			keys, err := r.JWKS.KeySet()
			if err != nil {
				t.Fatal(err)
			}
			v, err := verify.New(verify.Options{Audience: r.Audience, Issuer: r.URLs.Authority, Keys: keys})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(ctx, r.Certificate)
			if err != nil || res.Tier != tc.tier {
				t.Fatalf("verify: %v, tier %v", err, res)
			}
			// The browser's path: the agent's loopback endpoint hands the
			// certificate to the shop's origin only.
			req, _ := http.NewRequest(http.MethodGet, r.URLs.Agent+"/v1/certificate?aud="+r.Audience, nil)
			req.Header.Set("Origin", r.URLs.Shop)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != r.URLs.Shop {
				t.Fatalf("agent endpoint for the shop's origin: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
			code, page := get(t, r.URLs.Shop+"/checkout", r.Certificate)
			if code != 200 && tc.decision != verify.Restrict {
				t.Fatalf("checkout: %d", code)
			}
			if tc.decision == verify.Restrict {
				// Restricted: checkout is closed, help stays open.
				if code != 403 {
					t.Fatalf("restricted checkout: %d, want 403", code)
				}
				code, page = get(t, r.URLs.Shop+"/help/malware", r.Certificate)
				if code != 200 || !strings.Contains(page, "Signs of infection") {
					t.Fatalf("help page under restriction: %d %q", code, page)
				}
				code, page = get(t, r.URLs.Shop+"/account", r.Certificate)
				if code != 200 || !strings.Contains(page, "Your account") {
					t.Fatalf("account page under restriction: %d", code)
				}
				// Only the safe paths themselves, as a hostile request
				// line writes them: no neighbour of /account, no dot
				// segment or encoded one leading out of /help/. (The
				// shop's ServeMux redirects a dot segment to the clean
				// path, which is then refused.)
				for _, p := range []string{"/accounts", "/account-close", "/account/../pay", "/help/../pay", "/help/%2e%2e/pay", "/help/..%2fpay", "/help//../pay", "/static/../pay"} {
					for _, m := range []string{"GET", "POST"} {
						if code, to := rawStatus(t, r.URLs.Shop, m, p, r.Certificate); code != 403 {
							t.Errorf("restricted %s %s: %d to %q, want 403", m, p, code, to)
						}
					}
				}
				return
			}
			if !strings.Contains(page, tc.checkout) {
				t.Fatalf("checkout page lacks %q:\n%s", tc.checkout, page)
			}
			for _, f := range res.Findings {
				learn := r.URLs.Authority + "/learn/" + string(f.ID)
				if !strings.Contains(page, `href="`+learn+`"`) {
					t.Errorf("finding %s does not link to %s", f.ID, learn)
				}
				if code, body := get(t, learn, ""); code != 200 || !strings.Contains(body, "<h1") {
					t.Errorf("%s: %d", learn, code)
				}
			}
			if code, _ := do(t, http.MethodPost, r.URLs.Shop+"/pay", r.Certificate); code != tc.payStatus {
				t.Fatalf("pay: %d, want %d", code, tc.payStatus)
			}
		})
	}
}

func TestShopWithoutCertificateWarns(t *testing.T) {
	d, err := Start(context.Background(), Options{Dir: t.TempDir(), Checks: device(map[health.CheckID]health.Status{health.Firewall: health.Pass}), Source: linuxSnapshot()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	code, page := get(t, d.Result.URLs.Shop+"/checkout", "")
	if code != 200 || !strings.Contains(page, `data-decision="warn"`) || !strings.Contains(page, "no valid health certificate") {
		t.Fatalf("no certificate: %d\n%s", code, page)
	}
	// A forged certificate is no better than none.
	code, page = get(t, d.Result.URLs.Shop+"/checkout", d.Result.Certificate[:len(d.Result.Certificate)-4]+"AAAA")
	if code != 200 || !strings.Contains(page, `data-decision="warn"`) {
		t.Fatalf("forged certificate: %d\n%s", code, page)
	}
	// The shop speaks Chinese when asked.
	code, page = get(t, d.Result.URLs.Shop+"/checkout?lang=zh-CN", "")
	if code != 200 || !strings.Contains(page, "健康证书") {
		t.Fatalf("Chinese page: %d\n%s", code, page)
	}
}

func TestAgentEndpointRefusesStrangers(t *testing.T) {
	d, err := Start(context.Background(), Options{Dir: t.TempDir(), Checks: device(map[health.CheckID]health.Status{health.Firewall: health.Pass}), Source: linuxSnapshot()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	u := d.Result.URLs
	for _, tc := range []struct {
		name, origin, host, aud string
		method                  string
		status                  int
	}{
		{"other origin", "https://evil.example", "", u.Shop, "GET", 403},
		{"rebinding host", u.Shop, "evil.example", u.Shop, "GET", 421},
		{"unknown audience, no origin", "", "", "https://bank.example", "GET", 404},
		{"native app, no origin", "", "", u.Shop, "GET", 200},
		{"missing aud", "", "", "", "GET", 400},
		{"post", u.Shop, "", u.Shop, "POST", 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, u.Agent+"/v1/certificate?aud="+tc.aud, nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 && resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Fatalf("refused request still allowed origin %q", resp.Header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
	// The private-network preflight a browser sends first.
	req, _ := http.NewRequest(http.MethodOptions, u.Agent+"/v1/certificate?aud="+u.Shop, nil)
	req.Header.Set("Origin", u.Shop)
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Private-Network", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Private-Network") != "true" || resp.Header.Get("Access-Control-Allow-Origin") != u.Shop {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}
