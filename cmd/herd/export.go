package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
)

func openPopulation(ctx context.Context, db string) (population.Store, func() error, error) {
	st, err := openExisting(ctx, db, "")
	if err != nil {
		return nil, nil, err
	}
	ps, ok := st.(population.Store)
	if !ok {
		st.Close()
		return nil, nil, fmt.Errorf("store %T keeps no population statistics", st)
	}
	return ps, st.Close, nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("herd export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store: sqlite:PATH or postgres://… (default SQLite in the data directory)")
	format := fs.String("format", "json", "json, csv or stix21")
	since := fs.String("since", "", "first day (YYYY-MM-DD or RFC 3339; default 30 days ago)")
	k := fs.Int64("min-count", 10, "withhold every cell whose true count is under K")
	eps := fs.Float64("epsilon", 0, "add Laplace noise for ε-differential privacy (0: none)")
	dim := fs.String("segment", "os", "segment dimension: os, os_version, agent, country")
	issuer := fs.String("issuer", "", "the authority's name in the export")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "herd export: "+format+"\n", a...)
		return 2
	}
	if *k < 2 {
		// An explicit 0 is not "the default": K = 0 or 1 would withhold
		// nothing.
		return usage("--min-count %d: K must be at least 2 (cells with a true count under K are withheld)", *k)
	}
	if *eps < 0 || math.IsNaN(*eps) || math.IsInf(*eps, 0) {
		return usage("--epsilon %v: must be 0 (no noise) or a positive number", *eps)
	}
	switch *format {
	case "json", "csv", "stix21":
	default:
		return usage("--format %q: must be json, csv or stix21", *format)
	}
	switch store.Dimension(*dim) {
	case store.DimOS, store.DimOSVersion, store.DimAgent, store.DimCountry:
	default:
		return usage("--segment %q: must be os, os_version, agent or country", *dim)
	}
	o := population.ExportOptions{MinCount: *k, Epsilon: *eps, Dimension: store.Dimension(*dim), Issuer: *issuer}
	if *since != "" {
		t, err := time.Parse(time.DateOnly, *since)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, *since); err != nil {
				return usage("--since %q: want YYYY-MM-DD or RFC 3339", *since)
			}
		}
		o.Since = t
	}
	ps, closeFn, err := openPopulation(ctx, *db)
	if err != nil {
		fmt.Fprintf(stderr, "herd export: %v\n", err)
		return 1
	}
	defer closeFn()
	ex, err := population.BuildExport(ctx, ps, o)
	if errors.Is(err, population.ErrInvalidOption) {
		return usage("%v", err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "herd export: %v\n", err)
		return 1
	}
	if err := population.Write(stdout, *format, ex); err != nil {
		fmt.Fprintf(stderr, "herd export: %v\n", err)
		return 1
	}
	auditAfter(ctx, ps, "herd export", "population.export", *format, true, stderr)
	return 0
}
