package source

import (
	"net/netip"
	"strings"
)

// Socket states as Connection.State names them on every OS: the names of
// Linux's /proc/net/tcp, which the Windows and macOS parsers map theirs
// to. A state a parser does not know (a localised netstat word) is kept
// as the OS wrote it, in upper case.
const (
	StateEstablished = "ESTABLISHED"
	StateSynSent     = "SYN_SENT"
	StateSynRecv     = "SYN_RECV"
	StateFinWait1    = "FIN_WAIT1"
	StateFinWait2    = "FIN_WAIT2"
	StateTimeWait    = "TIME_WAIT"
	StateClose       = "CLOSE"
	StateCloseWait   = "CLOSE_WAIT"
	StateLastAck     = "LAST_ACK"
	StateListen      = "LISTEN"
	StateClosing     = "CLOSING"
)

// Peer is the remote end of a socket that shows this device talking to
// it or trying to: every state with a remote address (a connection being
// opened, established, or closing, TIME_WAIT included, since a beacon
// that connects for a moment every few minutes is seen there between its
// calls, and one to a C2 that never answers stays in SYN_SENT) except
// two. A listening socket has no remote end. A half-open connection
// someone else started (SYN_RECV) is not the device talking: it only
// received a SYN, and no program on it has the connection yet, so a
// scan from a listed address accuses nobody.
func (c Connection) Peer() (netip.AddrPort, bool) {
	if c.Remote == "" || halfOpenInbound(c.State) || strings.EqualFold(c.State, StateListen) {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(c.Remote)
	if err != nil || ap.Addr().IsUnspecified() || ap.Port() == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()), true
}

// Listening reports whether the socket is a listening one (for UDP: bound
// and not connected), and its local address.
func (c Connection) Listening() (netip.AddrPort, bool) {
	if !strings.EqualFold(c.State, StateListen) {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(c.Local)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// halfOpenInbound: SYN_RECV and the names other systems and older
// snapshots give it.
func halfOpenInbound(state string) bool {
	if !strings.HasPrefix(state, "SYN_") && !strings.HasPrefix(state, "syn_") && !strings.HasPrefix(state, "NEW_") {
		return false // the common case, decided without folding case
	}
	for _, s := range [...]string{StateSynRecv, "NEW_SYN_RECV", "SYN_RECEIVED", "SYN_RCVD"} {
		if strings.EqualFold(state, s) {
			return true
		}
	}
	return false
}

// bsdStates maps the state names of netstat on Windows and of lsof on
// macOS (the BSD names) to Linux's.
var bsdStates = map[string]string{
	"LISTENING": StateListen, "LISTEN": StateListen,
	"SYN_SENT": StateSynSent, "SYN_RECEIVED": StateSynRecv, "SYN_RCVD": StateSynRecv,
	"ESTABLISHED": StateEstablished,
	"FIN_WAIT_1":  StateFinWait1, "FIN_WAIT1": StateFinWait1,
	"FIN_WAIT_2": StateFinWait2, "FIN_WAIT2": StateFinWait2,
	"CLOSE_WAIT": StateCloseWait, "CLOSING": StateClosing, "LAST_ACK": StateLastAck,
	"TIME_WAIT": StateTimeWait, "CLOSED": StateClose,
}
