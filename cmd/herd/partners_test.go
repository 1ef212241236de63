package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/herd-health/herd/internal/node"
)

// TestPartnersListAndRemove: partners are listed without their tokens;
// a removed partner's token is refused by the running TAXII API at once,
// the other partner's still works; every change is audited with its
// outcome.
func TestPartnersListAndRemove(t *testing.T) {
	_, srv, dsn := testNode(t, node.Config{})
	tokens := map[string]string{}
	for _, name := range []string{"cert-example", "isac-example"} {
		code, out, errs := herd(t, "partners", "add", "--db", dsn, "--name", name)
		if code != 0 {
			t.Fatalf("add %s: exit %d: %s", name, code, errs)
		}
		tokens[name] = strings.TrimSpace(out)
	}
	code, out, _ := herd(t, "partners", "list", "--db", dsn)
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "cert-example") || !strings.Contains(out, "isac-example") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	for _, tok := range tokens {
		if strings.Contains(out, tok) || strings.Contains(out, partnerPrefix) {
			t.Fatalf("list shows a token:\n%s", out)
		}
	}
	taxii := func(tok string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/taxii2/", nil)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		req.SetBasicAuth("partner", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := taxii(tokens["cert-example"]); got != http.StatusOK {
		t.Fatalf("before removal: %d", got)
	}
	code, out, errs := herd(t, "partners", "remove", "--db", dsn, "--name", "cert-example")
	if code != 0 || !strings.Contains(out, "removed cert-example") {
		t.Fatalf("remove: exit %d %q %q", code, out, errs)
	}
	if got := taxii(tokens["cert-example"]); got != http.StatusUnauthorized {
		t.Errorf("the removed partner's token: %d, want 401", got)
	}
	if got := taxii(tokens["isac-example"]); got != http.StatusOK {
		t.Errorf("the other partner's token: %d, want 200", got)
	}
	if _, out, _ = herd(t, "partners", "list", "--db", dsn); strings.Contains(out, "cert-example") {
		t.Errorf("the removed partner is listed:\n%s", out)
	}
	if code, _, errs := herd(t, "partners", "remove", "--db", dsn, "--name", "cert-example"); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("removing again: exit %d %q", code, errs)
	}
	if code, _, _ := herd(t, "partners", "remove", "--db", dsn); code != 2 {
		t.Errorf("remove without --name: exit %d", code)
	}
	st, err := openOps(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, _ := st.AuditLog(context.Background(), 10)
	var got []string
	for _, e := range log {
		got = append(got, e.Action+" "+e.Target+" "+e.Outcome)
	}
	want := []string{"partner.remove cert-example error", "partner.remove cert-example ok", "partner.add isac-example ok", "partner.add cert-example ok"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("audit:\n %q\nwant\n %q", got, want)
	}
}
