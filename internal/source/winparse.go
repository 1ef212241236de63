package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

var wmiName = regexp.MustCompile(`^[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*$`)

// wmiCommand builds the PowerShell command that lists a WMI class named
// "namespace:Class" as JSON, refusing names that are not plain WMI names
// (they are pasted into the command).
func wmiCommand(class string) (string, error) {
	ns, cls, ok := strings.Cut(class, ":")
	if !ok || !wmiName.MatchString(ns) || !wmiName.MatchString(cls) || strings.Contains(cls, "/") {
		return "", fmt.Errorf("wmi: %q is not a namespace:Class name", class)
	}
	return "[Console]::OutputEncoding = [Text.Encoding]::UTF8; " +
		"Get-CimInstance -Namespace '" + ns + "' -ClassName '" + cls + "' -ErrorAction Stop | " +
		"Select-Object * -ExcludeProperty CimClass,CimInstanceProperties,CimSystemProperties | " +
		"ConvertTo-Json -Depth 3 -Compress", nil
}

// DecodeWMIJSON reads ConvertTo-Json output of CIM instances: one object
// for one instance, an array for several, nothing for none.
func DecodeWMIJSON(s string) ([]map[string]any, error) {
	s = strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
	if s == "" {
		return []map[string]any{}, nil
	}
	if strings.HasPrefix(s, "{") {
		var one map[string]any
		if err := json.Unmarshal([]byte(s), &one); err != nil {
			return nil, fmt.Errorf("wmi: %w", err)
		}
		return []map[string]any{one}, nil
	}
	var many []map[string]any
	if err := json.Unmarshal([]byte(s), &many); err != nil {
		return nil, fmt.Errorf("wmi: %w", err)
	}
	out := many[:0]
	for _, m := range many {
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// established is "ESTABLISHED" in the languages netstat is most often
// localised to.
var established = map[string]bool{
	"ESTABLISHED": true, "HERGESTELLT": true, "ÉTABLIE": true, "ESTABLECIDA": true,
	"STABILITA": true, "ESTABELECIDA": true, "已建立": true, "確立": true,
}

// ParseNetstatANO reads Windows `netstat -ano`: every TCP socket with a
// remote address, whatever its state (SYN_SENT, SYN_RECEIVED, FIN_WAIT_1,
// CLOSE_WAIT, TIME_WAIT…, named as on Linux: see the State constants),
// the listening ones (LISTENING, or in another language a remote port of
// 0) as LISTEN, and every UDP socket as LISTEN. A BOUND socket (bound,
// neither listening nor connected) is left out. A state in another
// language is kept in upper case as netstat wrote it, except the
// translations of ESTABLISHED, which read as ESTABLISHED. Lines it
// cannot read are skipped and counted in the error.
func ParseNetstatANO(text string) ([]Connection, error) {
	var out []Connection
	bad := 0
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		proto := strings.ToLower(f[0])
		if proto != "tcp" && proto != "udp" {
			continue
		}
		pid, err := strconv.Atoi(f[len(f)-1])
		local, lerr := parseWinAddr(f[1])
		if err != nil || lerr != nil {
			bad++
			continue
		}
		c := Connection{Proto: proto, Local: local.String(), PID: pid}
		if proto == "udp" {
			c.State = StateListen
			out = append(out, c)
			continue
		}
		if len(f) < 5 {
			bad++
			continue
		}
		remote, rerr := parseWinAddr(f[2])
		if rerr != nil {
			bad++
			continue
		}
		state := strings.ToUpper(f[3])
		if established[state] {
			state = StateEstablished
		} else if s, ok := bsdStates[state]; ok {
			state = s
		}
		switch {
		case state == "BOUND":
			continue
		case state == StateListen || (remote.Port() == 0 && state != StateEstablished):
			c.State = StateListen
		default:
			c.State, c.Remote = state, remote.String()
		}
		out = append(out, c)
	}
	if bad > 0 {
		return out, fmt.Errorf("netstat: %d unreadable lines", bad)
	}
	return out, nil
}

// parseWinAddr reads "0.0.0.0:135", "[::]:135", "[fe80::1%7]:139" and
// "*:*" (any address, any port, as netstat shows unbound UDP peers).
func parseWinAddr(s string) (netip.AddrPort, error) {
	if s == "*:*" {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), 0), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, errors.New("bad address " + s)
	}
	return ap, nil
}
