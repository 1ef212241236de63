package node

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// Defaults of the feed refresh. An indicator no feed has listed for a
// month is expired: abuse.ch lists keep what is active, and a C2 address
// dropped from every feed a month ago is more likely to belong to
// someone else by now than to the botnet.
const (
	DefaultFeedInterval        = 6 * time.Hour
	DefaultFeedTick            = time.Minute
	DefaultFeedMaxBytes        = 512 << 20
	DefaultIndicatorExpiryDays = 30
	DefaultFeedRetry           = time.Minute
	DefaultFeedRetryMax        = time.Hour
)

// feedState is what a node remembers about one feed between refreshes.
type feedState struct {
	next               time.Time
	imported           time.Time // the last full import
	etag, lastModified string
	failures           int // refreshes failed in a row
}

// retryAfter is how long to wait after the failures-th failure in a row:
// FeedRetry, doubled each time, at most FeedRetryMax and the interval.
func (n *Node) retryAfter(f Feed, failures int) time.Duration {
	d, max := n.cfg.FeedRetry, n.cfg.FeedRetryMax
	if d <= 0 {
		d = DefaultFeedRetry
	}
	if max <= 0 {
		max = DefaultFeedRetryMax
	}
	max = min(max, f.interval())
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// expiryDays is how many days an indicator no feed lists stays; 0: never.
func (n *Node) expiryDays() int {
	switch d := n.cfg.IndicatorExpiryDays; {
	case d < 0:
		return 0
	case d == 0:
		return DefaultIndicatorExpiryDays
	default:
		return d
	}
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
// indicators no feed has listed for Config.IndicatorExpiryDays and those
// past their valid_until. Nodes sharing a store take a lease per feed,
// so one of them imports it per interval; a feed answering "not
// modified" (conditional GET with its ETag and Last-Modified) only has
// its indicators marked fresh. A failed refresh ends the lease and is
// retried with backoff (Config.FeedRetry). One feed's failure does not
// stop the others; the errors are joined.
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
		lease := "feed:" + f.Name
		took, err := fs.TakeLease(ctx, lease, now, now.Add(f.interval()*9/10))
		if err != nil {
			s.next = now.Add(n.retryAfter(f, 1))
			errs = append(errs, fmt.Errorf("feed %s: %w", f.Name, err))
			continue
		}
		if !took {
			s.next = now.Add(f.interval())
			log.Debug("feed refreshed by another node", "feed", f.Name)
			continue
		}
		err = n.refreshFeed(ctx, is, fs, client, f, s, now)
		if err != nil {
			s.failures++
			wait := n.retryAfter(f, s.failures)
			s.next = now.Add(wait)
			log.Warn("feed refresh failed", "feed", f.Name, "err", err, "retry_in", wait, "failures", s.failures)
			errs = append(errs, fmt.Errorf("feed %s: %w", f.Name, err))
			if ctx.Err() == nil {
				if lerr := fs.EndLease(ctx, lease, s.next); lerr != nil {
					errs = append(errs, fmt.Errorf("feed %s: %w", f.Name, lerr))
				}
			}
		} else {
			s.failures, s.next = 0, now.Add(f.interval())
		}
		if rerr := n.recordFeedRun(ctx, f, now, err); rerr != nil {
			errs = append(errs, fmt.Errorf("feed %s: %w", f.Name, rerr))
		}
	}
	{
		// Expire what is past its valid_until always, and what no feed
		// listed for the configured days unless expiry is off.
		stale := time.Time{}
		forget := now.Add(-2 * time.Duration(DefaultIndicatorExpiryDays) * 24 * time.Hour)
		if days := n.expiryDays(); days > 0 {
			age := time.Duration(days) * 24 * time.Hour
			stale, forget = now.Add(-age), now.Add(-2*age)
		}
		took, err := fs.TakeLease(ctx, "expire", now, now.Add(DefaultFeedTick/2))
		if err == nil && took {
			removed, v, err := is.ExpireIndicators(ctx, now, stale, forget)
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

// refreshFeed downloads a feed, conditionally on what the last full
// import saw, and imports it the way `herd intel import` does
// (intel.LoadFeed): a MISP feed manifest imports the events it lists.
// Any part that fails makes the refresh fail (the parts that worked stay
// stored), so a refresh that imported nothing from a feed that lists
// something is never a success.
func (n *Node) refreshFeed(ctx context.Context, is store.Intel, fs store.Feeds, client *http.Client, f Feed, s *feedState, now time.Time) error {
	limit := n.cfg.FeedMaxBytes
	if limit <= 0 {
		limit = DefaultFeedMaxBytes
	}
	var etag, lastModified string
	open := func(ctx context.Context, name string) (io.ReadCloser, error) {
		if name != f.URL {
			got, err := intel.Get(ctx, client, name, "", "", limit)
			return got.Body, err
		}
		got, err := intel.Get(ctx, client, name, s.etag, s.lastModified, limit)
		etag, lastModified = got.ETag, got.LastModified
		return got.Body, err
	}
	start := time.Now()
	parts := intel.LoadFeed(ctx, is, f.URL, open, intel.Options{Source: f.Name, Now: n.now}, now, func(name string, c int) {
		if c%100000 == 0 {
			n.logger().Info("feed import in progress", "feed", f.Name, "file", name, "indicators", c, "elapsed", time.Since(start).Round(time.Second))
		}
	})
	if errors.Is(parts[0].Err, intel.ErrNotModified) {
		touched, err := fs.TouchIndicators(ctx, f.Name, s.imported, now)
		if err == nil {
			n.logger().Info("feed not modified", "feed", f.Name, "indicators", touched)
		}
		return err
	}
	var errs []error
	total, added := 0, 0
	var version int64
	for _, p := range parts {
		if p.Err != nil {
			errs = append(errs, p.Err)
			continue
		}
		total += p.Result.Total()
		added += p.Import.Added
		version = max(version, p.Import.Version)
	}
	if len(errs) > 0 {
		if len(parts) > 1 {
			errs = append(errs, fmt.Errorf("%d of the %d files listed failed", len(errs), len(parts)-1))
		}
		return errors.Join(errs...)
	}
	s.etag, s.lastModified, s.imported = etag, lastModified, now
	n.logger().Info("feed refreshed", "feed", f.Name, "files", len(parts), "indicators", total, "added", added, "version", version)
	return nil
}

// feedLoop refreshes feeds every tick until ctx ends.
func (n *Node) feedLoop(ctx context.Context) {
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
