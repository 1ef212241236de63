package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// Command-line actions are audited as cli:<user>, with an outcome.
//
// An action that changes the store writes its record first, pending (no
// audit record, no action), and sets the outcome ("ok" or "error") when
// done: startCLIAudit, audited, startAuditOf. herd export, which reads
// and changes nothing, records one entry at its end with the outcome:
// auditAfter.

// startCLIAudit writes a pending audit record for action on target and
// returns the function that records its outcome. When the store keeps
// no outcomes, the record is written without one.
func startCLIAudit(ctx context.Context, st store.Audit, action, target string) (finish func(err error), err error) {
	e := store.AuditEntry{At: time.Now().UTC(), Actor: cliActor(), Action: action, Target: target, SourceIP: "local"}
	ao, ok := st.(store.AuditOutcomes)
	if !ok {
		return func(error) {}, st.AppendAudit(ctx, e)
	}
	e.Outcome = store.AuditPending
	id, err := ao.StartAudit(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("writing the audit log: %w", err)
	}
	return func(actionErr error) {
		outcome := "ok"
		if actionErr != nil {
			outcome = "error"
		}
		ao.SetAuditOutcome(context.WithoutCancel(ctx), id, outcome)
	}, nil
}

// audited runs act as action on target: a pending record first, and no
// action when it cannot be written; then act's outcome.
func audited(ctx context.Context, st store.Audit, action, target string, act func() error) error {
	finish, err := startCLIAudit(ctx, st, action, target)
	if err != nil {
		return err
	}
	err = act()
	finish(err)
	return err
}

// startAuditOf is startCLIAudit for a command holding st as it opened
// it: a store that keeps no audit log records nothing. A failure to write
// is reported on stderr under the command's name, and ok is false: the
// command must not act. finish records the outcome.
func startAuditOf(ctx context.Context, st any, command, action, target string, stderr io.Writer) (finish func(ok bool), ok bool) {
	a, isAudit := st.(store.Audit)
	if !isAudit {
		return func(bool) {}, true
	}
	done, err := startCLIAudit(ctx, a, action, target)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", command, err)
		return nil, false
	}
	return func(ok bool) {
		var err error
		if !ok {
			err = errors.New(action + " failed")
		}
		done(err)
	}, true
}

// auditAfter records, once the command has run, that it ran and whether
// it succeeded. st is the store the command opened; a store that keeps
// no audit log records nothing. A failure to write is reported on stderr
// under the command's name; it returns false then.
func auditAfter(ctx context.Context, st any, command, action, target string, ok bool, stderr io.Writer) bool {
	a, isAudit := st.(store.Audit)
	if !isAudit {
		return true
	}
	outcome := "ok"
	if !ok {
		outcome = "error"
	}
	err := a.AppendAudit(context.WithoutCancel(ctx), store.AuditEntry{At: time.Now().UTC(), Actor: cliActor(), Action: action,
		Target: target, SourceIP: "local", Outcome: outcome})
	if err != nil {
		fmt.Fprintf(stderr, "%s: writing the audit log: %v\n", command, err)
		return false
	}
	return true
}
