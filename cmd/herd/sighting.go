package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

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
