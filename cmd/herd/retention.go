package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/herd-health/herd/internal/retention"
)

// runRetention runs the retention job once: herd retention run --db DSN.
func runRetention(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := usageFor(args, []string{"run"}, "usage: herd retention run [--db DSN] [--source-address-days 30] [--history-days 0]\n", stdout, stderr); done {
		return code
	}
	var c retention.Config
	st, _, code := subcommand(ctx, "retention run", args[1:], stderr, func(fs *flag.FlagSet) {
		fs.IntVar(&c.SourceAddressDays, "source-address-days", 30, "clear check-ins' source addresses older than this many days")
		fs.IntVar(&c.HistoryDays, "history-days", 0, "delete check-ins older than this many days (0 keeps them)")
	})
	if st == nil {
		return code
	}
	defer st.Close()
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "herd retention run: %v\n", err)
		return 2
	}
	r, err := retention.Run(ctx, st, c, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "herd retention run: %v\n", err)
		return 1
	}
	json.NewEncoder(stdout).Encode(r)
	return 0
}
