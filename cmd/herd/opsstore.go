package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/user"
	"time"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
)

// opsStore is a store with the operator features.
type opsStore interface {
	store.Store
	store.Operations
}

func openOps(ctx context.Context, dsn string) (opsStore, error) {
	if dsn == "" {
		return nil, fmt.Errorf("--db is required (sqlite:PATH or postgres://…)")
	}
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	o, ok := st.(opsStore)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("this store does not support operator commands")
	}
	return o, nil
}

// cliActor names the operator of a command-line action in the audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

// subcommand parses "herd NAME SUB --db DSN …" flags and opens the store.
func subcommand(ctx context.Context, name string, args []string, stderr io.Writer, define func(fs *flag.FlagSet)) (opsStore, *flag.FlagSet, int) {
	fs := flag.NewFlagSet("herd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "store: sqlite:PATH or postgres://…")
	if define != nil {
		define(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, 2
	}
	st, err := openOps(ctx, *db)
	if err != nil {
		fmt.Fprintf(stderr, "herd %s: %v\n", name, err)
		return nil, nil, 1
	}
	return st, fs, 0
}

// auditCLI records a command-line operator action.
func auditCLI(ctx context.Context, st opsStore, action, target string) error {
	return st.AppendAudit(ctx, store.AuditEntry{At: time.Now().UTC(), Actor: cliActor(), Action: action, Target: target, SourceIP: "local"})
}
