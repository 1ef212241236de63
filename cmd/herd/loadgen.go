package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/loadgen"
)

// runLoadgen drives an authority with simulated devices and reports
// check-ins per second and latency. One check-in is two requests
// (challenge and statement); every figure counts whole check-ins.
func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("herd loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "the authority's base URL (loopback unless --allow-remote)")
	devices := fs.Int("devices", 100, "simulated devices to enroll and check in")
	duration := fs.Duration("duration", 10*time.Second, "how long to send check-ins (at most 1h)")
	rate := fs.Float64("rate", 0, "open loop: check-ins per second, started at fixed intervals (0: closed loop)")
	workers := fs.Int("workers", 0, "closed loop: concurrent check-ins (default min(devices, 32))")
	audiences := fs.String("audiences", "https://bank.example", "comma-separated audiences each statement asks certificates for")
	allowRemote := fs.Bool("allow-remote", false, "allow a target that is not on the loopback interface")
	serverPID := fs.Int("server-pid", 0, "report the CPU time this process (the server) used during the run, from /proc/PID/stat")
	asJSON := fs.Bool("json", false, "end with one JSON line: sent, acknowledged, errors, per_second, p50_ms, p99_ms")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "herd loadgen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *target == "" {
		fmt.Fprintln(stderr, "herd loadgen: --target is required")
		return 2
	}
	cfg := loadgen.Config{
		Target: *target, Devices: *devices, Duration: *duration, Rate: *rate, Workers: *workers,
		AllowRemote: *allowRemote, EnrollmentToken: os.Getenv("HERD_ENROLLMENT_TOKEN"),
	}
	for _, a := range strings.Split(*audiences, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Audiences = append(cfg.Audiences, a)
		}
	}
	if err := validateLoadgen(cfg); err != nil {
		fmt.Fprintf(stderr, "herd loadgen: %v\n", err)
		return 2
	}
	// The server's CPU is sampled around the check-ins only, not the
	// enrollment: OnAck of the first check-in would be too late, so the
	// run reports enrollment separately by sampling before and after.
	var cpuBefore time.Duration
	started := false
	var startErr error
	cfg.OnStart = func() {
		started = true
		if *serverPID > 0 {
			cpuBefore, startErr = loadgen.ProcessCPU(*serverPID)
		}
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "herd loadgen: %v\n", err)
		return 1
	}
	mode := "closed loop"
	if *rate > 0 {
		mode = fmt.Sprintf("open loop at %g check-ins/s", *rate)
	}
	fmt.Fprintf(stdout, "%s, %d devices enrolled, %s of check-ins (each check-in is a challenge and a signed statement: two requests)\n",
		mode, res.Enrolled, res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "check-ins: %d sent, %d acknowledged, %d errors; %.0f/s; latency p50 %.2f ms, p99 %.2f ms\n",
		res.Sent, res.Acknowledged, res.Errors, res.PerSecond, res.P50ms, res.P99ms)
	if res.FirstError != "" {
		fmt.Fprintf(stdout, "first error: %s\n", res.FirstError)
	}
	if *serverPID > 0 && started {
		after, err := loadgen.ProcessCPU(*serverPID)
		if err != nil || startErr != nil {
			fmt.Fprintf(stderr, "herd loadgen: reading the server's CPU time: %v\n", errorsJoin(startErr, err))
		} else if res.Acknowledged > 0 {
			used := after - cpuBefore
			fmt.Fprintf(stdout, "server CPU: %.2f s over %s (%.0f%% of one core), %.1f µs per check-in\n",
				used.Seconds(), res.Elapsed.Round(time.Millisecond), 100*used.Seconds()/res.Elapsed.Seconds(),
				float64(used.Microseconds())/float64(res.Acknowledged))
		}
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
	}
	if res.Acknowledged == 0 {
		return 1
	}
	return 0
}

func validateLoadgen(cfg loadgen.Config) error {
	c := cfg
	if c.Workers == 0 {
		c.Workers = 1
	}
	return c.Validate()
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
