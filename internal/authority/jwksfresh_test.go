package authority_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// The first JWKS a node serves after a key was rotated elsewhere (another
// node, the command line) already holds the new key: the node reads the
// keys again before answering, not in the background after it.
func TestJWKSHoldsAKeyRotatedElsewhere(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)} // never moves: no interval passes
	served, err := keyring.Open(ctx, st, 4*time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a, err := authority.New(ctx, authority.Config{Issuer: srv.URL}, authority.Deps{Store: st, Keys: served, Policy: policy.Default(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", a)
	kids := func() []string {
		r, err := http.Get(srv.URL + protocol.PathJWKS)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var j healthcert.JWKS
		json.NewDecoder(r.Body).Decode(&j)
		var out []string
		for _, k := range j.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	first := kids()
	elsewhere, err := keyring.Open(ctx, st, 4*time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := elsewhere.Rotate(ctx, healthcert.ES256)
	if err != nil {
		t.Fatal(err)
	}
	got := kids()
	if !slices.Contains(got, kid) || !slices.Contains(got, first[0]) {
		t.Errorf("JWKS right after the rotation: %v; want the new key %s beside %v", got, kid, first)
	}
}
