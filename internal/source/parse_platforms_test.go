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
		"udp 192.0.2.10:61000 198.51.100.53:443 ESTABLISHED 1200\n"
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
