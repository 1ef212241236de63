package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/herd-health/herd/health"
)

func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("herd stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store: sqlite:PATH or postgres://… (default SQLite in the data directory)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	st, err := openExisting(ctx, *db, "")
	if err != nil {
		fmt.Fprintf(stderr, "herd stats: %v\n", err)
		return 1
	}
	defer st.Close()
	s, err := st.Stats(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "herd stats: %v\n", err)
		return 1
	}
	byVerdict := map[string]int64{}
	for _, t := range []health.Tier{health.Affirming, health.Warning, health.Contraindicated, health.None} {
		byVerdict[string(t)] = s.ByVerdict[t]
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(map[string]any{"devices": s.Devices, "checkins": s.Checkins, "by_verdict": byVerdict})
		return 0
	}
	fmt.Fprintf(stdout, "devices:   %d\ncheck-ins: %d\n", s.Devices, s.Checkins)
	for _, t := range []string{"affirming", "warning", "contraindicated", "none"} {
		fmt.Fprintf(stdout, "  %-16s %d\n", t, byVerdict[t])
	}
	return 0
}
