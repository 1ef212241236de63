package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
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

// intelImportResult is `herd intel import --json`'s output.
type intelImportResult struct {
	Imported map[intel.Type]int `json:"imported"`
	Skipped  int                `json:"skipped"`
	Errors   []string           `json:"errors"`
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
	out := intelImportResult{Imported: map[intel.Type]int{}, Errors: []string{}}
	failed := 0
	client := &http.Client{Timeout: *timeout}
	for _, name := range fs.Args() {
		res, err := importOne(ctx, is, client, name, *maxSize, *source, stderr)
		out.Skipped += res.Skipped
		for _, e := range res.Errors {
			out.Errors = append(out.Errors, name+": "+e)
		}
		if err != nil {
			failed++
			out.Errors = append(out.Errors, err.Error()+" (nothing imported from it)")
			continue
		}
		for t, n := range res.Imported {
			out.Imported[t] += n
		}
	}
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
		for _, e := range out.Errors {
			fmt.Fprintln(stdout, "  "+e)
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// importOne imports one file or URL in its own transaction.
func importOne(ctx context.Context, st store.Intel, client *http.Client, name string, maxSize int64, source string, stderr io.Writer) (intel.Result, error) {
	var r io.ReadCloser
	if strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://") {
		f, err := intel.Get(ctx, client, name, "", "", maxSize)
		if err != nil {
			return intel.Result{}, err
		}
		r = f.Body
	} else {
		f, err := os.Open(name)
		if err != nil {
			return intel.Result{}, err
		}
		if fi, err := f.Stat(); err == nil && fi.Size() > maxSize {
			f.Close()
			return intel.Result{}, fmt.Errorf("%s: %w (%d bytes, limit %d)", name, intel.ErrTooLarge, fi.Size(), maxSize)
		}
		r = f
	}
	defer r.Close()
	start, last := time.Now(), time.Now()
	progress := func(n int) {
		if n%progressEvery == 0 || time.Since(last) >= progressInterval {
			last = time.Now()
			fmt.Fprintf(stderr, "%s: %d indicators read (%s)\n", name, n, time.Since(start).Round(time.Second))
		}
	}
	res, _, err := intel.Load(ctx, st, r, name, intel.Options{Now: intelNow, Source: source}, intelNow(), progress)
	if errors.Is(err, intel.ErrNotIndicators) {
		err = fmt.Errorf("%w; import it with herd sightings import", err)
	}
	return res, err
}
