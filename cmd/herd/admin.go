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

const adminUsage = `usage:
  herd admin token create [--db DSN] --name NAME
  herd admin token list [--db DSN]
  herd admin token revoke [--db DSN] --name NAME
  herd admin enrollment-token create [--db DSN] --name NAME [--single-use] [--ttl DURATION]
  herd admin enrollment-token list [--db DSN]
  herd admin enrollment-token revoke [--db DSN] --name NAME
  herd admin user create [--db DSN] --name NAME   (console account; password from stdin or a prompt)
  herd admin user delete [--db DSN] --name NAME   (the account and its console sessions)

--db defaults to the SQLite database in the data directory. An enrollment
token never expires unless --ttl gives it a lifetime (e.g. --ttl 72h).
`

// runAdmin manages admin API tokens and enrollment tokens in the store.
// Tokens are printed once, at creation; only their hashes are kept.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := usageFor(args, []string{"token", "enrollment-token", "user"}, adminUsage, stdout, stderr); done {
		return code
	}
	if len(args) < 2 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	kind, verb := args[0], args[1]
	switch verb {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, adminUsage)
		return 0
	}
	var name, ttl string
	var single bool
	st, _, code := subcommand(ctx, "admin "+kind+" "+verb, args[2:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "token or user name")
		if kind == "enrollment-token" && verb == "create" {
			fs.BoolVar(&single, "single-use", false, "the token enrolls one device only")
			fs.StringVar(&ttl, "ttl", "", "the token expires after this long (e.g. 72h); default: never expires")
		}
	})
	if st == nil {
		return code
	}
	defer st.Close()
	now := time.Now().UTC()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "herd admin %s %s: %v\n", kind, verb, err)
		return 1
	}
	needName := func() bool {
		if name == "" {
			fmt.Fprintln(stderr, "herd admin: --name is required")
			return false
		}
		return true
	}
	switch kind + " " + verb {
	case "token create":
		if !needName() {
			return 2
		}
		tok, hash := apitoken.New(apitoken.AdminPrefix)
		if err := audited(ctx, st, "admin_token.create", name, func() error {
			return st.CreateAdminToken(ctx, store.AdminToken{Name: name, Hash: hash, CreatedAt: now})
		}); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, tok)
		fmt.Fprintln(stderr, "This token is shown once; store it now. Use it as: Authorization: Bearer <token>")
	case "token list":
		ts, err := st.AdminTokens(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.CreatedAt.Format(time.RFC3339), when(t.RevokedAt))
		}
		tw.Flush()
	case "token revoke":
		if !needName() {
			return 2
		}
		if err := audited(ctx, st, "admin_token.revoke", name, func() error { return st.RevokeAdminToken(ctx, name, now) }); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "revoked %s\n", name)
	case "enrollment-token create":
		if !needName() {
			return 2
		}
		t := store.EnrollmentToken{Name: name, CreatedAt: now, SingleUse: single}
		tok, hash := apitoken.New(apitoken.EnrollmentPrefix)
		t.Hash = hash
		if err := audited(ctx, st, "enrollment_token.create", name, func() error {
			if ttl != "" {
				d, err := time.ParseDuration(ttl)
				if err != nil || d <= 0 {
					return fmt.Errorf("--ttl %q must be a positive duration such as 72h", ttl)
				}
				t.ExpiresAt = now.Add(d)
			}
			return st.CreateEnrollmentToken(ctx, t)
		}); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, tok)
		fmt.Fprintln(stderr, "This token is shown once. Devices enroll with it when the authority runs with enrollment_mode \"token\".")
	case "enrollment-token list":
		ts, err := st.EnrollmentTokens(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tEXPIRES\tSINGLE-USE\tUSES\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%s\n", t.Name, t.CreatedAt.Format(time.RFC3339), when(t.ExpiresAt), t.SingleUse, t.Uses, when(t.RevokedAt))
		}
		tw.Flush()
	case "enrollment-token revoke":
		if !needName() {
			return 2
		}
		if err := audited(ctx, st, "enrollment_token.revoke", name, func() error { return st.RevokeEnrollmentToken(ctx, name, now) }); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "revoked %s\n", name)
	case "user create":
		if !needName() {
			return 2
		}
		if err := createConsoleUser(ctx, st, name, stdout, stderr); err != nil {
			return fail(err)
		}
	case "user delete":
		if !needName() {
			return 2
		}
		if err := deleteConsoleUser(ctx, st, name, stdout); err != nil {
			return fail(err)
		}
	default:
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	return 0
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
