package source

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

func fileID(fi os.FileInfo) (dev, ino uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Dev, st.Ino, st.Ctim.Nano()
	}
	return 0, 0, 0
}

// WMI does not exist on Linux.
func (l *Live) WMI(context.Context, string) ([]map[string]any, error) { return nil, ErrUnsupported }

// Registry does not exist on Linux.
func (l *Live) Registry(string) (map[string]RegValue, error) { return nil, ErrUnsupported }

// Processes lists /proc. A process is named after its executable's base
// name (/proc/PID/comm is cut at 15 characters and can be set by the
// process), with comm kept beside it when it differs (see Process).
// Executables the agent may not read (other users' processes without
// privilege) are listed without Exe, under their comm.
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
			p.Exe, p.Deleted = cutDeleted(exe)
			p.Name, p.Comm = ProcessNames(p.Exe, string(comm))
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

// hashProcess hashes the image a process runs through /proc/PID/exe,
// which opens the program even when its file was deleted or replaced
// after it started. The link is read again once the file is open, so a
// pid reused by another program meanwhile is not taken for p.
func (l *Live) hashProcess(p Process) (string, error) {
	if p.PID <= 0 || p.Exe == "" {
		return "", &fs.PathError{Op: "hash", Path: p.Name, Err: fs.ErrNotExist}
	}
	dir := filepath.Join("/proc", strconv.Itoa(p.PID))
	f, err := os.Open(filepath.Join(dir, "exe"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	link, err := os.Readlink(filepath.Join(dir, "exe"))
	if err != nil {
		return "", err
	}
	if exe, _ := cutDeleted(link); exe != p.Exe {
		return "", &fs.PathError{Op: "hash", Path: p.Exe, Err: fmt.Errorf("process %d now runs %s", p.PID, exe)}
	}
	return l.hashOpen(p.Exe, f)
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
