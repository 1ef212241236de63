package population

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"cel.dev/cel-go/cel"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// A cohort expression names devices by their latest failing checks. It is
// a CEL expression over one bool variable per check id, true when the
// check fails in the device's latest check-in:
//
//	firewall && os_support
//	malware || (antivirus && !auto_update)
//
// The shorthand "firewall=fail AND os_support=fail" (operators AND, OR,
// NOT; comparisons =fail, !=fail, =pass meaning "does not fail") is
// rewritten to CEL first. Checks that are unknown or not applicable count
// as not failing: the store keeps only the failing set.
//
// Because the variables are the ten bits of the failing set, the
// expression is evaluated once per possible set (1024), never per device:
// counting a cohort sums the store's per-set counts, and listing it walks
// the index on (fail_mask, id) for each matching set.

var shorthand = regexp.MustCompile(`\b([a-z_]+)\s*(!=|=)\s*(fail|pass)\b`)

// rewriteShorthand turns the shorthand into CEL; CEL input passes through.
func rewriteShorthand(expr string) string {
	out := shorthand.ReplaceAllStringFunc(expr, func(m string) string {
		p := shorthand.FindStringSubmatch(m)
		failing := (p[2] == "=") == (p[3] == "fail")
		if failing {
			return p[1]
		}
		return "!" + p[1]
	})
	r := strings.NewReplacer(" AND ", " && ", " OR ", " || ", "NOT ", "!", " and ", " && ", " or ", " || ")
	return r.Replace(out)
}

// CohortMasks compiles expr and returns every failing set it matches,
// ascending.
func CohortMasks(expr string) ([]store.FailMask, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("empty cohort expression")
	}
	if len(expr) > 1000 {
		return nil, errors.New("cohort expression too long")
	}
	opts := make([]cel.EnvOption, 0, len(health.CheckIDs))
	for _, id := range health.CheckIDs {
		opts = append(opts, cel.Variable(string(id), cel.BoolType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(rewriteShorthand(expr))
	if iss.Err() != nil {
		return nil, fmt.Errorf("cohort expression: %w", iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("cohort expression gives %v, not a bool", ast.OutputType())
	}
	prg, err := env.Program(ast)
	if err != nil {
		return nil, fmt.Errorf("cohort expression: %w", err)
	}
	var out []store.FailMask
	vars := make(map[string]any, len(health.CheckIDs))
	for m := store.FailMask(0); m < 1<<len(health.CheckIDs); m++ {
		for i, id := range health.CheckIDs {
			vars[string(id)] = m&(1<<i) != 0
		}
		v, _, err := prg.Eval(vars)
		if err != nil {
			return nil, fmt.Errorf("cohort expression: %w", err)
		}
		if b, ok := v.Value().(bool); ok && b {
			out = append(out, m)
		}
	}
	return out, nil
}
