package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"

	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
)

// opsStore is a store with the operator features.
type opsStore interface {
	store.Store
	store.Operations
}

func openOps(ctx context.Context, dsn string) (opsStore, error) {
	st, err := openExisting(ctx, dsn, "")
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

// dbFlagUsage documents every command's --db flag.
const dbFlagUsage = "store: sqlite:PATH or postgres://… (default SQLite in the data directory)"

// openExisting opens the store that db names, or the data directory's
// SQLite database when db is empty. It never creates one: only `herd
// serve` (and `herd demo`) make a new database.
func openExisting(ctx context.Context, db, dataDir string) (store.Store, error) {
	dsn, err := node.Config{DSN: db, DataDir: dataDir}.StoreDSN()
	if err != nil {
		return nil, err
	}
	return storeopen.OpenWith(ctx, dsn, storeopen.Options{Existing: true})
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
	db := fs.String("db", "", dbFlagUsage)
	if define != nil {
		define(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, 0
		}
		return nil, nil, 2
	}
	st, err := openOps(ctx, *db)
	if err != nil {
		fmt.Fprintf(stderr, "herd %s: %v\n", name, err)
		return nil, nil, 1
	}
	return st, fs, 0
}

// usageFor answers a command given no verb or asking for help: usage on
// stdout with 0 for -h, --help or help; on stderr with 2 when the verb is
// missing or not one of verbs. ok is false when the verb is fine.
func usageFor(args []string, verbs []string, usage string, stdout, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2, true
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0, true
	}
	for _, v := range verbs {
		if args[0] == v {
			return 0, false
		}
	}
	fmt.Fprintf(stderr, "unknown subcommand %q\n%s", args[0], usage)
	return 2, true
}
