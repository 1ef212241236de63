package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/store"
)

// intelNow is the time imports are made at (STIX valid_until is compared
// with it); tests set it.
var intelNow = time.Now

// progressEvery: an import reports progress on stderr every this many
// indicators, or every progressInterval, whichever comes first.
var (
	progressEvery    = 50000
	progressInterval = 5 * time.Second
)

// intelImportResult is `herd intel import --json`'s output: the totals
// over every file (DESIGN's contract), then each file's own counts.
// "imported" always holds every type herd knows, 0 when none was read,
// and counts distinct indicators: one a file lists twice, or two files
// list, counts once in the totals (once in each file's own counts).
type intelImportResult struct {
	Imported map[intel.Type]int `json:"imported"`
	Skipped  int                `json:"skipped"`
	Errors   []string           `json:"errors"`
	// Withdrawn counts the indicators the feeds took back (revoked or
	// expired STIX indicators): their listing by that feed is removed.
	Withdrawn int               `json:"withdrawn"`
	Files     []intelFileResult `json:"files"`
}

// intelFileResult is one file's part of an import. A file that failed
// (unreadable, truncated, not a feed) stored nothing: it counts nothing
// imported or skipped, and its errors say why.
type intelFileResult struct {
	Name      string             `json:"name"`
	Imported  map[intel.Type]int `json:"imported"`
	Skipped   int                `json:"skipped"`
	Withdrawn int                `json:"withdrawn"`
	Errors    []string           `json:"errors"`
}

func runIntel(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: herd intel import [--db DSN] [--json] FILE|URL…")
		return 2
	}
	fs := flag.NewFlagSet("herd intel import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store: sqlite:PATH or postgres://… (default SQLite in the data directory)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	timeout := fs.Duration("timeout", 2*time.Minute, "time limit for downloading one URL")
	maxSize := fs.Int64("max-size", 512<<20, "largest feed accepted, in bytes")
	source := fs.String("source", "", "name the feed in every indicator (default: the feed's own name)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "herd intel import: name at least one FILE or URL")
		return 2
	}
	st, err := openExisting(ctx, *db, "")
	if err != nil {
		fmt.Fprintf(stderr, "herd intel import: %v\n", err)
		return 1
	}
	defer st.Close()
	is, ok := st.(store.Intel)
	if !ok {
		fmt.Fprintln(stderr, "herd intel import: this store keeps no threat intelligence")
		return 1
	}
	finish, ok := startAuditOf(ctx, st, "herd intel import", "intel.import", strings.Join(fs.Args(), " "), stderr)
	if !ok {
		return 1
	}
	var tally intel.Tally
	out := intelImportResult{Errors: []string{}, Files: []intelFileResult{}}
	failed := 0
	client := &http.Client{Timeout: *timeout}
	fr, _ := st.(store.FeedReports)
	for _, name := range fs.Args() {
		parts := importArg(ctx, is, client, name, *maxSize, *source, stderr)
		var runErrs []string
		feed := *source
		for _, p := range parts {
			if feed == "" {
				feed = p.Result.Source // also a failed file's, when it named its feed
			}
		}
		for _, p := range parts {
			f := intelFileResult{Name: p.Name, Imported: zeroCounts(), Errors: []string{}}
			if p.Err != nil {
				failed++
				msg := p.Err.Error() + " (nothing imported from it)"
				f.Errors = append(f.Errors, strings.TrimPrefix(msg, p.Name+": "))
				out.Errors = append(out.Errors, msg)
				runErrs = append(runErrs, p.Err.Error())
				out.Files = append(out.Files, f)
				continue
			}
			f.Skipped, f.Withdrawn = p.Result.Skipped, p.Result.Withdrawn
			out.Skipped += p.Result.Skipped
			out.Withdrawn += p.Result.Withdrawn
			for _, e := range p.Result.Errors {
				f.Errors = append(f.Errors, e)
				out.Errors = append(out.Errors, p.Name+": "+e)
			}
			for t, n := range p.Result.Imported {
				f.Imported[t] = n
			}
			tally.Add(p.Result)
			out.Files = append(out.Files, f)
		}
		if fr != nil && ctx.Err() == nil {
			if err := recordImportRun(ctx, fr, name, feed, runErrs); err != nil {
				fmt.Fprintf(stderr, "herd intel import: %s: recording the import for the feeds page: %v\n", name, err)
			}
		}
	}
	out.Imported = tally.Counts()
	if *asJSON {
		json.NewEncoder(stdout).Encode(out)
	} else {
		total := 0
		for _, t := range intel.Types {
			if n := out.Imported[t]; n > 0 {
				fmt.Fprintf(stdout, "%-7s %d\n", t, n)
				total += n
			}
		}
		fmt.Fprintf(stdout, "imported %d indicators, skipped %d records\n", total, out.Skipped)
		if out.Withdrawn > 0 {
			fmt.Fprintf(stdout, "withdrawn by their feeds (revoked or expired): %d\n", out.Withdrawn)
		}
		for _, e := range out.Errors {
			fmt.Fprintln(stdout, "  "+e)
		}
	}
	finish(failed == 0)
	if failed > 0 {
		return 1
	}
	return 0
}

