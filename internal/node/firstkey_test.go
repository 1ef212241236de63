package node_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/node"
)

// startTogether opens n nodes over dsn at the same moment and returns
// them, failing the test on any error.
func startTogether(t *testing.T, dsn string, n int) []*node.Node {
	t.Helper()
	kek := make([]byte, 32)
	rand.Read(kek)
	nodes := make([]*node.Node, n)
	errs := make([]error, n)
	var ready, wg sync.WaitGroup
	ready.Add(1)
	for i := range n {
		wg.Go(func() {
			ready.Wait()
			nodes[i], errs[i] = node.Open(context.Background(), node.Config{DSN: dsn, DataDir: t.TempDir(), KEK: kek,
				Authority: authority.Config{Issuer: "http://authority.example"}})
		})
	}
	ready.Done()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { nodes[i].Close() })
	}
	return nodes
}

// Nodes started at once over an empty store make one signing key
// between them, and all sign with it.
func TestFirstStartMakesOneKey(t *testing.T) {
	check := func(t *testing.T, nodes []*node.Node) {
		t.Helper()
		keys, err := nodes[0].Store.SigningKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("%d signing keys after a concurrent first start, want 1", len(keys))
		}
		for i, n := range nodes {
			if _, kid := n.Keys.Signer(); kid != keys[0].KID {
				t.Errorf("node %d signs with %s, want %s", i, kid, keys[0].KID)
			}
		}
	}
	t.Run("Postgres", func(t *testing.T) {
		for range 5 {
			check(t, startTogether(t, pgSchemaDSN(t), 4))
		}
	})
	t.Run("SQLite", func(t *testing.T) {
		for range 5 {
			check(t, startTogether(t, "sqlite:"+filepath.Join(t.TempDir(), "herd.db"), 4))
		}
	})
}
