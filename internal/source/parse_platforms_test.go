package source

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func platformTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func connLines(cs []Connection) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s %s %s %s %d\n", c.Proto, c.Local, c.Remote, c.State, c.PID)
	}
	return b.String()
}

func TestParseNetstatANO(t *testing.T) {
	got, err := ParseNetstatANO(platformTestdata(t, "windows/netstat-ano.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := "tcp 0.0.0.0:135  LISTEN 1044\n" +
		"tcp 192.0.2.10:49712 203.0.113.5:443 ESTABLISHED 5320\n" +
		"tcp 192.0.2.10:49714 203.0.113.9:443 TIME_WAIT 0\n" +
		"tcp [::]:445  LISTEN 4\n" +
		"tcp [fe80::1%7]:139  LISTEN 4\n" +
		"udp 0.0.0.0:123  LISTEN 1300\n" +
		"udp [::1]:1900  LISTEN 4012\n"
	if g := connLines(got); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
	if _, err := ParseNetstatANO("  TCP    nonsense   0.0.0.0:0   LISTENING  1\n"); err == nil {
		t.Error("an unreadable line gave no error")
	}
}

func TestDecodeWMIJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		ok       bool
	}{
		{"one object", `{"displayName":"Windows Defender","productState":397568}`, 1, true},
		{"array", "\ufeff[{\"displayName\":\"A\"},{\"displayName\":\"B\"},null]", 2, true},
		{"nothing", "\r\n", 0, true},
		{"broken", `[{"a":`, 0, false},
		{"a string", `"x"`, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeWMIJSON(tc.in)
			if (err == nil) != tc.ok || len(got) != tc.n {
				t.Errorf("got %v, %v", got, err)
			}
		})
	}
	one, _ := DecodeWMIJSON(`{"productState":397568}`)
	if one[0]["productState"] != float64(397568) {
		t.Errorf("productState = %#v", one[0]["productState"])
	}
}

