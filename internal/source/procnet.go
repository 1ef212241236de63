package source

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// procConn is a Connection with the socket inode from /proc/net.
type procConn struct {
	Connection
	inode uint64
}

var tcpStates = map[string]string{
	"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
	"05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
	"09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING", "0C": "NEW_SYN_RECV",
}

// ParseProcNet parses one of Linux's /proc/net/{tcp,tcp6,udp,udp6} tables.
// It keeps every TCP socket that has a remote address, whatever its
// state (SYN_SENT while a connection is being opened, FIN_WAIT1/2,
// CLOSE_WAIT, LAST_ACK, CLOSING and TIME_WAIT while one closes), and the
// listening ones (LISTEN, without a remote address); for UDP every bound
// socket, as LISTEN, or ESTABLISHED with its peer when connected. A TCP
// socket in a state the kernel did not name before (a newer kernel) is
// kept as "STATE_XX" with its hex code. Lines it cannot read are skipped
// and counted in the error.
func ParseProcNet(proto, text string) ([]procConn, error) {
	var out []procConn
	bad := 0
	name := strings.TrimSuffix(proto, "6")
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 10 {
			continue
		}
		local, err1 := parseHexAddr(f[1])
		remote, err2 := parseHexAddr(f[2])
		if err1 != nil || err2 != nil {
			bad++
			continue
		}
		hasRemote := remote.Port() != 0 || !remote.Addr().IsUnspecified()
		var state string
		switch {
		case name == "udp" && remote.Port() != 0:
			state = StateEstablished
		case name == "udp":
			state, hasRemote = StateListen, false
		default:
			code := strings.ToUpper(f[3])
			state = tcpStates[code]
			if state == "" {
				state = "STATE_" + code
			}
			if state == StateListen {
				hasRemote = false
			} else if !hasRemote {
				continue // bound but neither listening nor connected
			}
		}
		c := procConn{Connection: Connection{Proto: name, Local: local.String(), State: state}}
		if hasRemote {
			c.Remote = remote.String()
		}
		c.inode, _ = strconv.ParseUint(f[9], 10, 64)
		out = append(out, c)
	}
	if bad > 0 {
		return out, fmt.Errorf("%s: %d unreadable lines", proto, bad)
	}
	return out, nil
}

// parseHexAddr reads "0100007F:1F90": an address in the kernel's byte
// order (little-endian 32-bit words) and a big-endian hex port.
func parseHexAddr(s string) (netip.AddrPort, error) {
	host, port, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(host)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		w := binary.LittleEndian.Uint32(raw[i:])
		binary.BigEndian.PutUint32(raw[i:], w)
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", s)
	}
	addr, _ := netip.AddrFromSlice(raw)
	addr = addr.Unmap()
	return netip.AddrPortFrom(addr, uint16(p)), nil
}
