package intel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// ToStore turns a parsed indicator into the stored form.
func ToStore(in Indicator) store.Indicator {
	return store.Indicator{
		Type: string(in.Type), Value: in.Value, Port: int(in.Port), Sources: []string{in.Source},
		Family: in.Family, Confidence: in.Confidence, FirstSeen: in.FirstSeen, LastSeen: in.LastSeen,
		ValidUntil: in.ValidUntil, Withdrawn: in.Withdrawn,
	}
}

// Load parses r (its format detected from the content) and stores its
// indicators in one transaction of st. A file that cannot be read to its
// end — truncated, not a feed, or failing while stored — changes nothing:
// the transaction is rolled back and the error returned, together with
// what the parse saw. Malformed records are only skipped and counted.
// progress, when not nil, is called with the running count of
// indicators read.
func Load(ctx context.Context, st store.Intel, r io.Reader, name string, opts Options, now time.Time, progress func(n int)) (Result, store.IndicatorImport, error) {
	var res Result
	var perr error
	n := 0
	imp, err := st.ImportIndicators(ctx, now, func(add func(store.Indicator) error) error {
		o := opts
		o.Emit = func(in Indicator) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			n++
			if progress != nil {
				progress(n)
			}
			return add(ToStore(in))
		}
		res, perr = Import(r, name, o)
		return perr
	})
	if res.Imported == nil {
		res.Imported = map[Type]int{}
	}
	if res.Errors == nil {
		res.Errors = []string{}
	}
	if perr != nil {
		return res, store.IndicatorImport{}, perr
	}
	if err != nil {
		return res, store.IndicatorImport{}, fmt.Errorf("%s: storing: %w", name, err)
	}
	return res, imp, nil
}

// ErrTooLarge: a fetched feed is larger than the limit.
var ErrTooLarge = errors.New("the feed is larger than the size limit")

// ErrNotModified: a conditional fetch found the feed unchanged.
var ErrNotModified = errors.New("the feed has not changed")

// Fetch is one feed download.
type Fetch struct {
	// Body is the feed, bounded by the limit: reading past it fails with
	// ErrTooLarge. The caller closes it.
	Body io.ReadCloser
	// ETag and LastModified are the validators to send next time.
	ETag, LastModified string
}

// Get downloads url with client (which should carry a timeout). A
// non-empty etag or lastModified makes the request conditional; an
// unchanged feed gives ErrNotModified. Bodies larger than maxBytes fail
// while read.
func Get(ctx context.Context, client *http.Client, url, etag, lastModified string, maxBytes int64) (Fetch, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Fetch{}, err
	}
	req.Header.Set("User-Agent", "herd-intel")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		req.Header.Set("If-Modified-Since", lastModified)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Fetch{}, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		resp.Body.Close()
		return Fetch{ETag: etag, LastModified: lastModified}, ErrNotModified
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return Fetch{}, fmt.Errorf("%s: HTTP %s", url, resp.Status)
	case resp.ContentLength > maxBytes:
		resp.Body.Close()
		return Fetch{}, fmt.Errorf("%s: %w (%d bytes, limit %d)", url, ErrTooLarge, resp.ContentLength, maxBytes)
	}
	return Fetch{
		Body:         &limited{r: resp.Body, left: maxBytes},
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
	}, nil
}

// limited fails with ErrTooLarge once more than left bytes were read.
type limited struct {
	r    io.ReadCloser
	left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n - int(-l.left), ErrTooLarge
	}
	return n, err
}

func (l *limited) Close() error { return l.r.Close() }
