package node

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/herd-health/herd/internal/retention"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/webhook"
)

// runBackground starts the node's background jobs — the webhook
// dispatcher and the retention job — when the store supports them. They
// stop when ctx ends; the returned function waits until they have.
func (n *Node) runBackground(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() { n.runDetection(ctx) })
	ops, ok := n.Store.(store.Operations)
	if !ok {
		return wg.Wait
	}
	log := n.cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := n.cfg.Now
	if now == nil {
		now = time.Now
	}
	d := webhook.NewDispatcher(n.cfg.Webhooks, ops, nil, log, now)
	d.Observe = n.Authority.ObserveWebhook
	d.OpenSecret = func(aud string, v []byte) ([]byte, error) { return n.sealer.Open(store.RelyingPartyAAD(aud), v) }
	wg.Go(func() { d.Run(ctx) })
	wg.Go(func() { n.feedLoop(ctx) })
	wg.Go(func() { retention.Loop(ctx, ops, n.cfg.Authority.Operations.Retention, now, log) })
	return wg.Wait
}
