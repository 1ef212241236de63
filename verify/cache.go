package verify

import (
	"sync"
	"time"
)

// tokenCache remembers verified tokens until they expire, so a token seen
// again skips the signature check. It is keyed by the token itself: a
// lookup costs one map hash, less than a SHA-256 of the token.
type tokenCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]*Result
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, m: make(map[string]*Result)}
}

func (c *tokenCache) get(token string) *Result {
	c.mu.RLock()
	res := c.m[token]
	c.mu.RUnlock()
	return res
}

// put adds a verified token. When the cache is full it first drops the
// tokens that expired before cutoff, then, if still full, an eighth of
// the entries chosen arbitrarily, so a full cache is not swept on every
// insert.
func (c *tokenCache) put(token string, res *Result, cutoff time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, r := range c.m {
			if r.Claims.ExpiresAt().Before(cutoff) {
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
	c.m[token] = res
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
