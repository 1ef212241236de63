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
	var withVerdict int64
	for _, t := range []health.Tier{health.Affirming, health.Warning, health.Contraindicated, health.None} {
		byVerdict[string(t)] = s.ByVerdict[t]
		withVerdict += s.ByVerdict[t]
	}
	// A device enrolled but never checked in has no verdict yet: counted
	// apart, so that the verdicts and not_checked_in add up to devices.
	notCheckedIn := max(s.Devices-withVerdict, 0)
	if *asJSON {
		json.NewEncoder(stdout).Encode(map[string]any{"devices": s.Devices, "checkins": s.Checkins, "by_verdict": byVerdict, "not_checked_in": notCheckedIn})
		return 0
	}
	fmt.Fprintf(stdout, "devices:   %d\ncheck-ins: %d\n", s.Devices, s.Checkins)
	for _, t := range []string{"affirming", "warning", "contraindicated", "none"} {
		fmt.Fprintf(stdout, "  %-16s %d\n", t, byVerdict[t])
	}
	fmt.Fprintf(stdout, "  %-16s %d\n", "not checked in", notCheckedIn)
	return 0
}
