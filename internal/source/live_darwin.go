package source

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

func fileID(fi os.FileInfo) (dev, ino uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino), st.Ctimespec.Nano()
	}
	return 0, 0, 0
}

// WMI does not exist on macOS.
func (l *Live) WMI(context.Context, string) ([]map[string]any, error) { return nil, ErrUnsupported }

// Registry does not exist on macOS.
func (l *Live) Registry(string) (map[string]RegValue, error) { return nil, ErrUnsupported }

// Processes lists processes with `ps -axo pid=,comm=`.
func (l *Live) Processes(ctx context.Context) ([]Process, error) {
	out, err := l.Run(ctx, "ps", "-axo", "pid=,comm=")
	if err != nil {
		return nil, fmt.Errorf("processes: %w", err)
	}
	if !out.OK() {
		return nil, fmt.Errorf("processes: ps exited %d", out.Exit)
	}
	ps, perr := ParsePS(out.Stdout)
	if len(ps) == 0 && perr != nil {
		return nil, perr
	}
	return ps, nil
}

// Connections lists sockets with `lsof -nP -iTCP -iUDP`. Without
// privilege lsof shows only the user's own processes' sockets.
func (l *Live) Connections(ctx context.Context) ([]Connection, error) {
	out, err := l.Run(ctx, "lsof", "-nP", "-iTCP", "-iUDP")
	if err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	// lsof exits 1 when it found nothing to list.
	if !out.OK() && out.Stdout != "" {
		return nil, fmt.Errorf("connections: lsof exited %d", out.Exit)
	}
	conns, perr := ParseLsof(out.Stdout)
	if len(conns) == 0 && perr != nil {
		return nil, perr
	}
	return conns, nil
}
