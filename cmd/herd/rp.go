package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/store"
)

const rpUsage = `usage:
  herd rp add [--db DSN] --audience AUD --webhook URL [--allow-insecure-webhook] [--kek-file FILE]
  herd rp list [--db DSN]
  herd rp remove [--db DSN] --audience AUD

--db defaults to the SQLite database in the data directory. --webhook is
the relying party's webhook_url: https, or http to a loopback address only
(--allow-insecure-webhook here, allow_insecure_webhooks in the serve
config for the admin API, lift that); link-local, unspecified and
multicast destinations are always refused. The signing secret is stored
sealed with the key-encryption key, found as herd keys finds it.
`

// runRP registers relying parties and their webhooks.
func runRP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := usageFor(args, []string{"add", "list", "remove"}, rpUsage, stdout, stderr); done {
		return code
	}
	verb := args[0]
	var aud, hook, kekFile string
	var insecure bool
	var db *flag.Flag
	st, _, code := subcommand(ctx, "rp "+verb, args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&aud, "audience", "", "the relying party's audience (as devices ask certificates for it)")
		fs.StringVar(&hook, "webhook", "", "URL webhook events are POSTed to (the webhook_url): https, or http to loopback")
		if verb == "add" {
			fs.BoolVar(&insecure, "allow-insecure-webhook", false, "accept a plain-http webhook URL to a host other than loopback")
			fs.StringVar(&kekFile, "kek-file", "", "key-encryption key the secret is sealed with (default: found as herd keys finds it; HERD_KEK overrides)")
		}
		db = fs.Lookup("db")
	})
	if st == nil {
		return code
	}
	defer st.Close()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "herd rp %s: %v\n", verb, err)
		return 1
	}
	switch verb {
	case "add":
		newRP := authority.NewRelyingParty
		if insecure {
			newRP = authority.NewRelyingPartyInsecure
		}
		sealer, err := cliSealer(ctx, st, kekFile, db.Value.String())
		if err != nil {
			return fail(err)
		}
		var rp store.RelyingParty
		if err := audited(ctx, st, "relying_party.add", aud, func() (err error) {
			if rp, err = newRP(aud, hook, time.Now()); err != nil {
				// On the command line the switch is a flag, not the serve
				// config's allow_insecure_webhooks.
				return errors.New(strings.Replace(err.Error(), "allow_insecure_webhooks in the serve config", "--allow-insecure-webhook", 1))
			}
			stored := rp
			if stored.Secret, err = sealer.Seal(store.RelyingPartyAAD(rp.Audience), rp.Secret); err != nil {
				return err
			}
			return st.AddRelyingParty(ctx, stored)
		}); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, string(rp.Secret))
		fmt.Fprintln(stderr, "This is the webhook signing secret, shown once. Check each event's Herd-Signature header with verify.WebhookSignature.")
	case "list":
		rps, err := st.RelyingParties(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AUDIENCE\tWEBHOOK\tCREATED")
		for _, rp := range rps {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", rp.Audience, rp.WebhookURL, rp.CreatedAt.Format(time.RFC3339))
		}
		tw.Flush()
	case "remove":
		if err := audited(ctx, st, "relying_party.remove", aud, func() error { return st.RemoveRelyingParty(ctx, aud) }); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "removed %s\n", aud)
	default:
		fmt.Fprint(stderr, rpUsage)
		return 2
	}
	return 0
}