// zeroCounts holds every indicator type with 0.
func zeroCounts() map[intel.Type]int {
	m := make(map[intel.Type]int, len(intel.Types))
	for _, t := range intel.Types {
		m[t] = 0
	}
	return m
}

// importArg imports one command-line argument (intel.LoadFeed): a MISP
// feed manifest imports the events kept beside it (<uuid>.json, the MISP
// feed layout), fetched from a URL or read from its directory with the
// same limits, each in its own transaction.
func importArg(ctx context.Context, st store.Intel, client *http.Client, name string, maxSize int64, source string, stderr io.Writer) []intel.Part {
	open := func(ctx context.Context, name string) (io.ReadCloser, error) {
		if intel.IsURL(name) {
			f, err := intel.Get(ctx, client, name, "", "", maxSize)
			return f.Body, err
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		if fi, err := f.Stat(); err == nil && fi.Size() > maxSize {
			f.Close()
			return nil, fmt.Errorf("%s: %w (%d bytes, limit %d)", name, intel.ErrTooLarge, fi.Size(), maxSize)
		}
		return f, nil
	}
	start, last := time.Now(), time.Now()
	progress := func(name string, n int) {
		if n%progressEvery == 0 || time.Since(last) >= progressInterval {
			last = time.Now()
			fmt.Fprintf(stderr, "%s: %d indicators read (%s)\n", name, n, time.Since(start).Round(time.Second))
		}
	}
	parts := intel.LoadFeed(ctx, st, name, open, intel.Options{Now: intelNow, Source: source}, intelNow(), progress)
	for i, p := range parts {
		if errors.Is(p.Err, intel.ErrNotIndicators) {
			parts[i].Err = fmt.Errorf("%w; import it with herd sightings import", p.Err)
		}
	}
	return parts
}

// recordImportRun records an argument's import for the console's feeds
// page, where the scheduled refreshes are recorded too, under the feed's
// identity whether it succeeded or failed: feed, the name the feed gives
// its indicators (or --source), when the file says it even if it failed;
// else the name a run from the same location was recorded under; else,
// provisionally, the file's or URL's last path element, which a later
// success under the feed's name replaces. The location is the URL, or
// the file's absolute path.
func recordImportRun(ctx context.Context, fr store.FeedReports, name, feed string, errs []string) error {
	r := store.FeedRun{Name: feed, URL: name, At: intelNow(), Err: strings.Join(errs, "; ")}
	if intel.IsURL(name) {
		r.Provisional = name
		if u, err := url.Parse(name); err == nil {
			r.Provisional = path.Base(u.Path)
		}
	} else {
		if abs, err := filepath.Abs(name); err == nil {
			r.URL = abs
		}
		r.Provisional = filepath.Base(name)
	}
	if r.Name == "" {
		recs, err := fr.FeedRecords(ctx)
		if err != nil {
			return err
		}
		var latest time.Time
		for _, rec := range recs {
			if rec.URL == r.URL && (r.Name == "" || rec.LastAttempt.After(latest)) {
				r.Name, latest = rec.Name, rec.LastAttempt
			}
		}
	}
	if r.Name == "" {
		r.Name = r.Provisional
	}
	return fr.RecordFeedRun(ctx, r)
}
