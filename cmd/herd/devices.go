package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

const devicesUsage = `usage:
  herd devices list [--db DSN] [--prefix P] [--verdict V] [--after ID] [--limit N]
  herd devices show [--db DSN] --id ID [--history N] [--json]
  herd devices delete [--db DSN] --id ID
  herd devices clear-sighting [--db DSN] --device ID

--db defaults to the SQLite database in the data directory; --verdict is
one of affirming, warning, contraindicated, none. clear-sighting ends the
hold a confirmed outside sighting puts on a device once it has been
cleaned; its next check-in is judged on its own evidence.
`

// runDevices lists, shows and deletes enrolled devices.
func runDevices(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := usageFor(args, []string{"list", "show", "delete", "clear-sighting"}, devicesUsage, stdout, stderr); done {
		return code
	}
	if args[0] == "clear-sighting" {
		return runClearSighting(ctx, args[1:], stdout, stderr)
	}
	verb := args[0]
	var (
		id, prefix, verdict, after string
		limit, history             int
		asJSON                     bool
	)
	st, _, code := subcommand(ctx, "devices "+verb, args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&id, "id", "", "device id")
		fs.StringVar(&prefix, "prefix", "", "list devices whose id starts with this")
		fs.StringVar(&verdict, "verdict", "", "list devices whose latest verdict is this")
		fs.StringVar(&after, "after", "", "list devices after this id (the next page)")
		fs.IntVar(&limit, "limit", 100, "list at most this many devices")
		fs.IntVar(&history, "history", 20, "show this many check-ins")
		fs.BoolVar(&asJSON, "json", false, "show: print JSON")
	})
	if st == nil {
		return code
	}
	defer st.Close()
	if verdict != "" && !knownVerdict(health.Tier(verdict)) {
		fmt.Fprintf(stderr, "herd devices %s: --verdict %q is not one of affirming, warning, contraindicated, none\n", verb, verdict)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "herd devices %s: %v\n", verb, err)
		return 1
	}
	switch verb {
	case "list":
		// One more than asked tells whether there is a next page.
		var ds []store.Device
		if err := audited(ctx, st, "device.list", prefix, func() (err error) {
			ds, err = st.ListDevices(ctx, store.DeviceFilter{IDPrefix: prefix, Verdict: health.Tier(verdict), After: after, Limit: limit + 1})
			return err
		}); err != nil {
			return fail(err)
		}
		more := limit > 0 && len(ds) > limit
		if more {
			ds = ds[:limit]
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tOS\tENROLLED\tLAST SEEN\tVERDICT")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.OS, d.EnrolledAt.Format(time.RFC3339), when(d.LastSeen), or(string(d.LastVerdict), "-"))
		}
		tw.Flush()
		if more {
			fmt.Fprintf(stderr, "more: --after %s\n", ds[len(ds)-1].ID)
		}
	case "show":
		if id == "" {
			fmt.Fprintln(stderr, "herd devices show: --id is required")
			return 2
		}
		var d store.Device
		var hist []store.Checkin
		if err := audited(ctx, st, "device.show", id, func() (err error) {
			if d, err = st.Device(ctx, id); err != nil {
				return err
			}
			hist, err = st.Checkins(ctx, id, history)
			return err
		}); err != nil {
			return fail(err)
		}
		hold, err := sightingHold(ctx, st, id, time.Now())
		if err != nil {
			return fail(err)
		}
		type checkin struct {
			ReceivedAt time.Time        `json:"received_at"`
			Verdict    health.Tier      `json:"verdict"`
			PolicyID   string           `json:"policy_id"`
			SourceIP   string           `json:"source_ip,omitempty"`
			Findings   []health.Finding `json:"findings"`
		}
		out := struct {
			ID           string      `json:"id"`
			OS           string      `json:"os"`
			EnrolledAt   time.Time   `json:"enrolled_at"`
			LastVerdict  health.Tier `json:"last_verdict"`
			SightingHold holdInfo    `json:"sighting_hold"`
			History      []checkin   `json:"history"`
		}{ID: d.ID, OS: d.OS, EnrolledAt: d.EnrolledAt, LastVerdict: d.LastVerdict, SightingHold: hold, History: []checkin{}}
		for _, c := range hist {
			out.History = append(out.History, checkin{c.ReceivedAt, c.Verdict, c.PolicyID, c.SourceIP, c.Findings})
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(out)
			return 0
		}
		fmt.Fprintf(stdout, "device:        %s\nos:            %s\nenrolled:      %s\nlast verdict:  %s\nsighting hold: %s\n",
			out.ID, out.OS, out.EnrolledAt.UTC().Format(time.RFC3339), out.LastVerdict, hold.text())
		if len(out.History) == 0 {
			fmt.Fprintln(stdout, "no check-ins yet")
			break
		}
		fmt.Fprintln(stdout)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RECEIVED\tVERDICT\tPOLICY\tSOURCE\tFINDINGS")
		for _, c := range out.History {
			var fs []string
			for _, f := range c.Findings {
				fs = append(fs, string(f.ID)+":"+string(f.Status))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ReceivedAt.UTC().Format(time.RFC3339), c.Verdict, c.PolicyID, c.SourceIP, strings.Join(fs, " "))
		}
		tw.Flush()
	case "delete":
		if id == "" {
			fmt.Fprintln(stderr, "herd devices delete: --id is required")
			return 2
		}
		if err := audited(ctx, st, "device.delete", id, func() error { return st.DeleteDevice(ctx, id) }); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "deleted %s and its data; its live certificates are revoked\n", id)
	default:
		fmt.Fprint(stderr, devicesUsage)
		return 2
	}
	return 0
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func knownVerdict(v health.Tier) bool {
	switch v {
	case health.Affirming, health.Warning, health.Contraindicated, health.None:
		return true
	}
	return false
}
