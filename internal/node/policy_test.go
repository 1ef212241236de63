package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// lenientPolicy is the default policy as version v with no check
// contraindicating: an infected device is appraised warning at most.
func lenientPolicy(t *testing.T, v int) []byte {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(policy.DefaultJSON(), &f); err != nil {
		t.Fatal(err)
	}
	f["id"], f["version"] = "lenient", v
	var tiers []any
	for _, r := range f["tiers"].([]any) {
		if r.(map[string]any)["tier"] != "contraindicated" {
			tiers = append(tiers, r)
		}
	}
	f["tiers"] = tiers
	b, _ := json.Marshal(f)
	return b
}

// TestPolicySetThroughOneNodeIsUsedByTheOther: a policy activated through
// node A's admin API is what node B appraises with within seconds, with
// no restart, and B's certificates name it; a policy that does not
// compile is refused with the CEL error and changes nothing; a node
// started afterwards uses the stored policy.
func TestPolicySetThroughOneNodeIsUsedByTheOther(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testPolicyAcrossNodes(t, "sqlite:"+filepath.Join(t.TempDir(), "herd.db")) })
	t.Run("Postgres", func(t *testing.T) { testPolicyAcrossNodes(t, pgSchemaDSN(t)) })
}

func testPolicyAcrossNodes(t *testing.T, dsn string) {
	ctx := context.Background()
	kek := make([]byte, 32)
	rand.Read(kek)
	open := func(policyFile string) peer {
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		n, err := node.Open(ctx, node.Config{DSN: dsn, DataDir: t.TempDir(), KEK: kek, PolicyFile: policyFile,
			Authority: authority.Config{Issuer: "http://authority.example"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		mux.Handle("/", n.Authority)
		return peer{t, n, srv}
	}
	a, b := open(""), open("")
	tok, hash := apitoken.New(apitoken.AdminPrefix)
	if err := a.n.Store.(store.Operations).CreateAdminToken(ctx, store.AdminToken{Name: "ops", Hash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	put := func(body []byte) (int, map[string]any) {
		req, _ := http.NewRequest("PUT", a.srv.URL+"/v1/admin/policy", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	nc := a.nonce()
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: nc,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(nc, pk)))})
	var er protocol.EnrollResponse
	a.post(protocol.PathEnroll, req, http.StatusCreated, &er)
	infected := func(p peer) (health.Tier, string) {
		var resp protocol.CheckinResponse
		p.post(protocol.PathCheckin, statement(er.DeviceID, priv, p.nonce(), health.Fail), 200, &resp)
		c, err := healthcert.ParseCompact(resp.Certificates[0].Token)
		if err != nil {
			t.Fatal(err)
		}
		var claims healthcert.Claims
		json.Unmarshal(c.Payload, &claims)
		if got := claims.Device().PolicyID; got != resp.PolicyID {
			t.Fatalf("certificate names policy %s, the answer %s", got, resp.PolicyID)
		}
		return resp.Verdict, resp.PolicyID
	}
	if v, id := infected(b); v != health.Contraindicated || id != "herd-default@1" {
		t.Fatalf("before: %s by %s", v, id)
	}

	// A policy that does not compile is refused with the CEL error.
	bad := bytes.Replace(lenientPolicy(t, 1), []byte(`"tier":"warning","when":"`), []byte(`"tier":"warning","when":"checks.exists(c, c.id == ) || `), 1)
	if code, m := put(bad); code != 400 || m["code"] != "bad_policy" || !strings.Contains(m["error"].(string), "Syntax error") {
		t.Fatalf("bad policy: %d %v", code, m)
	}
	if h, _ := a.n.Store.(store.Policies).PolicyHistory(ctx, 10); len(h) != 0 {
		t.Fatalf("a refused policy was stored: %+v", h)
	}

	if code, m := put(lenientPolicy(t, 1)); code != 200 || m["id"] != "lenient@1" {
		t.Fatalf("set: %d %v", code, m)
	}
	if v, id := infected(a); v == health.Contraindicated || id != "lenient@1" {
		t.Errorf("A after the set: %s by %s", v, id)
	}
	// B learns of it within seconds, on its own.
	var v health.Tier
	var id string
	for deadline := time.Now().Add(5 * authority.PolicyCheckInterval); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if v, id = infected(b); id == "lenient@1" {
			break
		}
	}
	if id != "lenient@1" || v == health.Contraindicated {
		t.Fatalf("B still appraises %s by %s", v, id)
	}
	var d protocol.Discovery
	json.Unmarshal(b.get(protocol.PathDiscovery), &d)
	if d.PolicyID != "lenient@1" {
		t.Errorf("B's discovery names %s", d.PolicyID)
	}
	// The same id@version with other rules is refused; nothing changes.
	other := bytes.Replace(lenientPolicy(t, 1), []byte(`"tier":"affirming","when":"true"`), []byte(`"tier":"affirming","when":"1 == 1"`), 1)
	if bytes.Equal(other, lenientPolicy(t, 1)) {
		t.Fatal("the edit did not change the policy")
	}
	if code, m := put(other); code != 409 || m["code"] != "policy_conflict" {
		t.Errorf("other rules under lenient@1: %d %v, want 409", code, m)
	}
	if _, id := infected(a); id != "lenient@1" {
		t.Errorf("after a refused set A appraises by %s", id)
	}

	// A node started now uses the stored policy; one started with
	// --policy makes its file the active policy of every node.
	if c := open(""); c.n.Authority.Policy().ID() != "lenient@1" {
		t.Errorf("a new node uses %s", c.n.Authority.Policy().ID())
	}
	file := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(file, lenientPolicy(t, 2), 0o600)
	c := open(file)
	if c.n.Authority.Policy().ID() != "lenient@2" {
		t.Errorf("a node started with --policy uses %s", c.n.Authority.Policy().ID())
	}
	open(file) // the same file again: no new version
	h, _ := a.n.Store.(store.Policies).PolicyHistory(ctx, 10)
	if len(h) != 2 || h[0].Version != 2 || h[0].Actor != "serve --policy" || h[1].Actor != "ops" {
		t.Errorf("history = %+v", h)
	}
}
