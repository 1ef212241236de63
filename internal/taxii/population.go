package taxii

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
)

// PopulationCollectionID is the id of the "herd-population" collection
// (a fixed UUID, so partners can keep it in their configuration).
const PopulationCollectionID = "5b0f7b0e-3c8d-4b7e-9d2a-68657264706f"

// Population serves the private population aggregates as STIX 2.1
// objects: for every complete day (UTC) of the window, that day's release
// (population.Releaser: the same counts every other channel shows, with
// the K, ε and noise of the day's first release), laid out by Dimension
// and rendered by population.STIXObjects. A day's objects are added when
// the day is over and never change; the authority's identity and a
// malware family are re-stated each day, as a new version of the same
// object. Today is not served until it is complete.
type Population struct {
	Stats store.PopulationStats
	// Records keeps each released day's parameters and noise seed
	// (normally the store); required when Epsilon > 0.
	Records   store.Secrets
	MinCount  int64
	Epsilon   float64
	Dimension store.Dimension // default OS family
	Issuer    string
	// Days is the window of complete days served (default 30).
	Days int
	Now  func() time.Time

	once sync.Once
	rel  *population.Releaser
	mu   sync.Mutex
	days map[string][]Object
}

// Collection is the "herd-population" collection.
func (p *Population) Collection() Collection {
	return Collection{ID: PopulationCollectionID, Title: "herd-population",
		Description: "Daily aggregate population health (devices by verdict and failing check, new infections by malware family) " +
			"with every count under K withheld and optional Laplace noise; no device identifiers.",
		Objects: p.Objects}
}

func (p *Population) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Population) releaser() *population.Releaser {
	p.once.Do(func() {
		p.rel = &population.Releaser{Stats: p.Stats, Records: p.Records, MinCount: p.MinCount, Epsilon: p.Epsilon, Now: p.Now}
	})
	return p.rel
}

// Objects lists every version of every object of the window's days.
func (p *Population) Objects(ctx context.Context) ([]Object, error) {
	days := p.Days
	if days <= 0 {
		days = 30
	}
	dim := p.Dimension
	if dim == "" {
		dim = store.DimOS
	}
	last := p.releaser().LastCompleteDay()
	first := last.AddDate(0, 0, -(days - 1))
	rels, err := p.releaser().Days(ctx, first, last)
	if err != nil {
		return nil, fmt.Errorf("taxii: %w", err)
	}
	k := p.MinCount
	if k == 0 {
		k = 10
	}
	var out []Object
	keep := map[string]bool{}
	seen := map[string]bool{} // id|version
	for _, rel := range rels {
		if len(rel.Tables) == 0 {
			continue // nothing was counted that day
		}
		keep[rel.Day] = true
		p.mu.Lock()
		objs, ok := p.days[rel.Day]
		p.mu.Unlock()
		if !ok {
			day, _ := time.Parse(time.DateOnly, rel.Day)
			added := day.Add(24 * time.Hour)
			ex := population.ExportOf([]*population.DayRelease{rel}, dim, p.Issuer, k, p.Epsilon, added)
			for _, o := range population.STIXObjects(ex) {
				id, _ := o["id"].(string)
				v, _ := o["modified"].(string)
				if v == "" {
					v = timestamp(added)
				}
				objs = append(objs, Object{ID: id, DateAdded: added, Version: v, Body: o})
			}
			p.mu.Lock()
			if p.days == nil {
				p.days = map[string][]Object{}
			}
			p.days[rel.Day] = objs
			p.mu.Unlock()
		}
		for _, o := range objs {
			// An object without a modified time (an observable) has one
			// version, the day it was first added.
			key := o.ID + "|" + o.Version
			if _, hasVersion := o.Body["modified"]; !hasVersion {
				key = o.ID
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, o)
			}
		}
	}
	p.mu.Lock()
	for d := range p.days {
		if !keep[d] {
			delete(p.days, d)
		}
	}
	p.mu.Unlock()
	return out, nil
}
