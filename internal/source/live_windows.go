package source

import (
	"context"
	"os"
)

func inode(os.FileInfo) uint64 { return 0 }

// WMI is not yet read live on Windows.
func (l *Live) WMI(context.Context, string) ([]map[string]any, error) { return nil, ErrUnsupported }

// Registry is not yet read live on Windows.
func (l *Live) Registry(string) (map[string]RegValue, error) { return nil, ErrUnsupported }

// Processes is not yet read live on Windows.
func (l *Live) Processes(context.Context) ([]Process, error) { return nil, ErrUnsupported }

// Connections is not yet read live on Windows.
func (l *Live) Connections(context.Context) ([]Connection, error) { return nil, ErrUnsupported }
