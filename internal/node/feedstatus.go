package node

import (
	"context"
	"time"

	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/store"
)

// recordFeedRun records a feed refresh's outcome for the console's feeds
// page, when the store keeps one. A context ended mid-import is not
// the feed's error and is not recorded.
func (n *Node) recordFeedRun(ctx context.Context, f Feed, at time.Time, err error) error {
	fr, ok := n.Store.(store.FeedReports)
	if !ok || ctx.Err() != nil {
		return nil
	}
	r := store.FeedRun{Name: f.Name, URL: f.URL, At: at}
	if err != nil {
		r.Err = err.Error()
	}
	return fr.RecordFeedRun(ctx, r)
}

// consoleFeeds is the console's feeds page data, or nil when the store
// keeps no intelligence.
func (n *Node) consoleFeeds() console.Feeds {
	fr, ok := n.Store.(store.FeedReports)
	is, ok2 := n.Store.(store.Intel)
	if !ok || !ok2 {
		return nil
	}
	sf := &console.StoreFeeds{Reports: fr, Intel: is, Now: n.cfg.Now}
	for _, f := range n.cfg.Feeds {
		sf.Configured = append(sf.Configured, console.ConfiguredFeed{Name: f.Name, URL: f.URL})
	}
	return sf
}
