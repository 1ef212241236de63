package main

import (
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/store"
)

func TestServeConfigCohortsAndK(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"min_count": 3, "cohorts": [
		{"name": "exposed", "expr": "firewall && os_support"},
		{"name": "unpatched", "expr": "auto_update=fail OR pending_updates=fail"}]}`)
	f, err := loadServeFile(flag.NewFlagSet("t", flag.ContinueOnError), good)
	if err != nil {
		t.Fatal(err)
	}
	if m := cohortMap(f.Cohorts); len(m) != 2 || m["exposed"] != "firewall && os_support" || f.MinCount != 3 {
		t.Fatalf("cohorts %v, min_count %d", m, f.MinCount)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"bad expression", `{"cohorts": [{"name": "typo", "expr": "firewal && os_support"}]}`, `"typo"`},
		{"not a bool", `{"cohorts": [{"name": "n", "expr": "1 + 2"}]}`, "not a bool"},
		{"no name", `{"cohorts": [{"expr": "firewall"}]}`, "needs a name"},
		{"named twice", `{"cohorts": [{"name": "a", "expr": "firewall"}, {"name": "a", "expr": "malware"}]}`, "named twice"},
		{"K of one", `{"min_count": 1}`, "min_count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tc.name, " ", "_")+".json", tc.body)
			if _, err := loadServeFile(flag.NewFlagSet("t", flag.ContinueOnError), p); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadServeFile = %v; want an error with %q", err, tc.want)
			}
			// herd serve refuses to start with it.
			code, _, errs := herd(t, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+filepath.Join(t.TempDir(), "h.db"), "--config", p)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Errorf("herd serve: exit %d, stderr %q", code, errs)
			}
		})
	}

	// The node herd serve builds from this file: the console counts the
	// named cohorts over real check-ins, and /population uses K = 3.
	n, srv, _ := testNode(t, node.Config{MinCount: f.MinCount, Console: console.Config{Cohorts: cohortMap(f.Cohorts)}})
	api := apiClient{t: t, url: srv.URL}
	for _, failing := range [][]health.CheckID{
		{health.Firewall, health.OSSupport}, {health.Firewall, health.OSSupport, health.AutoUpdate},
		{health.Firewall}, {health.PendingUpdates}, {},
	} {
		api.checkin(api.enroll(), failing...)
	}
	if err := console.CreateUser(context.Background(), n.Store.(store.ConsoleUsers), "alice", "a long enough password", time.Now()); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := cl.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("/console/login"))
	if m == nil {
		t.Fatal("no CSRF field on the login page")
	}
	resp, err := cl.PostForm(srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "name": {"alice"}, "password": {"a long enough password"}, "next": {"/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	page := get("/console/cohorts")
	for name, want := range map[string]string{"exposed": "2", "unpatched": "2"} {
		m := regexp.MustCompile(`data-cohort="` + name + `">([^<]*)<`).FindStringSubmatch(page)
		if m == nil || m[1] != want {
			t.Errorf("cohort %s = %v, want %s devices", name, m, want)
		}
	}
	pub := get("/population")
	if k := regexp.MustCompile(`<strong data-k>(\d+)</strong>`).FindStringSubmatch(pub); k == nil || k[1] != "3" {
		t.Errorf("the public page's K = %v, want 3 from min_count", k)
	}
}
