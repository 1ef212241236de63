package authority_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/verify"
)

// newOpsStatusEnv is an authority with the admin API and revocation on.
func newOpsStatusEnv(t *testing.T, st store.Store) *opsEnv {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	keys, err := keyring.Open(ctx, st, 4*time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, clock: clk}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	ops := st.(store.Operations)
	e.auth, err = authority.New(ctx, authority.Config{Issuer: e.srv.URL, StatusListSize: 64}, authority.Deps{Store: st, Keys: keys,
		Policy: policy.Default(), Now: clk.Now, Operations: ops, Status: st.(store.StatusLists)})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", e.auth)
	tok, hash := apitoken.New(apitoken.AdminPrefix)
	if err := ops.CreateAdminToken(ctx, store.AdminToken{Name: "alice", Hash: hash, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	return &opsEnv{env: e, ops: ops, token: tok}
}

// Deleting a device through the admin API revokes its live certificates:
// a relying party checking status refuses them once its copy of the list
// is renewed, though the device's rows are gone.
func TestAdminDeleteDeviceRevokesItsCertificates(t *testing.T) {
	for _, sk := range stores {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			e := newOpsStatusEnv(t, sk.open(t))
			const bank = "https://bank.example"
			gone, stays := e.enroll(), e.enroll()
			goneCert := e.checkin(gone, healthy, bank).Certificates[0].Token
			staysCert := e.checkin(stays, healthy, bank).Certificates[0].Token
			newVerifier := func() *verify.Verifier {
				opts := verify.Options{Audience: bank, Issuer: e.srv.URL, JWKSURL: e.srv.URL + protocol.PathJWKS, Now: e.clock.Now, StatusMaxAge: 5 * time.Minute}
				sc, err := verify.NewStatusChecker(opts)
				if err != nil {
					t.Fatal(err)
				}
				opts.Status = sc
				v, err := verify.New(opts)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			if _, err := newVerifier().Verify(ctx, goneCert); err != nil {
				t.Fatalf("before delete: %v", err)
			}
			if code, b, _ := e.admin("DELETE", "/v1/admin/devices/"+gone.id, e.token, nil); code != 200 {
				t.Fatalf("delete = %d %s", code, b)
			}
			// A fresh relying party (no cached list) sees the list served now.
			v := newVerifier()
			if _, err := v.Verify(ctx, goneCert); !errors.Is(err, verify.ErrRevoked) {
				t.Errorf("deleted device's certificate: %v, want ErrRevoked", err)
			}
			if _, err := v.Verify(ctx, staysCert); err != nil {
				t.Errorf("other device's certificate: %v, want valid", err)
			}
		})
	}
}

// Every audited admin call records its outcome: a delete of an unknown
// device is 404, not a success.
func TestAdminAuditRecordsOutcome(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	d := e.enroll()
	if code, _, _ := e.admin("DELETE", "/v1/admin/devices/no-such-device", e.token, nil); code != 404 {
		t.Fatalf("delete unknown = %d", code)
	}
	if code, _, _ := e.admin("DELETE", "/v1/admin/devices/"+d.id, e.token, nil); code != 200 {
		t.Fatalf("delete = %d", code)
	}
	es, err := e.ops.AuditLog(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[1].Target != "no-such-device" || es[1].Outcome != "404" || es[0].Target != d.id || es[0].Outcome != "200" {
		t.Fatalf("audit = %+v, want the failed delete with 404 and the good one with 200", es)
	}
	code, b, _ := e.admin("GET", "/v1/admin/audit", e.token, nil)
	if code != 200 || !strings.Contains(string(b), `"outcome":"404"`) {
		t.Errorf("audit list = %d %s, want outcomes", code, b)
	}
}

// The last page of devices has no next cursor.
func TestAdminDevicesNoNextOnLastPage(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	for range 4 {
		e.enroll()
	}
	type page struct {
		Devices []struct{ ID string }
		Next    string
	}
	get := func(q string) page {
		t.Helper()
		code, b, _ := e.admin("GET", "/v1/admin/devices"+q, e.token, nil)
		var p page
		if code != 200 || json.Unmarshal(b, &p) != nil {
			t.Fatalf("list %s = %d %s", q, code, b)
		}
		return p
	}
	p1 := get("?limit=2")
	if len(p1.Devices) != 2 || p1.Next != p1.Devices[1].ID {
		t.Fatalf("first page = %+v, want 2 devices and a next cursor", p1)
	}
	p2 := get("?limit=2&after=" + p1.Next)
	if len(p2.Devices) != 2 || p2.Next != "" {
		t.Errorf("last page = %+v, want 2 devices and no next cursor", p2)
	}
	if all := get("?limit=4"); len(all.Devices) != 4 || all.Next != "" {
		t.Errorf("one full page = %+v, want no next cursor", all)
	}
}

// A revoked admin token's name can be given to a new token.
func TestAdminTokenNameReusedAfterRevoke(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	if code, b, _ := e.admin("POST", "/v1/admin/tokens", e.token, map[string]string{"name": "t1"}); code != 201 {
		t.Fatalf("create t1 = %d %s", code, b)
	}
	if code, _, _ := e.admin("POST", "/v1/admin/tokens", e.token, map[string]string{"name": "t1"}); code != 409 {
		t.Errorf("create a working t1 again = %d, want 409", code)
	}
	if code, b, _ := e.admin("DELETE", "/v1/admin/tokens/t1", e.token, nil); code != 200 {
		t.Fatalf("revoke t1 = %d %s", code, b)
	}
	code, b, _ := e.admin("POST", "/v1/admin/tokens", e.token, map[string]string{"name": "t1"})
	if code != 201 {
		t.Fatalf("create t1 after revoking it = %d %s, want 201", code, b)
	}
	var created struct{ Token string }
	json.Unmarshal(b, &created)
	if code, _, _ := e.admin("GET", "/v1/admin/tokens", created.Token, nil); code != 200 {
		t.Errorf("the new t1 token = %d, want it to work", code)
	}
}
