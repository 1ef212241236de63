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
}

var commands = []command{
	{"serve", "run a health authority", runServe},
	{"demo", "run the authority, a demo shop and this machine's agent, end to end", runDemo},
	{"verify", "verify a health certificate offline", runVerify},
	{"stats", "print population counts from the store", runStats},
	{"keys", "rotate or list the authority's signing keys", runKeys},
	{"revoke", "revoke a device's live certificates", runRevoke},
	{"export", "export private population aggregates (json, csv, stix21)", runExport},
	{"outbreaks", "list stored outbreak alerts, or run detection now (outbreaks detect)", runOutbreaks},
	{"admin", "create, list and revoke admin API tokens and enrollment tokens", runAdmin},
	{"devices", "list, show and delete enrolled devices", runDevices},
	{"rp", "register relying parties and their webhooks", runRP},
	{"retention", "run the retention job once", runRetention},
	{"partners", "add, list and remove the sharing partners who read the TAXII API", runPartners},
	{"intel", "import threat-intelligence feeds (files or URLs)", runIntel},
	{"sightings", "import outside sightings (Shadowserver or ip,timestamp,family CSV)", runSightings},
	{"loadgen", "drive an authority with simulated devices and report check-ins per second", runLoadgen},
	{"version", "print the version", func(_ context.Context, _ []string, out, _ io.Writer) int {
		fmt.Fprintln(out, "herd", version)
		return 0
	}},
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
