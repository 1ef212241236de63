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

const retentionUsage = `usage: herd retention run [--db DSN] [--source-address-days N] [--history-days N]

--source-address-days N  clear the source addresses of check-ins older than
                         N days (default 30); 0 clears every one now;
                         negative keeps them
--history-days N         delete check-ins older than N days; 0, the
                         default, keeps history forever
`

// runRetention runs the retention job once: herd retention run --db DSN.
func runRetention(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := usageFor(args, []string{"run"}, retentionUsage, stdout, stderr); done {
		return code
	}
	var c retention.Config
	st, fs, code := subcommand(ctx, "retention run", args[1:], stderr, func(fs *flag.FlagSet) {
		fs.IntVar(&c.SourceAddressDays, "source-address-days", 30, "clear check-ins' source addresses older than this many days; 0 clears every source address now; negative keeps them")
		fs.IntVar(&c.HistoryDays, "history-days", 0, "delete check-ins older than this many days; 0 (or not given) keeps history forever")
	})
	if st == nil {
		return code
	}
	defer st.Close()
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "source-address-days" {
			c.SourceAddressDaysSet = true
		}
	})
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "herd retention run: %v\n", err)
		return 2
	}
	var r retention.Result
	err := audited(ctx, st, "retention.run", fmt.Sprintf("source_address_days=%d history_days=%d", c.SourceAddressDays, c.HistoryDays), func() (err error) {
		r, err = retention.Run(ctx, st, c, time.Now())
		return err
	})
	if err != nil {
		fmt.Fprintf(stderr, "herd retention run: %v\n", err)
		return 1
	}
	json.NewEncoder(stdout).Encode(r)
	return 0
}
