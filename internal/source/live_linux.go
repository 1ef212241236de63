package source

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// WMI does not exist on Linux.
func (l *Live) WMI(context.Context, string) ([]map[string]any, error) { return nil, ErrUnsupported }

// Registry does not exist on Linux.
func (l *Live) Registry(string) (map[string]RegValue, error) { return nil, ErrUnsupported }

// Processes lists /proc. Executables the agent may not read (other users'
// processes without privilege) are listed without Exe.
func (l *Live) Processes(context.Context) ([]Process, error) {
	names, err := l.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", n)
		comm, err := os.ReadFile(filepath.Join(dir, "comm"))
		if err != nil {
			continue // gone
		}
		p := Process{PID: pid, Name: strings.TrimSpace(string(comm))}
		if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
			p.Exe = strings.TrimSuffix(exe, " (deleted)")
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

// Connections parses /proc/net/{tcp,tcp6,udp,udp6} and maps sockets to
// processes through /proc/*/fd where permissions allow.
func (l *Live) Connections(context.Context) ([]Connection, error) {
	var out []procConn
	var firstErr error
	read := 0
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile("/proc/net/" + proto)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		read++
		conns, _ := ParseProcNet(proto, string(b))
		out = append(out, conns...)
	}
	if read == 0 {
		return nil, firstErr
	}
	owners := socketOwners()
	for i := range out {
		if pid, ok := owners[out[i].inode]; ok {
			out[i].PID = pid
		}
	}
	res := make([]Connection, len(out))
	for i, c := range out {
		res[i] = c.Connection
	}
	return res, nil
}

// socketOwners maps socket inodes to the pid holding them.
func socketOwners() map[uint64]int {
	owners := map[uint64]int{}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return owners
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64); err == nil {
				owners[ino] = pid
			}
		}
	}
	return owners
}
