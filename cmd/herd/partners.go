package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/store"
)

// partnerPrefix starts every sharing-partner token.
const partnerPrefix = "herd_partner_"

const partnersUsage = `usage:
  herd partners add [--db DSN] --name NAME
  herd partners list [--db DSN]
  herd partners remove [--db DSN] --name NAME

add prints the partner's TAXII token once; remove deletes the partner and
its token, which the TAXII API refuses from then on. --db defaults to the
SQLite database in the data directory.
`

// runPartners manages the sharing partners who read the TAXII API.
func runPartners(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := usageFor(args, []string{"add", "list", "remove"}, partnersUsage, stdout, stderr); done {
		return code
	}
	verb := args[0]
	var name string
	st, _, code := subcommand(ctx, "partners "+verb, args[1:], stderr, func(fs *flag.FlagSet) {
		if verb != "list" {
			fs.StringVar(&name, "name", "", "the partner's name (a CERT, an ISAC)")
		}
	})
	if st == nil {
		return code
	}
	defer st.Close()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "herd partners %s: %v\n", verb, err)
		return 1
	}
	if verb != "list" && name == "" {
		fmt.Fprintf(stderr, "herd partners %s: --name is required\n", verb)
		return 2
	}
	ps, ok := st.(store.PopulationStats)
	if !ok {
		fmt.Fprintf(stderr, "herd partners %s: this store keeps no partners\n", verb)
		return 1
	}
	switch verb {
	case "add":
		tok, hash := apitoken.New(partnerPrefix)
		finish, err := startCLIAudit(ctx, st, "partner.add", name)
		if err != nil {
			return fail(err)
		}
		err = ps.AddPartner(ctx, name, hash, time.Now().UTC())
		finish(err)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, tok)
		fmt.Fprintln(stderr, "This token is shown once; give it to the partner now. TAXII clients send it as the HTTP Basic password (any user name) at /taxii2/.")
	case "list":
		list, err := ps.Partners(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADDED")
		for _, p := range list {
			fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.CreatedAt.Format(time.RFC3339))
		}
		tw.Flush()
	case "remove":
		finish, err := startCLIAudit(ctx, st, "partner.remove", name)
		if err != nil {
			return fail(err)
		}
		err = ps.RemovePartner(ctx, name)
		finish(err)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "removed %s; its token no longer opens the TAXII API\n", name)
	}
	return 0
}
