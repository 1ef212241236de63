package verify

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// tokenCache remembers verified tokens until they expire, so a token seen
// again skips the signature check. Entries are found by the token's
// signature part (short, so cheap to hash) and match only when the whole
// token is the same: a token reusing a signature with another header or
// payload is never taken for a verified one.
type tokenCache struct {
	mu   sync.RWMutex
	max  int
	m    map[uint64]cacheEntry
	seed maphash.Seed
}

type cacheEntry struct {
	token string
	exp   int64
	res   *Result
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, m: make(map[uint64]cacheEntry), seed: maphash.MakeSeed()}
}

// key hashes the token's signature part with a per-cache random seed.
// Two tokens with the same key (the same signature, or a collision) only
// share a slot: get compares the whole token.
func (c *tokenCache) key(token string) uint64 {
	return maphash.String(c.seed, token[strings.LastIndexByte(token, '.')+1:])
}

func (c *tokenCache) get(token string) *Result {
	c.mu.RLock()
	e, ok := c.m[c.key(token)]
	c.mu.RUnlock()
	if !ok || e.token != token {
		return nil
	}
	return e.res
}

// put adds a verified token. When the cache is full it first drops the
// tokens that expired before cutoff, then, if still full, an eighth of
// the entries chosen arbitrarily, so a full cache is not swept on every
// insert.
func (c *tokenCache) put(token string, res *Result, cutoff time.Time) {
	e := cacheEntry{token: token, exp: res.Claims.Expiry, res: res}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		limit := cutoff.Unix()
		for k, old := range c.m {
			if old.exp < limit {
				delete(c.m, k)
			}
		}
		target := c.max - c.max/8
		for k := range c.m {
			if len(c.m) < target {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[c.key(token)] = e
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
