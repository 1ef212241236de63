package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/store"
)

// sightingsImportResult is `herd sightings import --json`'s output.
//
// A report is imported in one transaction. Fatal, storing nothing (the
// counts are 0 and errors says why): a file that cannot be read, is not
// a sighting report (no Shadowserver header, no ip,timestamp,family row)
// or ends in the middle of a row (truncated), and a store that fails.
// Only skipped, each reported with its line: a row with the wrong number
// of fields, bad quoting, or an address, time, C2 or port that does not
// parse.
type sightingsImportResult struct {
	Format intel.SightingFormat `json:"format"`
	// Sightings is how many valid sightings the report holds; Duplicates
	// how many of them were stored before (the same source, address,
	// time, family and C2): they are not stored or asked about again.
	Sightings  int      `json:"sightings"`
	Duplicates int      `json:"duplicates"`
	Skipped    int      `json:"skipped"`
	Errors     []string `json:"errors"`
	// Devices is how many distinct devices will be asked, at their next
	// check-in, whether their own history shows the reported C2 (or, for
	// a sighting without one, an address of the family from their
	// indicator bundle).
	Devices int `json:"devices"`
	// Questions is how many questions were opened (a device may be asked
	// about several sightings).
	Questions int `json:"questions"`
	// NotAsked counts the sightings without a C2 whose family has no
	// address among the indicators: no device could confirm them, so
	// none was asked.
	NotAsked int `json:"not_asked"`
	// Indicators is how many of the reports' C2s were added to (or
	// refreshed in) the indicator bundle: a device answers only about
	// servers its signed bundle lists.
	Indicators int `json:"indicators"`
}

// sightingIndicator is the indicator a sighting's C2 becomes, so that the
// devices asked about it hold it in their signed bundle (they answer
// only about listed servers) and match it in their own checks.
func sightingIndicator(s intel.Sighting) (store.Indicator, bool) {
	in := store.Indicator{Sources: []string{s.Source}, Family: s.Family, FirstSeen: s.SeenAt, LastSeen: s.SeenAt}
	addr, err := netip.ParseAddr(s.C2)
	if ap, perr := netip.ParseAddrPort(s.C2); perr == nil {
		addr, err, in.Port = ap.Addr(), nil, int(ap.Port())
	}
	if err != nil || s.C2 == "" {
		return in, false
	}
	addr = addr.Unmap()
	in.Type, in.Value = "ipv6", addr.String()
	if addr.Is4() {
		in.Type = "ipv4"
	}
	return in, true
}

func runSightings(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: herd sightings import [--db DSN] [--json] [--window D] FILE")
		return 2
	}
	fs := flag.NewFlagSet("herd sightings import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store: sqlite:PATH or postgres://… (default SQLite in the data directory)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	window := fs.Duration("window", 24*time.Hour, "ask the devices that checked in from the address within this long of the sighting")
	source := fs.String("source", "", "name the report in every sighting (default shadowserver or sightings)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "herd sightings import: name one FILE")
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "herd sightings import: %v\n", err)
		return 1
	}
	defer f.Close()
	st, err := openExisting(ctx, *db, "")
	if err != nil {
		fmt.Fprintf(stderr, "herd sightings import: %v\n", err)
		return 1
	}
	defer st.Close()
	ss, ok := st.(store.Sightings)
	if !ok {
		fmt.Fprintln(stderr, "herd sightings import: this store keeps no sightings")
		return 1
	}
	finish, ok := startAuditOf(ctx, st, "herd sightings import", "sightings.import", fs.Arg(0), stderr)
	if !ok {
		return 1
	}
	now := intelNow().UTC()
	var res intel.SightingResult
	var perr error
	var c2s []store.Indicator
	imp, err := ss.ImportSightings(ctx, now, *window, func(add func(store.Sighting) error) error {
		res, perr = intel.ParseSightings(f, intel.SightingOptions{Source: *source, Emit: func(s intel.Sighting) error {
			if in, ok := sightingIndicator(s); ok {
				c2s = append(c2s, in)
			}
			return add(store.Sighting{IP: s.IP, SeenAt: s.SeenAt, Family: s.Family, C2: s.C2, Source: s.Source})
		}})
		return perr
	})
	out := sightingsImportResult{Format: res.Format, Sightings: res.Count, Duplicates: imp.Duplicates, Skipped: res.Skipped, Errors: res.Errors,
		Devices: len(imp.Devices), Questions: imp.Questions, NotAsked: imp.NotAsked}
	if perr == nil && err != nil {
		perr = fmt.Errorf("storing: %w", err)
	}
	if perr != nil {
		// Nothing was stored: nothing is counted.
		out = sightingsImportResult{Format: res.Format, Errors: []string{fmt.Sprintf("%s: %v (nothing imported from it)", fs.Arg(0), perr)}}
		c2s = nil
	}
	// The reports' C2s go into the indicator bundle, which devices answer
	// from; a store without indicators cannot carry them.
	if in, ok := st.(store.Intel); ok && len(c2s) > 0 {
		imp, err := in.ImportIndicators(ctx, now, func(add func(store.Indicator) error) error {
			for _, c := range c2s {
				if err := add(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			out.Errors = append(out.Errors, fmt.Sprintf("adding the reported C2s to the indicators: %v", err))
			if perr == nil {
				perr = err
			}
		}
		out.Indicators = imp.Stored
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(out)
	} else {
		fmt.Fprintf(stdout, "%d sightings read (%d already known, %d rows skipped); %d devices will be asked at their next check-in\n", out.Sightings, out.Duplicates, out.Skipped, out.Devices)
		if out.NotAsked > 0 {
			fmt.Fprintf(stdout, "%d sightings name no C2 and a family with no known address: no device was asked about them\n", out.NotAsked)
		}
		for _, e := range out.Errors {
			fmt.Fprintln(stdout, "  "+e)
		}
	}
	finish(perr == nil)
	if perr != nil {
		return 1
	}
	return 0
}
