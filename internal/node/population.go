package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/geoip"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/taxii"
)

// populationDeps adds population statistics, GeoIP and the TAXII
// collection to deps when the store keeps aggregates.
func populationDeps(ctx context.Context, cfg Config, st store.Store, deps *authority.Deps) (*geoip.Resolver, error) {
	var geo *geoip.Resolver
	if cfg.GeoIPDatabase != "" {
		var err error
		if geo, err = geoip.Open(cfg.GeoIPDatabase); err != nil {
			return nil, err
		}
		deps.GeoIP = geo
	}
	ps, ok := st.(population.Store)
	if !ok {
		return geo, nil
	}
	nodeID := make([]byte, 16)
	rand.Read(nodeID)
	svc := &population.Service{Store: ps, Now: cfg.Now, Logger: cfg.Logger}
	svc.Lease = detectionLease(st, nodeID)
	deps.Population = svc
	// Each released day's parameters and noise seed are kept in the
	// store, so every node and every channel releases a day the same way.
	deps.TAXII = &taxii.Population{Stats: ps, Records: st, MinCount: cfg.MinCount, Epsilon: cfg.Epsilon, Issuer: cfg.Authority.Issuer, Now: cfg.Now}
	return geo, nil
}

// detectionLease is the outbreak-detection lease of the node named
// nodeID: the first node to name itself for a slot holds it, since
// Secret stores a value once and every caller gets the stored one.
func detectionLease(st store.Store, nodeID []byte) func(ctx context.Context, slot time.Time) (bool, error) {
	return func(ctx context.Context, slot time.Time) (bool, error) {
		name := "lease/outbreak-detection/" + slot.UTC().Format(time.RFC3339)
		v, err := st.Secret(ctx, name, func() []byte { return nodeID })
		if err != nil {
			return false, err
		}
		return hex.EncodeToString(v) == hex.EncodeToString(nodeID), nil
	}
}

// runDetection runs outbreak detection until ctx ends.
func (n *Node) runDetection(ctx context.Context) {
	if n.Population != nil {
		n.Population.RunDaily(ctx, n.cfg.DetectionInterval)
	}
}
