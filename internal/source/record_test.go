package source

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"
)

// alice is a live system as the recorder sees it: a user named alice,
// her home, and a host name that also holds her name.
type alice struct{ *Replay }

func (alice) Hostname() (string, error) { return "alice-laptop.corp.example", nil }

const cvdHead = "ClamAV-VDB:07 Mar 2026 09-37 +0000:27571:2070123:90:X:X:raynman:1741340233"

func newAlice() alice {
	s := NewSnapshot("linux", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), "alice", "/home/alice")
	s.Files["/home/alice/.config/kscreenlockerrc"] = FileEntry{Data: []byte("[Daemon]\nTimeout=5\n# set by alice on alice-laptop\n")}
	s.Files["/etc/hostname"] = FileEntry{Data: []byte("alice-laptop\n")}
	s.Files["/etc/shadow"] = FileEntry{Error: "permission denied"}
	big := bytes.Repeat([]byte{0}, 4<<20)
	copy(big, cvdHead)
	s.Files["/var/lib/clamav/daily.cvd"] = FileEntry{Data: big}
	s.Dirs["/home/alice/.config"] = DirEntry{Names: []string{"alice-notes", "kscreenlockerrc"}}
	s.Commands = []CommandEntry{
		{Argv: []string{"loginctl", "show-user", "alice", "-p", "Sessions"}, Stdout: "Sessions=2\n"},
		{Argv: []string{"hostnamectl", "--static"}, Stdout: "alice-laptop.corp.example\n"},
		{Argv: []string{"gsettings", "get", "x", "y"}, Error: "not found"},
	}
	s.Processes = []Process{{PID: 7, Name: "alice-agent", Exe: "/home/alice/bin/alice-agent"}}
	s.Connections = []Connection{{Proto: "tcp", Local: "10.0.0.2:5000", Remote: "192.0.2.1:443", State: "ESTABLISHED", PID: 7}}
	return alice{NewReplay(s)}
}

// reads is what a check would read, written against any Source: the
// same code runs on the live (recording) side and on the replay.
type reads struct {
	Config, Hostname, Shadow []byte
	ConfigErr, ShadowErr     string
	Dir                      []string
	Sessions, Host           Output
	GSettingsErr             string
	Head                     []byte
	Procs                    []Process
}

func readAll(t *testing.T, src Source) reads {
	t.Helper()
	ctx := context.Background()
	var r reads
	var err error
	r.Config, err = src.ReadFile(Expand(src, "~/.config/kscreenlockerrc"))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	r.Hostname, _ = src.ReadFile("/etc/hostname")
	_, err = src.ReadFile("/etc/shadow")
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("/etc/shadow: %v, want a permission error", err)
	}
	r.Dir, _ = src.ReadDir(Expand(src, "~/.config"))
	r.Sessions, err = src.Run(ctx, "loginctl", "show-user", src.User(), "-p", "Sessions")
	if err != nil {
		t.Errorf("loginctl: %v", err)
	}
	r.Host, _ = src.Run(ctx, "hostnamectl", "--static")
	if _, err := src.Run(ctx, "gsettings", "get", "x", "y"); !errors.Is(err, ErrNotFound) {
		t.Errorf("gsettings: %v, want ErrNotFound", err)
	}
	r.Head, err = ReadHead(src, "/var/lib/clamav/daily.cvd", 512)
	if err != nil || len(r.Head) != 512 {
		t.Errorf("head: %d bytes, %v", len(r.Head), err)
	}
	r.Procs, _ = src.Processes(ctx)
	return r
}

