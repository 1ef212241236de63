package taxii

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
)

// PopulationCollectionID is the id of the "herd-population" collection
// (a fixed UUID, so partners can keep it in their configuration).
const PopulationCollectionID = "5b0f7b0e-3c8d-4b7e-9d2a-68657264706f"

// Population serves the private population export as STIX 2.1 objects:
// one release per complete day (UTC) of the window, made by
// population.BuildExport with the operator's K and ε and rendered by
// population.STIXObjects. A day's release is built once and kept: its
// noise comes from a generator seeded with an HMAC of the day under
// NoiseKey, so every request, every node and every rebuild publishes the
// same noisy counts for that day (asking again reveals nothing new, and
// the privacy budget of a day is spent once). Today is not served until
// it is complete.
type Population struct {
	Stats     store.PopulationStats
	MinCount  int64
	Epsilon   float64
	Dimension store.Dimension // default OS family
	Issuer    string
	// Days is the window of complete days served (default 30).
	Days int
	// NoiseKey seeds the noise (required when Epsilon > 0).
	NoiseKey []byte
	Now      func() time.Time

	mu    sync.Mutex
	cache map[string][]Object
}

// Collection is the "herd-population" collection.
func (p *Population) Collection() Collection {
	return Collection{ID: PopulationCollectionID, Title: "herd-population",
		Description: "Daily aggregate population health (devices by verdict and failing check, new infections by malware family) " +
			"with cells under K withheld and optional Laplace noise; no device identifiers.",
		Objects: p.Objects}
}

func (p *Population) day(ctx context.Context, d time.Time) ([]Object, error) {
	key := d.Format(time.DateOnly)
	p.mu.Lock()
	objs, ok := p.cache[key]
	p.mu.Unlock()
	if ok {
		return objs, nil
	}
	m := hmac.New(sha256.New, p.NoiseKey)
	fmt.Fprintf(m, "herd-taxii-noise|%s|%d|%g|%s", key, p.MinCount, p.Epsilon, p.Dimension)
	var seed [32]byte
	copy(seed[:], m.Sum(nil))
	added := d.Add(24 * time.Hour)
	ex, err := population.BuildExport(ctx, p.Stats, population.ExportOptions{
		Since: d, Until: d, MinCount: p.MinCount, Epsilon: p.Epsilon, Dimension: p.Dimension, Issuer: p.Issuer,
		Rand: rand.New(rand.NewChaCha8(seed)), Now: func() time.Time { return added },
	})
	if err != nil {
		return nil, err
	}
	for _, o := range population.STIXObjects(ex) {
		id, _ := o["id"].(string)
		v, _ := o["modified"].(string)
		objs = append(objs, Object{ID: id, DateAdded: added, Version: v, Body: o})
	}
	p.mu.Lock()
	if p.cache == nil {
		p.cache = map[string][]Object{}
	}
	p.cache[key] = objs
	p.mu.Unlock()
	return objs, nil
}

// Objects lists the window's objects; an object (the authority's
// identity, a malware family) released on several days is listed once,
// as first added.
func (p *Population) Objects(ctx context.Context) ([]Object, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	days := p.Days
	if days <= 0 {
		days = 30
	}
	if p.Epsilon > 0 && len(p.NoiseKey) == 0 {
		return nil, fmt.Errorf("taxii: a noise key is required with epsilon")
	}
	today := now().UTC().Truncate(24 * time.Hour)
	seen := map[string]bool{}
	var out []Object
	keep := map[string]bool{}
	for i := days; i >= 1; i-- {
		d := today.AddDate(0, 0, -i)
		keep[d.Format(time.DateOnly)] = true
		objs, err := p.day(ctx, d)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if !seen[o.ID] {
				seen[o.ID] = true
				out = append(out, o)
			}
		}
	}
	p.mu.Lock()
	for k := range p.cache {
		if !keep[k] {
			delete(p.cache, k)
		}
	}
	p.mu.Unlock()
	return out, nil
}
