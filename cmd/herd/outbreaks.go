package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
)

const outbreaksUsage = `usage:
  herd outbreaks [--db DSN] [--since YYYY-MM-DD] [--json]
  herd outbreaks detect [--db DSN] [--day YYYY-MM-DD] [--json]

The first lists the outbreak alerts stored since --since (default: 30
days ago), newest day first: those herd serve's hourly detection raised
and those of earlier runs of "detect". "detect" runs the detectors now
for --day (default today, UTC), stores what they raise (each alert once)
and prints it; it is audited as cli:<user>, pending while it runs, then
ok or error. --db defaults to the SQLite database in the data directory.
`

// alertsJSON is what herd outbreaks --json prints.
type alertsJSON struct {
	Since  string                 `json:"since"`
	Alerts []population.AlertView `json:"alerts"`
}

// runOutbreaks lists stored outbreak alerts, or runs detection now.
func runOutbreaks(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verb := "list"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, outbreaksUsage)
			return 0
		case "detect", "list":
			verb, args = args[0], args[1:]
		}
	}
	name := "herd outbreaks"
	if verb == "detect" {
		name += " detect"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", dbFlagUsage)
	asJSON := fs.Bool("json", false, "print JSON")
	var date *string
	if verb == "detect" {
		date = fs.String("day", "", "the day to run detection for (YYYY-MM-DD, UTC; default today)")
	} else {
		date = fs.String("since", "", "the first day of alerts to list (YYYY-MM-DD; default 30 days ago)")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n%s", name, fs.Arg(0), outbreaksUsage)
		return 2
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day := today
	if verb == "list" {
		day = today.AddDate(0, 0, -29)
	}
	if *date != "" {
		d, err := time.Parse(time.DateOnly, *date)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %q is not a day (YYYY-MM-DD)\n", name, *date)
			return 2
		}
		if d.After(today) {
			fmt.Fprintf(stderr, "%s: %s is after today (%s, UTC)\n", name, *date, today.Format(time.DateOnly))
			return 2
		}
		day = d
	}
	st, err := openExisting(ctx, *db, "")
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	defer st.Close()
	ps, ok := st.(population.Store)
	if !ok {
		fmt.Fprintf(stderr, "%s: store %T keeps no population statistics\n", name, st)
		return 1
	}
	svc := &population.Service{Store: ps}
	if verb == "list" {
		return listAlerts(ctx, svc, day, today, *asJSON, stdout, stderr)
	}
	au, ok := st.(store.Audit)
	if !ok {
		fmt.Fprintf(stderr, "%s: store %T keeps no audit log\n", name, st)
		return 1
	}
	finish, err := startCLIAudit(ctx, au, "population.outbreaks.detect", day.Format(time.DateOnly))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	alerts, err := svc.Detect(ctx, day)
	finish(err)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	if *asJSON {
		if alerts == nil {
			alerts = []population.AlertDetail{}
		}
		json.NewEncoder(stdout).Encode(map[string]any{"day": day.Format(time.DateOnly), "alerts": alerts})
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DAY\tDETECTOR\tFAMILY\tSEGMENT\tOBSERVED\tLEVEL\tSTATISTIC\tTHRESHOLD")
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%s\t%.2f\t%.2f\n", a.Day, a.Detector, a.Family, segmentText(a.Segment), a.Observed, levelText(a.Level), a.Statistic, a.Threshold)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d alerts for %s\n", len(alerts), day.Format(time.DateOnly))
	return 0
}

// listAlerts prints the stored alerts of the days from..to.
func listAlerts(ctx context.Context, svc *population.Service, from, to time.Time, asJSON bool, stdout, stderr io.Writer) int {
	as, err := svc.AlertsBetween(ctx, from, to)
	if err != nil {
		fmt.Fprintf(stderr, "herd outbreaks: %v\n", err)
		return 1
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(alertsJSON{Since: from.Format(time.DateOnly), Alerts: as})
		return 0
	}
	if len(as) == 0 {
		fmt.Fprintf(stdout, "no outbreak alert since %s\n", from.Format(time.DateOnly))
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DAY\tDETECTOR\tFAMILY\tSEGMENT\tOBSERVED\tLEVEL\tSTATISTIC\tTHRESHOLD\tRAISED")
	for _, a := range as {
		var d population.AlertDetail
		if err := json.Unmarshal(a.Detail, &d); err != nil {
			fmt.Fprintf(stderr, "herd outbreaks: alert %s: %v\n", a.Key, err)
			return 1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%s\t%.2f\t%.2f\t%s\n", a.Day, a.Detector, a.Family, segmentText(a.Segment),
			d.Observed, levelText(d.Level), d.Statistic, d.Threshold, a.CreatedAt.Format(time.RFC3339))
	}
	tw.Flush()
	return 0
}

func segmentText(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

func levelText(l float64) string {
	if l == population.NoLevel {
		return "any"
	}
	return fmt.Sprintf("%.2f", l)
}