func TestRecorderRedactsAndReplays(t *testing.T) {
	live := newAlice()
	rec := NewRecorder(live, RecorderOptions{})
	got := readAll(t, rec)
	// The recorder answers the check with the real values.
	if !strings.Contains(string(got.Config), "alice") {
		t.Fatal("the recorder changed what the check reads")
	}
	var buf bytes.Buffer
	if err := rec.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	js := buf.String()
	for _, secret := range []string{"alice", "alice-laptop", "corp.example"} {
		if strings.Contains(js, secret) {
			i := strings.Index(js, secret)
			t.Errorf("snapshot still holds %q: …%s…", secret, js[max(0, i-60):min(len(js), i+60)])
		}
	}
	if len(js) > 64<<10 {
		t.Errorf("snapshot is %d bytes: the 4 MiB database went in whole", len(js))
	}
	snap, err := ReadSnapshot(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if snap.User != UserPlaceholder || snap.Home != "/home/USER" {
		t.Errorf("user %q home %q", snap.User, snap.Home)
	}
	for _, key := range []string{"/home/USER/.config/kscreenlockerrc", "/etc/hostname", "/etc/shadow", "/var/lib/clamav/daily.cvd"} {
		if _, ok := snap.Files[key]; !ok {
			t.Errorf("snapshot lacks file %s; has %v", key, keys(snap.Files))
		}
	}
	rep := NewReplay(snap)
	again := readAll(t, rep)
	want := reads{
		Config:   []byte("[Daemon]\nTimeout=5\n# set by USER on HOSTNAME\n"),
		Hostname: []byte("HOSTNAME\n"),
		Dir:      []string{"USER-notes", "kscreenlockerrc"},
		Sessions: Output{Stdout: "Sessions=2\n"},
		Host:     Output{Stdout: "HOSTNAME\n"},
		Head:     got.Head,
		Procs:    []Process{{PID: 7, Name: "USER-agent", Exe: "/home/USER/bin/USER-agent"}},
	}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("replay read\n%+v\nwant\n%+v", again, want)
	}
	if !bytes.HasPrefix(again.Head, []byte(cvdHead)) {
		t.Errorf("replayed head %q", again.Head[:80])
	}
	// The database was kept as a head only: reading it whole says so.
	if _, err := rep.ReadFile("/var/lib/clamav/daily.cvd"); !errors.Is(err, ErrHeadOnly) {
		t.Errorf("ReadFile of a head: %v, want ErrHeadOnly", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// plain wraps a Source the simplest way, embedding it: it reads
// exactly what the wrapped source reads.
type plain struct{ Source }

func TestReadHead(t *testing.T) {
	s := NewSnapshot("linux", time.Now(), "USER", "")
	s.Files["/whole"] = FileEntry{Data: []byte("0123456789")}
	s.Files["/head"] = FileEntry{Data: []byte("01234"), Head: true}
	s.Files["/denied"] = FileEntry{Error: "permission denied"}
	rep := NewReplay(s)
	for _, c := range []struct {
		name    string
		src     Source
		path    string
		n       int
		want    string
		wantErr error
	}{
		{"whole file, short head", rep, "/whole", 4, "0123", nil},
		{"whole file, longer than the file", rep, "/whole", 100, "0123456789", nil},
		{"whole file, zero", rep, "/whole", 0, "", nil},
		{"head, within", rep, "/head", 5, "01234", nil},
		{"head, shorter", rep, "/head", 2, "01", nil},
		{"head, beyond what was recorded", rep, "/head", 6, "", ErrHeadOnly},
		{"missing", rep, "/missing", 4, "", fs.ErrNotExist},
		{"denied", rep, "/denied", 4, "", fs.ErrPermission},
		{"through a wrapper", plain{rep}, "/whole", 3, "012", nil},
		{"through a wrapper, missing", plain{rep}, "/missing", 3, "", fs.ErrNotExist},
		{"through a wrapper, within a recorded head", plain{rep}, "/head", 3, "012", nil},
		{"through a wrapper, beyond a recorded head", plain{rep}, "/head", 6, "", ErrHeadOnly},
		{"negative n", rep, "/whole", -1, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := ReadHead(c.src, c.path, c.n)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || string(b) != c.want {
				t.Fatalf("ReadHead = %q, %v; want %q", b, err, c.want)
			}
		})
	}
}

func TestLiveReadFileHead(t *testing.T) {
	dir := t.TempDir()
	l := NewLive()
	p := dir + "/f"
	if err := writeTestFile(p, "hello world"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    int
		want string
	}{{5, "hello"}, {11, "hello world"}, {50, "hello world"}, {0, ""}} {
		b, err := l.ReadFileHead(p, c.n)
		if err != nil || string(b) != c.want {
			t.Errorf("ReadFileHead(%d) = %q, %v; want %q", c.n, b, err, c.want)
		}
	}
	if _, err := l.ReadFileHead(dir+"/missing", 4); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestHeadEntryJSON(t *testing.T) {
	for _, c := range []struct {
		name string
		e    FileEntry
		json string
	}{
		{"head", FileEntry{Data: []byte("ab"), Head: true}, `{"base64":"YWI=","head":true}`},
		{"text", FileEntry{Data: []byte("ab")}, `"ab"`},
		{"binary", FileEntry{Data: []byte{0, 1}}, `{"base64":"AAE="}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.e.MarshalJSON()
			if err != nil || string(b) != c.json {
				t.Fatalf("MarshalJSON = %s, %v; want %s", b, err, c.json)
			}
			var back FileEntry
			if err := back.UnmarshalJSON(b); err != nil || !reflect.DeepEqual(back, c.e) {
				t.Fatalf("round trip %+v, %v", back, err)
			}
		})
	}
}

func TestRecorderHeadAndWhole(t *testing.T) {
	big := bytes.Repeat([]byte("x"), ProbeFileLimit+10)
	s := NewSnapshot("linux", time.Now(), "root", "/root")
	s.Files["/db"] = FileEntry{Data: big}
	s.Files["/small"] = FileEntry{Data: []byte("abc")}
	t.Run("head then whole keeps the whole", func(t *testing.T) {
		rec := NewRecorder(NewReplay(s), RecorderOptions{})
		rec.ReadFileHead("/small", 512)
		if e := rec.Snapshot().Files["/small"]; e.Head || string(e.Data) != "abc" {
			t.Errorf("a file shorter than the head is whole: %+v", e)
		}
		rec.ReadFileHead("/db", 512)
		rec.ReadFile("/db")
		if e := rec.Snapshot().Files["/db"]; e.Head || len(e.Data) != len(big) {
			t.Errorf("ReadFile after a head: head=%v len=%d", e.Head, len(e.Data))
		}
		rec.ReadFileHead("/db", 512)
		if e := rec.Snapshot().Files["/db"]; e.Head {
			t.Error("a head read replaced a whole file")
		}
	})
	t.Run("probe of a large file keeps a head", func(t *testing.T) {
		rec := NewRecorder(NewReplay(s), RecorderOptions{})
		rec.ReadProbe(context.Background(), File("/db"))
		e := rec.Snapshot().Files["/db"]
		if !e.Head || len(e.Data) != ProbeFileLimit {
			t.Errorf("probe of a large file: head=%v len=%d", e.Head, len(e.Data))
		}
	})
	t.Run("probe after a check's head read leaves it", func(t *testing.T) {
		rec := NewRecorder(NewReplay(s), RecorderOptions{})
		rec.ReadFileHead("/db", 512)
		rec.ReadProbe(context.Background(), File("/db"))
		if e := rec.Snapshot().Files["/db"]; !e.Head || len(e.Data) != 512 {
			t.Errorf("head=%v len=%d, want the 512-byte head", e.Head, len(e.Data))
		}
	})
}

func TestRecorderRedactsHostNames(t *testing.T) {
	const text = "vm pc1 alice-laptop alice-laptop.corp.example\n" +
		"Linux vm 6.1.0 /boot/vmlinuz-6.1.0 vm.local vmvm kvm (vm) host=vm\n" +
		"pc1: on pc1-dock pc10 epc1 alice-laptop-2 myalice-laptop\n"
	tests := []struct {
		name, host string
		want       string
	}{
		{"two letters only as a word", "vm",
			"HOSTNAME pc1 alice-laptop alice-laptop.corp.example\n" +
				"Linux HOSTNAME 6.1.0 /boot/vmlinuz-6.1.0 vm.local vmvm kvm (HOSTNAME) host=HOSTNAME\n" +
				"pc1: on pc1-dock pc10 epc1 alice-laptop-2 myalice-laptop\n"},
		{"three letters everywhere", "pc1",
			"vm HOSTNAME alice-laptop alice-laptop.corp.example\n" +
				"Linux vm 6.1.0 /boot/vmlinuz-6.1.0 vm.local vmvm kvm (vm) host=vm\n" +
				"HOSTNAME: on HOSTNAME-dock HOSTNAME0 eHOSTNAME alice-laptop-2 myalice-laptop\n"},
		{"fully qualified and short name everywhere", "alice-laptop.corp.example",
			"vm pc1 HOSTNAME HOSTNAME\n" +
				"Linux vm 6.1.0 /boot/vmlinuz-6.1.0 vm.local vmvm kvm (vm) host=vm\n" +
				"pc1: on pc1-dock pc10 epc1 HOSTNAME-2 myHOSTNAME\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot("linux", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), "root", "/root")
			s.Files["/etc/motd"] = FileEntry{Data: []byte(text)}
			rec := NewRecorder(namedHost{NewReplay(s), tc.host}, RecorderOptions{})
			if got := rec.Redact(text); got != tc.want {
				t.Errorf("Redact:\n%s\nwant\n%s", got, tc.want)
			}
			rec.ReadFile("/etc/motd")
			if got := string(rec.Snapshot().Files["/etc/motd"].Data); got != tc.want {
				t.Errorf("recorded:\n%s", got)
			}
		})
	}
}

func TestReplaceWord(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"alone", "vm", "X"},
		{"start and end", "vm and vm", "X and X"},
		{"inside words", "vmlinuz kvm vmvm", "vmlinuz kvm vmvm"},
		{"after a word match", "vmvm vm", "vmvm X"},
		{"punctuation", "(vm),vm:vm/vm", "(X),X:X/X"},
		{"names go on through - . and _", "open-vm-tools vm.local vm_x (vm).", "open-vm-tools vm.local vm_x (X)."},
		{"underscore and digits", "vm_1 vm2 2vm", "vm_1 vm2 2vm"},
		{"non-ASCII neighbours", "évm vmé 主机vm", "évm vmé 主机vm"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := replaceWord(tc.in, "vm", "X"); got != tc.want {
				t.Errorf("replaceWord(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Every person with an account is redacted as a numbered placeholder,
// the same in passwd, home paths, directory listings and file keys, and
// a replay of the snapshot reads the redacted paths consistently.
func TestRecorderRedactsHumanAccounts(t *testing.T) {
	s := NewSnapshot("linux", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), "root", "/root")
	passwd := "root:x:0:0:root:/root:/bin/bash\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" +
		"cloudsdk:x:1000:1000::/home/cloudsdk:/bin/bash\n" +
		"mia:x:1001:1001:Mia,,,:/home/mia:/bin/bash\n"
	s.Files["/etc/passwd"] = FileEntry{Data: []byte(passwd)}
	s.Dirs["/home"] = DirEntry{Names: []string{"cloudsdk", "mia"}}
	s.Files["/home/mia/.config/autostart/x.desktop"] = FileEntry{Data: []byte("Exec=/home/mia/bin/x --user mia\n")}
	s.Commands = []CommandEntry{{Argv: []string{"open-vm-tools", "--version"}, Stdout: "open-vm-tools 12 for cloudsdk\n"}}
	rec := NewRecorder(namedHost{NewReplay(s), "vm"}, RecorderOptions{})
	rec.ReadFile("/etc/passwd")
	names, _ := rec.ReadDir("/home")
	for _, n := range names {
		rec.ReadDir("/home/" + n)
		rec.ReadFile("/home/" + n + "/.config/autostart/x.desktop")
	}
	rec.Run(context.Background(), "open-vm-tools", "--version")
	got := rec.Snapshot()
	// The real-name (GECOS) field is blanked: no check reads it.
	wantPasswd := "root:x:0:0::/root:/bin/bash\n" +
		"daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n" +
		"nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n" +
		"USER1:x:1000:1000::/home/USER1:/bin/bash\n" +
		"USER2:x:1001:1001::/home/USER2:/bin/bash\n"
	if p := string(got.Files["/etc/passwd"].Data); p != wantPasswd {
		t.Errorf("passwd recorded as\n%s\nwant\n%s", p, wantPasswd)
	}
	if d := got.Dirs["/home"].Names; len(d) != 2 || d[0] != "USER1" || d[1] != "USER2" {
		t.Errorf("/home recorded as %q", d)
	}
	f, ok := got.Files["/home/USER2/.config/autostart/x.desktop"]
	if !ok || string(f.Data) != "Exec=/home/USER2/bin/x --user USER2\n" {
		t.Errorf("home file recorded as %q (present %v); files %d", f.Data, ok, len(got.Files))
	}
	if c := got.Commands[0]; c.Argv[0] != "open-vm-tools" || c.Stdout != "open-vm-tools 12 for USER1\n" {
		t.Errorf("command recorded as %+v", c)
	}
	// The replay walks the same redacted names to the same files.
	rp := NewReplay(got)
	ds, err := rp.ReadDir("/home")
	if err != nil || len(ds) != 2 {
		t.Fatalf("replay /home: %v %v", ds, err)
	}
	if b, err := rp.ReadFile("/home/" + ds[1] + "/.config/autostart/x.desktop"); err != nil || !strings.Contains(string(b), "/home/USER2/bin/x") {
		t.Errorf("replay of the home file: %q %v", b, err)
	}
}

func TestAccounts(t *testing.T) {
	for _, tc := range []struct {
		user, name string
		service    bool
	}{
		{`NT AUTHORITY\SYSTEM`, "SYSTEM", true},
		{"SYSTEM", "SYSTEM", true},
		{`NT AUTHORITY\LOCAL SERVICE`, "LOCAL SERVICE", true},
		{`NT AUTHORITY\NETWORK SERVICE`, "NETWORK SERVICE", true},
		{`CORP\PC-7$`, "PC-7$", true},
		{`PC-7\alice`, "alice", false},
		{"alice", "alice", false},
		{"root", "root", false},
		{`PC-7\Administrator`, "Administrator", false},
		{"$", "$", false},
		{"", "", false},
	} {
		if got := AccountName(tc.user); got != tc.name {
			t.Errorf("AccountName(%q) = %q, want %q", tc.user, got, tc.name)
		}
		if got := ServiceAccount(tc.user); got != tc.service {
			t.Errorf("ServiceAccount(%q) = %v, want %v", tc.user, got, tc.service)
		}
	}
}

// A template names no one read: collect leaves it to the checks, and
// runs no command named "<device>".
func TestReadProbeSkipsTemplates(t *testing.T) {
	s := NewSnapshot("linux", time.Now(), "root", "/root")
	s.Files["/etc/apt/apt.conf.d/*"] = FileEntry{Data: []byte("literal star")}
	s.Commands = []CommandEntry{{Argv: []string{"cryptsetup", "luksDump", "<device>"}, Stdout: "x"}}
	rec := NewRecorder(NewReplay(s), RecorderOptions{})
	ctx := context.Background()
	rec.ReadProbe(ctx, File("/etc/apt/apt.conf.d/*"))
	rec.ReadProbe(ctx, Command("cryptsetup", "luksDump", "<device>"))
	rec.ReadProbe(ctx, RegistryKey(`HKU\<SID>\Control Panel\Desktop`))
	if got := rec.Reads(); len(got) != 0 {
		t.Errorf("templates were read: %+v", got)
	}
	rec.ReadProbe(ctx, File("/etc/os-release"))
	if got := rec.Reads(); len(got) != 1 || got[0].Path != "/etc/os-release" {
		t.Errorf("reads = %+v, want the one plain file", got)
	}
}
