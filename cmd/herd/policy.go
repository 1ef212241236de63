package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/store"
)

const policyUsage = `usage:
  herd policy show [--db DSN] [--json]
  herd policy validate FILE
  herd policy set [--db DSN] FILE
  herd policy history [--db DSN] [--limit N]

show prints the policy every node appraises with: the one activated last,
or herd's built-in policy when none was. validate compiles a policy file
and says what is wrong with it. set validates FILE, stores it as its
id@version and makes it the active policy: every node uses it within
seconds, without a restart, and certificates name it as
ear.appraisal-policy-id. A changed policy needs a higher version: an
id@version already stored with other rules is refused. Setting a stored
version again makes it active again (a roll-back). history lists every
activation, newest first.
`

func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := usageFor(args, []string{"show", "validate", "set", "history"}, policyUsage, stdout, stderr); done {
		return code
	}
	verb := args[0]
	if verb == "validate" {
		if len(args) != 2 {
			fmt.Fprint(stderr, policyUsage)
			return 2
		}
		p, err := policy.Load(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "herd policy validate: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %s compiles\n", args[1], p.ID())
		return 0
	}
	var asJSON bool
	var limit int
	st, fs, code := subcommand(ctx, "policy "+verb, args[1:], stderr, func(fs *flag.FlagSet) {
		switch verb {
		case "show":
			fs.BoolVar(&asJSON, "json", false, "print JSON")
		case "history":
			fs.IntVar(&limit, "limit", 50, "list at most this many activations")
		}
	})
	if st == nil {
		return code
	}
	defer st.Close()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "herd policy %s: %v\n", verb, err)
		return 1
	}
	ps, ok := st.(store.Policies)
	if !ok {
		return fail(errors.New("this store keeps no policies"))
	}
	switch verb {
	case "show":
		if fs.NArg() > 0 {
			fmt.Fprint(stderr, policyUsage)
			return 2
		}
		info := authority.PolicyInfo{Source: "built-in"}
		p := policy.Default()
		sp, act, err := ps.ActivePolicy(ctx)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fail(err)
		default:
			if p, err = policy.Parse(sp.Body); err != nil {
				return fail(fmt.Errorf("the active policy %s@%d: %w", sp.ID, sp.Version, err))
			}
			info.Source, info.ActivatedAt, info.ActivatedBy = "store", &act.ActivatedAt, act.Actor
		}
		info.ID, info.Policy = p.ID(), p.File()
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(info)
			return 0
		}
		if info.Source == "store" {
			fmt.Fprintf(stdout, "active policy: %s (activated %s by %s)\n", info.ID, info.ActivatedAt.Format(time.RFC3339), info.ActivatedBy)
		} else {
			fmt.Fprintf(stdout, "active policy: %s (herd's built-in policy: none was set; a node started with --policy uses its file)\n", info.ID)
		}
		b, _ := json.MarshalIndent(info.Policy, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	case "set":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, policyUsage)
			return 2
		}
		p, err := policy.Load(fs.Arg(0))
		if err != nil {
			return fail(err) // nothing stored, nothing changed
		}
		var act store.PolicyActivation
		var changed bool
		err = audited(ctx, st, "policy.set", p.ID(), func() (err error) {
			act, changed, err = authority.ActivatePolicy(ctx, ps, p, cliActor(), time.Now())
			return err
		})
		if errors.Is(err, store.ErrConflict) {
			return fail(fmt.Errorf("%w; give the changed policy a higher version", err))
		}
		if err != nil {
			return fail(err)
		}
		if !changed {
			fmt.Fprintf(stdout, "%s is the active policy already\n", p.ID())
			return 0
		}
		fmt.Fprintf(stdout, "%s is the active policy (activation %d); every node uses it within %s\n", p.ID(), act.Seq, authority.PolicyCheckInterval)
	case "history":
		if fs.NArg() > 0 || limit <= 0 {
			fmt.Fprint(stderr, policyUsage)
			return 2
		}
		h, err := ps.PolicyHistory(ctx, limit)
		if err != nil {
			return fail(err)
		}
		if len(h) == 0 {
			fmt.Fprintln(stdout, "no policy was ever set: the nodes use herd's built-in policy (or their --policy file)")
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tACTIVATED\tBY\tPOLICY")
		for _, a := range h {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s@%s\n", a.Seq, a.ActivatedAt.Format(time.RFC3339), a.Actor, a.ID, strconv.Itoa(a.Version))
		}
		tw.Flush()
	}
	return 0
}
