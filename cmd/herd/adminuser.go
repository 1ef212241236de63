package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/store"
)

// passwordInput is where `herd admin user create` reads the password.
var passwordInput io.Reader = os.Stdin

// readPassword reads one line from in. When in is a terminal it prompts
// on stderr, twice, without echo.
func readPassword(in io.Reader, stderr io.Writer) (string, error) {
	f, isFile := in.(*os.File)
	tty := false
	if isFile {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	r := bufio.NewReader(in)
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && s != "") {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	if !tty {
		return line()
	}
	echo := func(on bool) {
		arg := "-echo"
		if on {
			arg = "echo"
		}
		cmd := exec.Command("stty", arg)
		cmd.Stdin = f
		cmd.Run()
	}
	echo(false)
	defer func() { echo(true); fmt.Fprintln(stderr) }()
	fmt.Fprint(stderr, "Password (at least 12 characters): ")
	p1, err := line()
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "\nPassword again: ")
	p2, err := line()
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", errors.New("the passwords differ")
	}
	return p1, nil
}

// createConsoleUser adds a console account with a password from
// passwordInput.
func createConsoleUser(ctx context.Context, st opsStore, name string, stdout, stderr io.Writer) error {
	cu, ok := st.(store.ConsoleUsers)
	if !ok {
		return errors.New("this store keeps no console accounts")
	}
	pw, err := readPassword(passwordInput, stderr)
	if err != nil {
		return err
	}
	if err := audited(ctx, st, "console_user.create", name, func() error { return console.CreateUser(ctx, cu, name, pw, time.Now()) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created console user %s; sign in at <public URL>/console/login\n", name)
	return nil
}

// deleteConsoleUser deletes a console account and ends its sessions,
// audited pending, then ok or error.
func deleteConsoleUser(ctx context.Context, st opsStore, name string, stdout io.Writer) error {
	cu, ok := st.(store.ConsoleUsers)
	if !ok {
		return errors.New("this store keeps no console accounts")
	}
	finish, err := startCLIAudit(ctx, st, "console_user.delete", name)
	if err != nil {
		return err
	}
	err = cu.DeleteConsoleUser(ctx, name)
	finish(err)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted console user %s; its console sessions have ended\n", name)
	return nil
}
