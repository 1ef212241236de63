package source

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// ParsePS reads `ps -axo pid=,comm=`: a pid, then the command, which on
// macOS is the executable's full path when it was started by path.
func ParsePS(text string) ([]Process, error) {
	var out []Process
	bad := 0
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		pidText, comm, _ := strings.Cut(line, " ")
		pid, err := strconv.Atoi(pidText)
		comm = strings.TrimSpace(comm)
		if err != nil || comm == "" {
			bad++
			continue
		}
		p := Process{PID: pid, Name: comm}
		if strings.HasPrefix(comm, "/") {
			p.Name, p.Exe = path.Base(comm), comm
		}
		out = append(out, p)
	}
	if bad > 0 {
		return out, fmt.Errorf("ps: %d unreadable lines", bad)
	}
	return out, nil
}

// ParseLsof reads `lsof -nP -iTCP -iUDP`: every TCP socket with a remote
// address, whatever its state (SYN_SENT, CLOSE_WAIT, FIN_WAIT_1…, named
// as on Linux: see the State constants), the listening ones as LISTEN,
// and every UDP socket (as LISTEN, or ESTABLISHED when it has a peer).
// lsof lists open files, so a socket no process holds any more (in
// TIME_WAIT) is not among them. Lines it cannot read are skipped and
// counted in the error.
func ParseLsof(text string) ([]Connection, error) {
	var out []Connection
	bad := 0
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if i == 0 && len(f) > 0 && f[0] == "COMMAND" || len(f) == 0 {
			continue
		}
		node := -1
		for j := 5; j < len(f); j++ {
			if f[j] == "TCP" || f[j] == "UDP" {
				node = j
				break
			}
		}
		if len(f) < 9 || node < 0 || node+1 >= len(f) {
			bad++
			continue
		}
		pid, err := strconv.Atoi(f[1])
		if err != nil {
			bad++
			continue
		}
		v6 := f[4] == "IPv6"
		name := f[node+1]
		state := ""
		if node+2 < len(f) {
			state = strings.ToUpper(strings.Trim(f[node+2], "()"))
			if s, ok := bsdStates[state]; ok {
				state = s
			}
		}
		localText, remoteText, connected := strings.Cut(name, "->")
		local, lerr := parseLsofAddr(localText, v6)
		if lerr != nil {
			bad++
			continue
		}
		c := Connection{Proto: strings.ToLower(f[node]), Local: local.String(), PID: pid}
		switch {
		case connected:
			remote, rerr := parseLsofAddr(remoteText, v6)
			if rerr != nil {
				bad++
				continue
			}
			c.State, c.Remote = state, remote.String()
			if c.Proto == "udp" || state == "" {
				c.State = StateEstablished
			}
		case state == StateListen || c.Proto == "udp":
			c.State = StateListen
		default:
			continue // bound, or closed, without a peer
		}
		out = append(out, c)
	}
	if bad > 0 {
		return out, fmt.Errorf("lsof: %d unreadable lines", bad)
	}
	return out, nil
}

func parseLsofAddr(s string, v6 bool) (netip.AddrPort, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	host, portText := strings.Trim(s[:i], "[]"), s[i+1:]
	if portText == "*" {
		portText = "0" // a socket not bound to a port yet
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
	}
	var addr netip.Addr
	if host == "*" {
		addr = netip.IPv4Unspecified()
		if v6 {
			addr = netip.IPv6Unspecified()
		}
	} else if addr, err = netip.ParseAddr(host); err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
