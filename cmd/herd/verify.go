package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/herd-health/herd/verify"
)

const verifyUsage = `usage: herd verify --jwks FILE|URL --aud AUD [--iss ISS] [--check-status] TOKEN

Checks a health certificate offline against the authority's key set and
prints its claims as JSON. TOKEN "-" reads the certificate from stdin.
Exit status: 0 authentic and valid (whatever its verdict), 1 invalid,
2 usage error.

  --jwks FILE|URL   the authority's key set (JWKS), a file or an http(s) URL
  --aud AUD         this relying party's audience; the certificate must name it
  --iss ISS         the authority's issuer URL; checked when given
  --check-status    also check the certificate has not been revoked (fails
                    closed when the status cannot be learnt)
`

// verifyStdin is where "herd verify -" reads the token.
var verifyStdin io.Reader = os.Stdin

// maxTokenInput bounds what is read from stdin for TOKEN "-".
const maxTokenInput = 64 << 10

// runVerify implements "herd verify"; args exclude the command name.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	jwks := fs.String("jwks", "", "")
	aud := fs.String("aud", "", "")
	iss := fs.String("iss", "", "")
	checkStatus := fs.Bool("check-status", false, "")
	usage := func(problem string) int {
		if problem != "" {
			fmt.Fprintf(stderr, "herd verify: %s\n", problem)
		}
		fmt.Fprint(stderr, verifyUsage)
		return 2
	}

	// Flags may come before or after the token.
	var tokens []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, verifyUsage)
				return 0
			}
			return usage(err.Error())
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			tokens = append(tokens, rest[1:]...)
			break
		}
		tokens = append(tokens, rest[0])
		rest = rest[1:]
	}
	switch {
	case *aud == "":
		return usage("--aud is required")
	case *jwks == "":
		return usage("--jwks is required")
	case len(tokens) == 0:
		return usage("a TOKEN is required")
	case len(tokens) > 1:
		return usage(fmt.Sprintf("one TOKEN expected, got %d", len(tokens)))
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "herd verify: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return 1
	}

	token := tokens[0]
	if token == "-" {
		b, err := io.ReadAll(io.LimitReader(verifyStdin, maxTokenInput))
		if err != nil {
			return fail(fmt.Errorf("reading the token from stdin: %w", err))
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)

	opts := verify.Options{Audience: *aud, Issuer: *iss}
	if strings.HasPrefix(*jwks, "https://") || strings.HasPrefix(*jwks, "http://") {
		opts.JWKSURL = *jwks
	} else {
		b, err := verifyReadFile(*jwks, 1<<20)
		if err != nil {
			return fail(fmt.Errorf("%w: %v", verify.ErrKeySet, err))
		}
		if opts.Keys, err = verify.ParseKeySet(b); err != nil {
			return fail(err)
		}
	}
	if *checkStatus {
		checker, err := verify.NewStatusChecker(opts)
		if err != nil {
			return fail(err)
		}
		opts.Status = checker
	}
	v, err := verify.New(opts)
	if err != nil {
		return fail(err)
	}
	res, err := v.Verify(ctx, token)
	if err != nil {
		return fail(err)
	}
	if *checkStatus && res.Claims.Status == nil {
		// Asked to confirm the certificate is not revoked, and it names no
		// status list: fail closed rather than vouch for it unchecked.
		return fail(errors.New("cannot check revocation status: the certificate names no status list (drop --check-status to check signature and claims only)"))
	}
	out, err := json.MarshalIndent(res.Claims, "", "  ")
	if err != nil {
		return fail(err)
	}
	stdout.Write(append(out, '\n'))
	return 0
}

// verifyReadFile reads a file of at most max bytes.
func verifyReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}
