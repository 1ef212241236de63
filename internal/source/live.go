package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Live reads the running system. The zero value is not usable; use NewLive.
type Live struct {
	// CommandTimeout bounds each command; zero means 20 seconds.
	CommandTimeout time.Duration
	// Clock gives the time; nil means time.Now.
	Clock func() time.Time

	user, home string

	mu      sync.Mutex
	hashes  map[hashKey]string
	reading map[hashKey]chan struct{} // hashes being read, closed when done
}

// NewLive makes a Source over the running system, for the current user.
func NewLive() *Live {
	l := &Live{hashes: map[hashKey]string{}}
	if u, err := user.Current(); err == nil {
		l.user, l.home = u.Username, u.HomeDir
	}
	if h, err := os.UserHomeDir(); err == nil {
		l.home = h
	}
	return l
}

func (l *Live) OS() string   { return runtime.GOOS }
func (l *Live) User() string { return l.user }
func (l *Live) Home() string { return l.home }

func (l *Live) Now() time.Time {
	if l.Clock != nil {
		return l.Clock()
	}
	return time.Now()
}

// ReadFile reads a file, at most 16 MiB of it.
func (l *Live) ReadFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 16<<20))
}

// ReadDir lists a directory's names, sorted.
func (l *Live) ReadDir(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// Run runs a command with a timeout and a C locale, so its output is in
// the wording the parsers know.
func (l *Live) Run(ctx context.Context, argv ...string) (Output, error) {
	if len(argv) == 0 {
		return Output{}, errors.New("run: empty command")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return Output{}, fmt.Errorf("%s: %w", argv[0], ErrNotFound)
	}
	timeout := l.CommandTimeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: 8 << 20}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 1 << 20}
	cmd.Stdin = nil
	err = cmd.Run()
	out := Output{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		out.Exit = exitErr.ExitCode()
	case ctx.Err() != nil:
		return out, fmt.Errorf("%s: timed out after %s", argv[0], timeout)
	default:
		return out, fmt.Errorf("%s: %w", argv[0], err)
	}
	return out, nil
}

type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

var _ Source = (*Live)(nil)

// Hostname is the host's name, which a Recorder hides in what it records.
func (l *Live) Hostname() (string, error) { return os.Hostname() }
