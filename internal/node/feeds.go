package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/webhook"
)

// Feed is a threat-intelligence feed `herd serve` refreshes on a
// schedule (the serve config file's "feeds" list).
type Feed struct {
	// Name names the feed in the indicators it lists (their source).
	Name string `json:"name"`
	// URL is where the feed is downloaded from, in any format `herd intel
	// import` reads.
	URL string `json:"url"`
	// Interval is how often it is refreshed ("6h"); default 6 hours.
	Interval webhook.Duration `json:"interval"`
}

// Defaults of the feed refresh.
const (
	DefaultFeedInterval = 6 * time.Hour
	DefaultFeedTick     = time.Minute
	DefaultFeedMaxBytes = 512 << 20
)

// feedState is what a node remembers about one feed between refreshes.
type feedState struct {
	next               time.Time
	imported           time.Time // the last full import
	etag, lastModified string
}

type feeds struct {
	mu    sync.Mutex
	state map[string]*feedState
}

func (f Feed) interval() time.Duration {
	if f.Interval > 0 {
		return time.Duration(f.Interval)
	}
	return DefaultFeedInterval
}

// RefreshFeeds refreshes every configured feed that is due, then expires
// indicators no feed has listed for Config.IndicatorExpiryDays. Nodes
// sharing a store take a lease per feed, so one of them imports it per
// interval; a feed answering "not modified" (conditional GET with its
// ETag and Last-Modified) only has its indicators marked fresh. One
// feed's failure does not stop the others; the errors are joined.
func (n *Node) RefreshFeeds(ctx context.Context) error {
	is, ok1 := n.Store.(store.Intel)
	fs, ok2 := n.Store.(store.Feeds)
	if !ok1 || !ok2 {
		return nil
	}
	now := n.now()
	log := n.logger()
	client := n.cfg.FeedClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute}
	}
	var errs []error
	for _, f := range n.cfg.Feeds {
		n.feeds.mu.Lock()
		if n.feeds.state == nil {
			n.feeds.state = map[string]*feedState{}
		}
		s := n.feeds.state[f.Name]
		if s == nil {
			s = &feedState{}
			n.feeds.state[f.Name] = s
		}
		due := !now.Before(s.next)
		n.feeds.mu.Unlock()
		if !due {
			continue
		}
		s.next = now.Add(f.interval())
		took, err := fs.TakeLease(ctx, "feed:"+f.Name, now, now.Add(f.interval()*9/10))
		if err != nil {
			errs = append(errs, fmt.Errorf("feed %s: %w", f.Name, err))
			continue
		}
		if !took {
			log.Debug("feed refreshed by another node", "feed", f.Name)
			continue
		}
		err = n.refreshFeed(ctx, is, fs, client, f, s, now)
		if err != nil {
			log.Warn("feed refresh failed", "feed", f.Name, "err", err)
			errs = append(errs, fmt.Errorf("feed %s: %w", f.Name, err))
		}
		if rerr := n.recordFeedRun(ctx, f, now, err); rerr != nil {
			errs = append(errs, fmt.Errorf("feed %s: %w", f.Name, rerr))
		}
	}
	if days := n.cfg.IndicatorExpiryDays; days > 0 {
		age := time.Duration(days) * 24 * time.Hour
		took, err := fs.TakeLease(ctx, "expire", now, now.Add(DefaultFeedTick/2))
		if err == nil && took {
			removed, v, err := is.ExpireIndicators(ctx, now, now.Add(-age), now.Add(-2*age))
			if err != nil {
				errs = append(errs, fmt.Errorf("expiring indicators: %w", err))
			} else if removed > 0 {
				log.Info("stale indicators expired", "removed", removed, "version", v)
			}
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (n *Node) refreshFeed(ctx context.Context, is store.Intel, fs store.Feeds, client *http.Client, f Feed, s *feedState, now time.Time) error {
	max := n.cfg.FeedMaxBytes
	if max <= 0 {
		max = DefaultFeedMaxBytes
	}
	got, err := intel.Get(ctx, client, f.URL, s.etag, s.lastModified, max)
	if errors.Is(err, intel.ErrNotModified) {
		touched, err := fs.TouchIndicators(ctx, f.Name, s.imported, now)
		if err == nil {
			n.logger().Info("feed not modified", "feed", f.Name, "indicators", touched)
		}
		return err
	}
	if err != nil {
		return err
	}
	defer got.Body.Close()
	start := time.Now()
	res, imp, err := intel.Load(ctx, is, got.Body, f.URL, intel.Options{Source: f.Name, Now: n.now}, now, func(c int) {
		if c%100000 == 0 {
			n.logger().Info("feed import in progress", "feed", f.Name, "indicators", c, "elapsed", time.Since(start).Round(time.Second))
		}
	})
	if err != nil {
		return err
	}
	s.etag, s.lastModified, s.imported = got.ETag, got.LastModified, now
	n.logger().Info("feed refreshed", "feed", f.Name, "indicators", res.Total(), "skipped", res.Skipped, "added", imp.Added, "version", imp.Version)
	return nil
}

// feedLoop refreshes feeds every tick until ctx ends.
func (n *Node) feedLoop(ctx context.Context) {
	if len(n.cfg.Feeds) == 0 && n.cfg.IndicatorExpiryDays <= 0 {
		return
	}
	tick := n.cfg.FeedTick
	if tick <= 0 {
		tick = DefaultFeedTick
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		n.RefreshFeeds(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) now() time.Time {
	if n.cfg.Now != nil {
		return n.cfg.Now()
	}
	return time.Now()
}

func (n *Node) logger() *slog.Logger {
	if n.cfg.Logger != nil {
		return n.cfg.Logger
	}
	return slog.New(slog.DiscardHandler)
}
