package intel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// Opener opens one file of a feed, a path or an http(s) URL, with the
// caller's limits. A missing local file gives an error matching
// fs.ErrNotExist.
type Opener func(ctx context.Context, name string) (io.ReadCloser, error)

// Part is the import of one file of a feed: the file named, or one event
// its MISP feed manifest lists. A part whose Err is set stored nothing.
type Part struct {
	Name   string
	Result Result
	Import store.IndicatorImport
	Err    error
}

// Errors LoadFeed gives beside the parsers'.
var (
	// ErrManifestAlone: a MISP feed manifest none of whose events were
	// found beside it.
	ErrManifestAlone = errors.New("this is a MISP feed manifest, and none of the events it lists was found beside it")
	// ErrNothingImported: a file that gave no indicator and had
	// malformed records: a broken feed, not an empty one.
	ErrNothingImported = errors.New("no record of the file could be imported")
	// ErrNotEvent: a file a MISP manifest lists is not a MISP event.
	ErrNotEvent = errors.New("a MISP feed lists MISP events")
)

// IsURL tells an http(s) URL from a file name.
func IsURL(name string) bool {
	return strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://")
}

// eventName is where a manifest at name keeps event uuid: <uuid>.json
// beside it, in its URL's directory or its file's.
func eventName(name, uuid string) (string, error) {
	if IsURL(name) {
		base, err := url.Parse(name)
		if err != nil {
			return "", err
		}
		return base.ResolveReference(&url.URL{Path: uuid + ".json"}).String(), nil
	}
	return filepath.Join(filepath.Dir(name), uuid+".json"), nil
}

// LoadFeed imports the feed at name, opened with open, in its own
// transaction (Load). When it is a MISP feed manifest, every event it
// lists is opened beside it and imported in its own transaction, each
// a part after the manifest's: a missing or broken event fails alone.
// When none of the events is found, the manifest's part fails with
// ErrManifestAlone. A file that gives no indicator, every record skipped
// and some of them malformed, fails with ErrNothingImported. progress, when not nil,
// is called with a part's name and its running count of indicators.
func LoadFeed(ctx context.Context, st store.Intel, name string, open Opener, opts Options, now time.Time, progress func(name string, n int)) []Part {
	first := loadPart(ctx, st, name, open, opts, now, progress)
	if first.Err != nil || first.Result.Format != MISPManifest {
		return []Part{first}
	}
	parts := []Part{first}
	var missing []Part
	for _, ev := range first.Result.Events {
		evName, err := eventName(name, ev.UUID)
		if err != nil {
			return []Part{{Name: name, Result: first.Result, Err: fmt.Errorf("%s: %w", name, err)}}
		}
		p := loadPart(ctx, st, evName, open, opts, now, progress)
		if p.Err == nil && p.Result.Format != MISPEvent {
			p = Part{Name: evName, Err: fmt.Errorf("%s: %w: %w, this is %s", evName, ErrFormat, ErrNotEvent, p.Result.Format)}
		}
		if errors.Is(p.Err, fs.ErrNotExist) {
			p.Err = fmt.Errorf("%s: listed in the manifest, but not found beside it", evName)
			missing = append(missing, p)
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) == 1 && len(missing) > 0 {
		return []Part{{Name: name, Result: first.Result,
			Err: fmt.Errorf("%s: %w (no event file such as %s)", name, ErrManifestAlone, filepath.Base(missing[0].Name))}}
	}
	return append(parts, missing...)
}

// loadPart imports one file.
func loadPart(ctx context.Context, st store.Intel, name string, open Opener, opts Options, now time.Time, progress func(string, int)) Part {
	r, err := open(ctx, name)
	if err != nil {
		if !strings.HasPrefix(err.Error(), name) {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return Part{Name: name, Err: err}
	}
	defer r.Close()
	var prog func(int)
	if progress != nil {
		prog = func(n int) { progress(name, n) }
	}
	res, imp, err := Load(ctx, st, r, name, opts, now, prog)
	if err == nil && res.Total() == 0 && res.Withdrawn == 0 && len(res.Errors) > 0 {
		err = fmt.Errorf("%s: %w (%d skipped; the first: %s)", name, ErrNothingImported, res.Skipped, res.Errors[0])
	}
	return Part{Name: name, Result: res, Import: imp, Err: err}
}
