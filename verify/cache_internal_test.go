package verify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/verify/verifytest"
)

func TestTokenCacheBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newTokenCache(16)
	for i := 0; i < 100; i++ {
		exp := now.Add(time.Hour)
		if i%2 == 0 {
			exp = now.Add(-time.Hour) // already expired: dropped first
		}
		c.put(fmt.Sprint("token", i), &Result{Claims: &healthcert.Claims{Expiry: exp.Unix()}}, now)
		if n := c.len(); n > 16 {
			t.Fatalf("after %d puts the cache holds %d entries, bound 16", i+1, n)
		}
	}
	if c.get("token99") == nil {
		t.Error("the newest token was evicted")
	}
}

// A token seen before is not verified again: with the key gone, it still
// passes from the cache, while a new token fails.
func TestCachedTokenSkipsSignature(t *testing.T) {
	a := verifytest.NewAuthority(t)
	v, err := New(Options{Audience: "rp", Keys: a.Keys()})
	if err != nil {
		t.Fatal(err)
	}
	tok := a.Issue("rp", health.Affirming)
	ctx := context.Background()
	first, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	v.keys.static = healthcert.KeySet{"other": nil}
	again, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("cached token: %v", err)
	}
	if again != first {
		t.Error("the cached result was not reused")
	}
	if _, err := v.Verify(ctx, a.Issue("rp", health.Affirming)); err == nil {
		t.Fatal("a new token verified without its key")
	}
}

// A token that reuses a cached token's signature with another payload is
// not served from the cache.
func TestCacheMatchesWholeToken(t *testing.T) {
	c := newTokenCache(8)
	res := &Result{Claims: &healthcert.Claims{Expiry: time.Now().Add(time.Hour).Unix()}}
	c.put("h.p1.sig", res, time.Now())
	if c.get("h.p1.sig") != res {
		t.Fatal("cached token not found")
	}
	for _, forged := range []string{"h.p2.sig", "x.p1.sig", "sig", ".sig"} {
		if c.get(forged) != nil {
			t.Errorf("%q taken for a cached token", forged)
		}
	}
}
