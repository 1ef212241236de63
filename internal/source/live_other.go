//go:build !linux && !windows && !darwin

package source

import (
	"context"
	"os"
	"syscall"
)

func fileID(fi os.FileInfo) (dev, ino uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino), 0
	}
	return 0, 0, 0
}

// WMI does not exist here.
func (l *Live) WMI(context.Context, string) ([]map[string]any, error) { return nil, ErrUnsupported }

// Registry does not exist here.
func (l *Live) Registry(string) (map[string]RegValue, error) { return nil, ErrUnsupported }

// Processes is not yet read on this OS.
func (l *Live) Processes(context.Context) ([]Process, error) { return nil, ErrUnsupported }

// Connections is not yet read on this OS.
func (l *Live) Connections(context.Context) ([]Connection, error) { return nil, ErrUnsupported }
