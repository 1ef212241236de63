package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// fileID: Windows gives no inode through os.FileInfo; the cache keys by
// path, size and modification time.
func fileID(os.FileInfo) (dev, ino uint64, ctime int64) { return 0, 0, 0 }

// WMI lists a class's instances through PowerShell's Get-CimInstance as
// JSON. A namespace or class that does not exist (SecurityCenter2 on
// Windows Server) gives an error matching fs.ErrNotExist.
func (l *Live) WMI(ctx context.Context, class string) ([]map[string]any, error) {
	script, err := wmiCommand(class)
	if err != nil {
		return nil, err
	}
	out, err := l.Run(ctx, "powershell", "-NoProfile", "-NonInteractive", "-Command", script)
	if err != nil {
		return nil, fmt.Errorf("wmi %s: %w", class, err)
	}
	if !out.OK() {
		msg := strings.ToLower(out.Stderr)
		switch {
		case strings.Contains(msg, "invalid namespace") || strings.Contains(msg, "invalid class") ||
			strings.Contains(msg, "0x8004100e") || strings.Contains(msg, "0x80041010"):
			return nil, &fs.PathError{Op: "wmi", Path: class, Err: fs.ErrNotExist}
		case strings.Contains(msg, "access denied") || strings.Contains(msg, "access is denied"):
			return nil, &fs.PathError{Op: "wmi", Path: class, Err: fs.ErrPermission}
		}
		first, _, _ := strings.Cut(strings.TrimSpace(out.Stderr), "\n")
		return nil, fmt.Errorf("wmi %s: exit %d: %s", class, out.Exit, strings.TrimSpace(first))
	}
	return DecodeWMIJSON(out.Stdout)
}

var regRoots = map[string]registry.Key{
	"HKLM": registry.LOCAL_MACHINE, "HKEY_LOCAL_MACHINE": registry.LOCAL_MACHINE,
	"HKCU": registry.CURRENT_USER, "HKEY_CURRENT_USER": registry.CURRENT_USER,
	"HKCR": registry.CLASSES_ROOT, "HKEY_CLASSES_ROOT": registry.CLASSES_ROOT,
	"HKU": registry.USERS, "HKEY_USERS": registry.USERS,
	"HKCC": registry.CURRENT_CONFIG, "HKEY_CURRENT_CONFIG": registry.CURRENT_CONFIG,
}

// Registry reads every value of one key, typed as RegValue documents.
func (l *Live) Registry(key string) (map[string]RegValue, error) {
	root, sub, _ := strings.Cut(key, `\`)
	rk, ok := regRoots[strings.ToUpper(root)]
	if !ok {
		return nil, fmt.Errorf("registry: %q does not start with a known root key", key)
	}
	k, err := registry.OpenKey(rk, sub, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return nil, regErr(key, err)
	}
	defer k.Close()
	names, err := k.ReadValueNames(0)
	if err != nil {
		return nil, regErr(key, err)
	}
	out := make(map[string]RegValue, len(names))
	for _, n := range names {
		_, typ, err := k.GetValue(n, nil)
		if err != nil && !errors.Is(err, registry.ErrShortBuffer) {
			continue
		}
		switch typ {
		case registry.DWORD, registry.QWORD:
			if v, _, err := k.GetIntegerValue(n); err == nil {
				out[n] = RegValue{Type: map[uint32]string{registry.DWORD: "REG_DWORD", registry.QWORD: "REG_QWORD"}[typ], Value: v}
			}
		case registry.SZ, registry.EXPAND_SZ:
			if v, _, err := k.GetStringValue(n); err == nil {
				out[n] = RegValue{Type: map[uint32]string{registry.SZ: "REG_SZ", registry.EXPAND_SZ: "REG_EXPAND_SZ"}[typ], Value: v}
			}
		case registry.MULTI_SZ:
			if v, _, err := k.GetStringsValue(n); err == nil {
				out[n] = RegValue{Type: "REG_MULTI_SZ", Value: v}
			}
		case registry.BINARY:
			if v, _, err := k.GetBinaryValue(n); err == nil {
				out[n] = RegValue{Type: "REG_BINARY", Value: v}
			}
		}
	}
	return out, nil
}

func regErr(key string, err error) error {
	switch {
	case errors.Is(err, registry.ErrNotExist) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND):
		return &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return &fs.PathError{Op: "open", Path: key, Err: fs.ErrPermission}
	}
	return fmt.Errorf("registry %s: %w", key, err)
}

// Processes lists processes from a Toolhelp snapshot; the executable's
// path is filled in where the agent may query the process.
func (l *Live) Processes(context.Context) ([]Process, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("processes: %w", err)
	}
	defer windows.CloseHandle(snap)
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	var out []Process
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		p := Process{PID: int(e.ProcessID), Name: windows.UTF16ToString(e.ExeFile[:])}
		p.Exe = processImage(e.ProcessID)
		out = append(out, p)
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return out, fmt.Errorf("processes: %w", err)
	}
	return out, nil
}

func processImage(pid uint32) string {
	if pid == 0 {
		return ""
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return ""
	}
	return windows.UTF16ToString(buf[:n])
}

// Connections parses `netstat -ano`.
func (l *Live) Connections(ctx context.Context) ([]Connection, error) {
	out, err := l.Run(ctx, "netstat", "-ano")
	if err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	if !out.OK() {
		return nil, fmt.Errorf("connections: netstat exited %d", out.Exit)
	}
	conns, perr := ParseNetstatANO(out.Stdout)
	if len(conns) == 0 && perr != nil {
		return nil, perr
	}
	return conns, nil
}
