package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/store"
)

// runClearSighting is `herd devices clear-sighting`: it ends the hold a
// confirmed outside sighting puts on a device, once the device has been
// cleaned, so its next check-in is judged on its own evidence. The
// confirmation stays on record. Audited as device.clear_sighting.
func runClearSighting(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var id string
	st, fs, code := subcommand(ctx, "devices clear-sighting", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&id, "device", "", "the cleaned device's id")
	})
	if st == nil {
		return code
	}
	defer st.Close()
	if id == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: herd devices clear-sighting [--db DSN] --device ID")
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "herd devices clear-sighting: %v\n", err)
		return 1
	}
	sh, ok := st.(store.SightingHolds)
	if !ok {
		return fail(errors.New("this store keeps no sightings"))
	}
	finish, err := startCLIAudit(ctx, st, "device.clear_sighting", id)
	if err != nil {
		return fail(err)
	}
	n, err := sh.ClearSightingHold(ctx, id)
	finish(err)
	if errors.Is(err, store.ErrNotFound) {
		return fail(fmt.Errorf("no device %q is enrolled", id))
	}
	if err != nil {
		return fail(err)
	}
	if n == 0 {
		fmt.Fprintf(stdout, "%s: no confirmed sighting holds this device; nothing to clear\n", id)
		return 0
	}
	fmt.Fprintf(stdout, "%s: cleared %d confirmed sighting(s); its next check-in is judged on its own evidence\n", id, n)
	return 0
}

// holdInfo says whether a confirmed outside sighting holds a device
// contraindicated, and until when.
type holdInfo struct {
	Active      bool       `json:"active"`
	Until       *time.Time `json:"until,omitempty"`
	C2          string     `json:"c2,omitempty"`
	Family      string     `json:"family,omitempty"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
}

func (h holdInfo) text() string {
	if !h.Active {
		return "none"
	}
	s := "active until " + h.Until.UTC().Format(time.RFC3339) + " (confirmed " + h.ConfirmedAt.UTC().Format(time.RFC3339) + ", C2 " + h.C2
	if h.Family != "" {
		s += ", " + h.Family
	}
	return s + "); herd devices clear-sighting --device ID ends it once the device is cleaned"
}

// sightingHold reads the device's hold as the authority judges it: the
// newest confirmation, not cleared, within authority.SightingHold of
// now. A store that keeps no sightings holds nobody.
func sightingHold(ctx context.Context, st store.Store, id string, now time.Time) (holdInfo, error) {
	ss, ok := st.(store.Sightings)
	if !ok {
		return holdInfo{}, nil
	}
	conf, err := ss.ConfirmedSince(ctx, id, now.Add(-authority.SightingHold))
	if err != nil || len(conf) == 0 {
		return holdInfo{}, err
	}
	until, at := conf[0].AnsweredAt.Add(authority.SightingHold).UTC(), conf[0].AnsweredAt.UTC()
	return holdInfo{Active: true, Until: &until, C2: conf[0].C2, Family: conf[0].Family, ConfirmedAt: &at}, nil
}
