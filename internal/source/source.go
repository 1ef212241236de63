// Package source is the one door through which device checks read the
// system. A Source is either the live machine or a recorded snapshot, so
// every check evaluates the same way on a captured system as on the real
// one, and support can replay what a user recorded.
package source

import (
	"context"
	"errors"
	"time"
)

// Source is what a check may read. Every method is safe for concurrent use.
// Every read a check makes is a method here, so a type wrapping a Source
// (embedding it, or passing each call on) reads exactly what the wrapped
// one reads: there are no optional methods found by type assertion that a
// wrapper could hide.
//
// Errors follow io/fs: a path that does not exist gives an error matching
// fs.ErrNotExist, an unreadable one fs.ErrPermission. A command that is not
// installed gives ErrNotFound; a command that ran and exited non-zero is
// not an error (see Output.Exit).
type Source interface {
	// OS is Go's name for the operating system: linux, windows, darwin.
	OS() string
	// Now is the moment the system is read at: the wall clock for the live
	// system, collected_at for a snapshot. Ages are measured against it.
	Now() time.Time
	// User is the name of the user the agent runs for ("USER" in a
	// snapshot), and Home that user's home directory.
	User() string
	Home() string

	ReadFile(path string) ([]byte, error)
	// ReadFileHead returns at most the first n bytes of a file (fewer when
	// the file is shorter), without reading the rest: a check that needs
	// the 512-byte header of a 16 MiB database reads only that, and a
	// Recorder keeps only that head in its snapshot.
	ReadFileHead(path string, n int) ([]byte, error)
	// ReadStanzas streams a long file of stanzas (paragraphs separated by
	// blank lines, as in APT's Packages indexes and dpkg's status file),
	// decompressed when it is gzip or LZ4, and returns in file order those
	// keep reports true for, each without its separating blank line. keep
	// must be a pure function of the stanza and of what the check read
	// before through the same source (see Recorder.ReadStanzas).
	ReadStanzas(path string, keep func(stanza string) bool) ([]string, error)
	// ReadDir lists the names in a directory, sorted.
	ReadDir(path string) ([]string, error)
	// Run runs a command without a shell. argv[0] is looked up in PATH.
	Run(ctx context.Context, argv ...string) (Output, error)
	// WMI lists the instances of a class, named "namespace:Class" with
	// forward slashes, e.g. "root/SecurityCenter2:AntiVirusProduct".
	// ErrUnsupported off Windows.
	WMI(ctx context.Context, class string) ([]map[string]any, error)
	// Registry reads the values of one key, e.g.
	// `HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU`.
	// fs.ErrNotExist when the key does not exist; ErrUnsupported off Windows.
	Registry(key string) (map[string]RegValue, error)
	// Processes lists running processes. The live system leaves SHA256
	// empty (HashProcess reads it when needed); a snapshot has it.
	Processes(ctx context.Context) ([]Process, error)
	// Connections lists network sockets: every one with a remote address,
	// whatever its state, and the listening ones (see Connection.Peer).
	Connections(ctx context.Context) ([]Connection, error)
	// HashFile returns the lowercase hex SHA-256 of a file's contents.
	HashFile(path string) (string, error)
}

// Output is what a command printed and how it exited.
type Output struct {
	Stdout string
	Stderr string
	Exit   int
}

// OK reports whether the command exited 0.
func (o Output) OK() bool { return o.Exit == 0 }

// RegValue is one typed registry value. Value is a uint64 for REG_DWORD
// and REG_QWORD, a string for REG_SZ and REG_EXPAND_SZ, a []string for
// REG_MULTI_SZ, and []byte for REG_BINARY.
type RegValue struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Process is one running process.
type Process struct {
	PID int `json:"pid"`
	// Name is the program's file name (on Linux the base name of its
	// executable when the agent may read it, else the kernel's name for
	// the process).
	Name string `json:"name"`
	// Comm is, on Linux, the kernel's name for the process when it says
	// something Name does not: a script's name (its interpreter is the
	// executable) or a name the process gave itself. A name the kernel
	// merely cut at 15 characters is not repeated.
	Comm string `json:"comm,omitempty"`
	// Exe is the executable's path, where the agent may read it.
	Exe string `json:"exe,omitempty"`
	// Deleted: the executable was removed (or replaced) after the process
	// started it; the process still runs the old file, which SHA256 is of.
	Deleted bool `json:"deleted,omitempty"`
	// SHA256 is of the program the process runs, when the source read it
	// (see HashProcess).
	SHA256 string `json:"sha256,omitempty"`
}

// Connection is one socket. Local and Remote are "host:port" as
// net.JoinHostPort writes them; Remote is empty for a listening socket.
type Connection struct {
	Proto  string `json:"proto"`
	Local  string `json:"local"`
	Remote string `json:"remote,omitempty"`
	State  string `json:"state"`
	PID    int    `json:"pid,omitempty"`
}

var (
	// ErrNotFound: the command is not installed.
	ErrNotFound = errors.New("command not found")
	// ErrUnsupported: this kind of read does not exist on this OS.
	ErrUnsupported = errors.ErrUnsupported
)

// Kind names what a probe reads.
type Kind string

const (
	KindFile        Kind = "file"
	KindDir         Kind = "dir"
	KindCommand     Kind = "command"
	KindWMI         Kind = "wmi"
	KindRegistry    Kind = "registry"
	KindProcesses   Kind = "processes"
	KindConnections Kind = "connections"
)

// Probe is one thing a check reads, listed by `herd-agent probes` and read
// ahead by `herd-agent collect`. Exactly one of Path, Argv, Class or Key is
// set, by Kind. A Path may contain "~" for the user's home directory.
//
// A read whose path, argument or key depends on what the check found
// before (a device name, a user's SID) is listed as a template: a
// placeholder in angle brackets ("cryptsetup luksDump <device>") or a "*"
// ("/etc/apt/apt.conf.d/*") stands for any text. See Matches.
type Probe struct {
	Kind  Kind
	Path  string   // file, dir
	Argv  []string // command
	Class string   // wmi
	Key   string   // registry
	// Values are the names of the registry values the check reads from
	// Key; a Recorder keeps only those. None: the check only asks whether
	// the key exists.
	Values []string
}

// File, Dir, Command, WMIClass and RegistryKey make probes.
func File(path string) Probe       { return Probe{Kind: KindFile, Path: path} }
func Dir(path string) Probe        { return Probe{Kind: KindDir, Path: path} }
func Command(argv ...string) Probe { return Probe{Kind: KindCommand, Argv: argv} }
func WMIClass(class string) Probe  { return Probe{Kind: KindWMI, Class: class} }
func RegistryKey(key string, values ...string) Probe {
	return Probe{Kind: KindRegistry, Key: key, Values: values}
}
func ProcessList() Probe    { return Probe{Kind: KindProcesses} }
func ConnectionList() Probe { return Probe{Kind: KindConnections} }
