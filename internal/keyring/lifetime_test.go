package keyring_test

import (
	"context"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/keyring"
)

func published(kr *keyring.Keyring) map[string]bool {
	out := map[string]bool{}
	for _, k := range kr.JWKS().Keys {
		out[k.Kid] = true
	}
	return out
}

// A server issuing 8-hour certificates notes that in the store; a
// rotation from a keyring opened without a lifetime (herd keys rotate),
// and any node with a shorter lifetime, keep the old key published until
// the last 8-hour certificate it signed has expired.
func TestRetiredKeyKeptForTheLongestLifetimeAnyNodeNoted(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	server, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: 8 * time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, oldKID := server.Signer()

	cli, err := keyring.OpenWith(ctx, st, keyring.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	newKID, err := cli.Rotate(ctx, "EdDSA")
	if err != nil {
		t.Fatal(err)
	}

	clk.Add(6 * time.Hour) // past a 4h lifetime, inside 8h
	short, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: 4 * time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for name, kr := range map[string]*keyring.Keyring{"rotating keyring": cli, "4h node": short} {
		if err := kr.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if p := published(kr); !p[oldKID] || !p[newKID] {
			t.Errorf("%s 6h after rotation publishes %v, want the old key %s (8h certificates) and the new %s", name, p, oldKID, newKID)
		}
	}
	clk.Add(2*time.Hour + 2*keyring.ReloadInterval + time.Second)
	if err := short.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if p := published(short); p[oldKID] || !p[newKID] {
		t.Errorf("after 8h and two reloads the JWKS is %v, want only %s", p, newKID)
	}
}

// A node learns of another's rotation within VersionInterval, not
// ReloadInterval.
func TestRotationSeenWithinVersionInterval(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	node, err := keyring.OpenWith(ctx, st, keyring.Options{MaxLifetime: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	other, err := keyring.OpenWith(ctx, st, keyring.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	newKID, err := other.Rotate(ctx, "EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(keyring.VersionInterval + time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, kid := node.Signer(); kid == newKID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node still signs with its old key %s after the keys version changed", func() string { _, k := node.Signer(); return k }())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if keyring.VersionInterval >= keyring.ReloadInterval {
		t.Errorf("VersionInterval %v is not shorter than ReloadInterval %v", keyring.VersionInterval, keyring.ReloadInterval)
	}
}
