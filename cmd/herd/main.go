// Command herd is the health authority and its operators' tool: it serves
// the authority, runs the end-to-end demo, verifies health certificates
// and reports on the population.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	// audits maps each verb of the command that an operator acts with
	// ("" for a command without verbs) to the audit action it records as
	// cli:<user>, with its target and outcome. A command that records
	// none says why in noAudit.
	audits  map[string]string
	noAudit string
}

// Why the commands that record no audit entry record none.
const (
	noAuditServer = "runs a server, whose admin API audits each call"
	noAuditLocal  = "reads nothing an operator keeps in the store and changes nothing"
	noAuditCounts = "prints counts only"
)

var commands = []command{
	{name: "serve", usage: "run a health authority", run: runServe, noAudit: noAuditServer},
	{name: "demo", usage: "run the authority, a demo shop and this machine's agent, end to end", run: runDemo, noAudit: noAuditServer},
	{name: "verify", usage: "verify a health certificate offline", run: runVerify, noAudit: noAuditLocal},
	{name: "stats", usage: "print population counts from the store", run: runStats, noAudit: noAuditCounts},
	{name: "keys", usage: "rotate or list the authority's signing keys", run: runKeys, audits: map[string]string{"rotate": "key.rotate"}},
	{name: "revoke", usage: "revoke a device's live certificates", run: runRevoke, audits: map[string]string{"": "device.revoke"}},
	{name: "policy", usage: "show, validate, set and list the versions of the appraisal policy", run: runPolicy, audits: map[string]string{"set": "policy.set"}},
	{name: "export", usage: "export private population aggregates (json, csv, stix21)", run: runExport, audits: map[string]string{"": "population.export"}},
	{name: "outbreaks", usage: "list stored outbreak alerts, or run detection now (outbreaks detect)", run: runOutbreaks, audits: map[string]string{"detect": "population.outbreaks.detect"}},
	{name: "admin", usage: "create, list and revoke admin API tokens and enrollment tokens", run: runAdmin, audits: map[string]string{
		"token create": "admin_token.create", "token revoke": "admin_token.revoke",
		"enrollment-token create": "enrollment_token.create", "enrollment-token revoke": "enrollment_token.revoke",
		"user create": "console_user.create", "user delete": "console_user.delete",
	}},
	{name: "devices", usage: "list, show and delete enrolled devices", run: runDevices, audits: map[string]string{
		"list": "device.list", "show": "device.show", "delete": "device.delete", "clear-sighting": "device.clear_sighting",
	}},
	{name: "rp", usage: "register relying parties and their webhooks", run: runRP, audits: map[string]string{"add": "relying_party.add", "remove": "relying_party.remove"}},
	{name: "retention", usage: "run the retention job once", run: runRetention, audits: map[string]string{"run": "retention.run"}},
	{name: "partners", usage: "add, list and remove the sharing partners who read the TAXII API", run: runPartners, audits: map[string]string{"add": "partner.add", "remove": "partner.remove"}},
	{name: "intel", usage: "import threat-intelligence feeds (files or URLs)", run: runIntel, audits: map[string]string{"import": "intel.import"}},
	{name: "sightings", usage: "import outside sightings (Shadowserver or ip,timestamp,family CSV)", run: runSightings, audits: map[string]string{"import": "sightings.import"}},
	{name: "loadgen", usage: "drive an authority with simulated devices and report check-ins per second", run: runLoadgen, noAudit: "drives an authority over HTTP like devices; it opens no store"},
	{name: "version", usage: "print the version", run: func(_ context.Context, _ []string, out, _ io.Writer) int {
		fmt.Fprintln(out, "herd", version)
		return 0
	}, noAudit: noAuditLocal},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: herd COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'herd COMMAND -h' for a command's flags.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "herd: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}
