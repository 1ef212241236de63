package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	since := fs.String("since", "", "first day (YYYY-MM-DD or RFC 3339; default 30 days before the last)")
	until := fs.String("until", "", "last day (YYYY-MM-DD or RFC 3339; default yesterday, the last complete day UTC)")
	k := fs.Int64("min-count", 10, "withhold every count under K (for days not released before)")
	eps := fs.Float64("epsilon", 0, "add Laplace noise with this epsilon, 0 (none) or at least 0.01 (for days not released before)")
	dim := fs.String("segment", "os", "segment dimension: os, os_version, agent, country")
	issuer := fs.String("issuer", "", "the authority's name in the export")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "herd export: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *k < 2 {
		// An explicit 0 is not "the default": K = 0 or 1 would withhold
		// nothing.
		return usage("--min-count %d: K must be at least 2 (counts under K are withheld)", *k)
	}
	if err := population.CheckEpsilon(*eps); err != nil {
		return usage("--epsilon %v: %v", *eps, err)
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
	for _, d := range []struct {
		flag string
		v    string
		dst  *time.Time
	}{{"--since", *since, &o.Since}, {"--until", *until, &o.Until}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, d.v); err != nil {
				return usage("%s %q: want YYYY-MM-DD or RFC 3339", d.flag, d.v)
			}
		}
		*d.dst = t
	}
	ps, closeFn, err := openPopulation(ctx, *db)
	if err != nil {
		fmt.Fprintf(stderr, "herd export: %v\n", err)
		return 1
	}
	defer closeFn()
	// The store keeps each released day's K, epsilon and noise seed: a day
	// is exported as it was first released, through any channel.
	o.Records, _ = ps.(store.Secrets)
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
	if n := len(ex.Privacy.Earlier); n > 0 {
		fmt.Fprintf(stderr, "herd export: %d of the days were released before with another K or epsilon and are exported as then released (see earlier_releases): a day is released once, so that no two releases of it can be combined\n", n)
	}
	auditAfter(ctx, ps, "herd export", "population.export", *format, true, stderr)
	return 0
}
