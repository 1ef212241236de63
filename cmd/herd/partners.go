package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/store"
)

// partnerPrefix starts every sharing-partner token.
const partnerPrefix = "herd_partner_"

// runPartners manages the sharing partners who read the TAXII API.
func runPartners(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := usageFor(args, []string{"add"}, "usage: herd partners add [--db DSN] --name NAME\n", stdout, stderr); done {
		return code
	}
	var name string
	st, _, code := subcommand(ctx, "partners add", args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "the partner's name (a CERT, an ISAC)")
	})
	if st == nil {
		return code
	}
	defer st.Close()
	if name == "" {
		fmt.Fprintln(stderr, "herd partners add: --name is required")
		return 2
	}
	ps, ok := st.(store.PopulationStats)
	if !ok {
		fmt.Fprintln(stderr, "herd partners add: this store keeps no partners")
		return 1
	}
	tok, hash := apitoken.New(partnerPrefix)
	if err := ps.AddPartner(ctx, name, hash, time.Now().UTC()); err != nil {
		fmt.Fprintf(stderr, "herd partners add: %v\n", err)
		return 1
	}
	if err := auditCLI(ctx, st, "partner.add", name); err != nil {
		fmt.Fprintf(stderr, "herd partners add: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintln(stderr, "This token is shown once; give it to the partner now. TAXII clients send it as the HTTP Basic password (any user name) at /taxii2/.")
	return 0
}