func TestWMICommand(t *testing.T) {
	cmd, err := wmiCommand("root/SecurityCenter2:AntiVirusProduct")
	if err != nil || !strings.Contains(cmd, "-Namespace 'root/SecurityCenter2' -ClassName 'AntiVirusProduct'") || !strings.Contains(cmd, "ConvertTo-Json -Depth 3") {
		t.Errorf("got %q, %v", cmd, err)
	}
	for _, bad := range []string{"AntiVirusProduct", "root/x:Class'; Remove-Item C:\\", "root:a/b", ":X", "root/:X"} {
		if _, err := wmiCommand(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParsePS(t *testing.T) {
	got, err := ParsePS(platformTestdata(t, "darwin/ps-axo-pid-comm.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d processes", len(got))
	}
	for i, want := range []Process{
		{PID: 1, Name: "launchd", Exe: "/sbin/launchd"},
		{PID: 1200, Name: "Google Chrome", Exe: "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"},
		{PID: 1533, Name: "-zsh"},
	} {
		idx := []int{0, 3, 4}[i]
		if got[idx] != want {
			t.Errorf("process %d = %+v, want %+v", idx, got[idx], want)
		}
	}
	if _, err := ParsePS("abc /bin/x\n"); err == nil {
		t.Error("a line without a pid gave no error")
	}
}

func TestParseLsof(t *testing.T) {
	got, err := ParseLsof(platformTestdata(t, "darwin/lsof-nP-iTCP-iUDP.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := "tcp [::]:22  LISTEN 1\n" +
		"tcp 0.0.0.0:22  LISTEN 1\n" +
		"udp 0.0.0.0:5353  LISTEN 300\n" +
		"tcp 192.0.2.10:49152 203.0.113.5:443 ESTABLISHED 512\n" +
		"tcp [2001:db8::1]:50000 [2001:db8::2]:443 ESTABLISHED 1200\n" +
		"tcp 192.0.2.10:50001 203.0.113.7:443 CLOSE_WAIT 1200\n" +
		"udp 192.0.2.10:61000 198.51.100.53:443 ESTABLISHED 1200\n"
	if g := connLines(got); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
}

// TestParseNetstatANOStates: sockets still opening or closing keep their
// remote address, named with Linux's state names; a BOUND socket is left
// out.
func TestParseNetstatANOStates(t *testing.T) {
	got, err := ParseNetstatANO(platformTestdata(t, "windows/netstat-ano-states.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := "tcp 0.0.0.0:445  LISTEN 4\n" +
		"tcp 192.0.2.10:49720 198.51.100.22:8080 SYN_SENT 6120\n" +
		"tcp 192.0.2.10:445 203.0.113.40:51515 SYN_RECV 4\n" +
		"tcp 192.0.2.10:49721 203.0.113.5:443 ESTABLISHED 5320\n" +
		"tcp 192.0.2.10:49722 203.0.113.6:443 CLOSE_WAIT 5320\n" +
		"tcp 192.0.2.10:49723 203.0.113.7:443 FIN_WAIT1 5320\n" +
		"tcp 192.0.2.10:49724 203.0.113.8:443 FIN_WAIT2 5320\n" +
		"tcp 192.0.2.10:49725 203.0.113.9:443 TIME_WAIT 0\n" +
		"tcp 192.0.2.10:49726 203.0.113.10:80 LAST_ACK 5320\n" +
		"tcp 192.0.2.10:49727 203.0.113.11:80 CLOSING 5320\n" +
		"tcp [2001:db8::10]:49729 [2001:db8::77]:4643 SYN_SENT 6120\n" +
		"tcp [::]:135  LISTEN 1044\n" +
		"udp 0.0.0.0:5353  LISTEN 2210\n"
	if g := connLines(got); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
	// A localised state is kept as written; a localised LISTENING has a
	// remote port of 0.
	got, err = ParseNetstatANO("  TCP    192.0.2.10:49730   198.51.100.22:8080   WARTEND   0\r\n" +
		"  TCP    0.0.0.0:135   0.0.0.0:0   ABHÖREN   1044\r\n" +
		"  TCP    192.0.2.10:49731   203.0.113.5:443   HERGESTELLT   77\r\n")
	if err != nil {
		t.Fatal(err)
	}
	want = "tcp 192.0.2.10:49730 198.51.100.22:8080 WARTEND 0\n" +
		"tcp 0.0.0.0:135  LISTEN 1044\n" +
		"tcp 192.0.2.10:49731 203.0.113.5:443 ESTABLISHED 77\n"
	if g := connLines(got); g != want {
		t.Errorf("localised: got\n%s\nwant\n%s", g, want)
	}
}

// TestParseLsofStates: connections opening or closing keep their remote
// address; a socket closed without a peer is left out.
func TestParseLsofStates(t *testing.T) {
	got, err := ParseLsof(platformTestdata(t, "darwin/lsof-states.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := "tcp 0.0.0.0:22  LISTEN 1\n" +
		"tcp 192.0.2.10:50100 198.51.100.22:8080 SYN_SENT 733\n" +
		"tcp 192.0.2.10:50101 203.0.113.5:443 ESTABLISHED 901\n" +
		"tcp 192.0.2.10:50102 203.0.113.6:443 CLOSE_WAIT 901\n" +
		"tcp 192.0.2.10:50103 203.0.113.7:443 FIN_WAIT1 901\n" +
		"tcp 192.0.2.10:50104 203.0.113.8:443 FIN_WAIT2 901\n" +
		"tcp 192.0.2.10:50105 203.0.113.10:80 LAST_ACK 901\n" +
		"tcp [2001:db8::10]:50106 [2001:db8::77]:4643 SYN_SENT 901\n"
	if g := connLines(got); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
}

func FuzzParseNetstatANO(f *testing.F) {
	if b, err := os.ReadFile("testdata/windows/netstat-ano.txt"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseNetstatANO(s) })
}

func FuzzDecodeWMIJSON(f *testing.F) {
	f.Add(`[{"a":1},{"b":"x"}]`)
	f.Add(`{"a":null}`)
	f.Fuzz(func(t *testing.T, s string) { _, _ = DecodeWMIJSON(s) })
}

func FuzzParsePS(f *testing.F) {
	if b, err := os.ReadFile("testdata/darwin/ps-axo-pid-comm.txt"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParsePS(s) })
}

func FuzzParseLsof(f *testing.F) {
	if b, err := os.ReadFile("testdata/darwin/lsof-nP-iTCP-iUDP.txt"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseLsof(s) })
}
