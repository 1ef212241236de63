package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Placeholders that replace personal data in a recorded snapshot.
const (
	UserPlaceholder = "USER"
	HostPlaceholder = "HOSTNAME"
)

// Recorder is a Source that reads through another one and writes down
// everything it was asked and answered, with personal data replaced, so
// that a Replay of the result reads the same keys and gives the same
// answers.
type Recorder struct {
	inner  Source
	redact *strings.Replacer
	words  []wordPair // names replaced only as whole words
	ids    *identifiers
	probes []Probe

	mu    sync.Mutex
	snap  *Snapshot
	cmds  map[string]int
	reads []Probe // every read asked for, as asked
}

// RecorderOptions say what a Recorder keeps. The zero value keeps no
// registry values at all.
type RecorderOptions struct {
	// Probes are what the checks declare they read (Check.Probes). Of a
	// registry key only the values the probes of that key name are
	// recorded: a key no probe names values of is recorded as existing,
	// with none. The GUIDs the probes name are public constants (UEFI
	// variable namespaces) and are kept as they are.
	Probes []Probe
	// Hide lists further strings to replace wherever they occur.
	Hide []string
}

// systemAccount reports whether user is a built-in account rather than a
// person: root, Administrator, SYSTEM and the other service accounts.
func systemAccount(user string) bool {
	switch AccountName(user) {
	case "root", "Administrator":
		return true
	}
	return ServiceAccount(user)
}

// NewRecorder records what is read through inner. Every occurrence of
// the user's name, home directory and the host's names is replaced with
// a placeholder, and so is every other person's account name, every
// serial number, hardware or volume UUID, machine id and account SID (see
// identifiers); /etc/passwd keeps no real names; registry keys keep only
// the values opts.Probes name.
func NewRecorder(inner Source, opts RecorderOptions) *Recorder {
	self := inner.User()
	selfName := AccountName(self)
	user, home := self, inner.Home()
	if !systemAccount(self) {
		user, home = UserPlaceholder, defaultHome(inner.OS(), UserPlaceholder)
	}
	var pairs []string
	add := func(from, to string) {
		if len(from) >= 3 && from != to {
			pairs = append(pairs, from, to)
		}
	}
	// A host name of 3 characters or more is replaced wherever it occurs;
	// a shorter one ("vm", "pc") only as a whole word, so that it does not
	// eat into "vmlinuz" or "pcie". A one-character name is kept: as a word
	// it is an article or an option letter ("a", "-A").
	var words []wordPair
	if !systemAccount(self) {
		add(inner.Home(), home)
		add(self, UserPlaceholder) // with its domain: PC-7\alice
		add(selfName, UserPlaceholder)
		words = append(words, wordPair{self, UserPlaceholder}, wordPair{selfName, UserPlaceholder})
	}
	// The other people with an account here: each gets a numbered
	// placeholder, the same wherever the name occurs (passwd lines,
	// home paths, file contents), so a replay reads consistent paths.
	for i, name := range humanAccounts(inner) {
		if name == selfName || systemAccount(name) || len(name) < 2 {
			continue
		}
		words = append(words, wordPair{name, fmt.Sprintf("%s%d", UserPlaceholder, i+1)})
	}
	if h, err := hostname(inner); err == nil {
		names := []string{h}
		if short, _, ok := strings.Cut(h, "."); ok {
			names = append(names, short)
		}
		for _, n := range names {
			switch {
			case len(n) >= 3:
				add(n, HostPlaceholder)
			case len(n) == 2 && n != HostPlaceholder:
				words = append(words, wordPair{n, HostPlaceholder})
			}
		}
	}
	for _, s := range opts.Hide {
		add(s, "REDACTED")
	}
	// Longer strings first, so a home path is replaced before the user
	// name inside it.
	sortPairsByLength(pairs)
	return &Recorder{
		inner:  inner,
		redact: strings.NewReplacer(pairs...),
		words:  words,
		ids:    newIdentifiers(opts.Probes),
		probes: slices.Clone(opts.Probes),
		snap:   NewSnapshot(inner.OS(), inner.Now(), user, home),
		cmds:   map[string]int{},
	}
}

// wordPair is a name replaced only where it is a whole word.
type wordPair struct{ from, to string }

// humanAccounts lists the people with an account on the system inner
// reads, in a stable order: on Linux the passwd entries with a uid of
// 1000 or more (not nobody) or a home under /home, and the names under
// /home; on macOS the names under /Users; on Windows under C:\Users.
func humanAccounts(inner Source) []string {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] && !strings.HasPrefix(n, ".") && n != "Shared" && n != "Public" && n != "Default" &&
			n != "Default User" && n != "All Users" && n != "lost+found" && n != "Guest" {
			seen[n] = true
			names = append(names, n)
		}
	}
	switch inner.OS() {
	case "linux":
		if b, err := inner.ReadFile("/etc/passwd"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Split(line, ":")
				if len(f) < 7 {
					continue
				}
				uid, err := strconv.Atoi(f[2])
				if err == nil && (uid >= 1000 && uid != 65534 || strings.HasPrefix(f[5], "/home/")) {
					add(f[0])
				}
			}
		}
		if ds, err := inner.ReadDir("/home"); err == nil {
			sort.Strings(ds)
			for _, d := range ds {
				add(d)
			}
		}
	case "darwin":
		if ds, err := inner.ReadDir("/Users"); err == nil {
			sort.Strings(ds)
			for _, d := range ds {
				add(d)
			}
		}
	case "windows":
		if ds, err := inner.ReadDir(`C:\Users`); err == nil {
			sort.Strings(ds)
			for _, d := range ds {
				add(d)
			}
		}
	}
	return names
}

// hostname asks inner for the host's name when it can tell it (a test's
// fake source), and the operating system otherwise.
func hostname(inner Source) (string, error) {
	if h, ok := inner.(interface{ Hostname() (string, error) }); ok {
		return h.Hostname()
	}
	return os.Hostname()
}

func sortPairsByLength(p []string) {
	type pair struct{ from, to string }
	ps := make([]pair, 0, len(p)/2)
	for i := 0; i+1 < len(p); i += 2 {
		ps = append(ps, pair{p[i], p[i+1]})
	}
	sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].from) > len(ps[j].from) })
	for i, x := range ps {
		p[2*i], p[2*i+1] = x.from, x.to
	}
}

// Redact replaces personal data in s.
func (r *Recorder) Redact(s string) string {
	s = r.ids.replace(s)
	s = r.redact.Replace(s)
	for _, w := range r.words {
		s = replaceWord(s, w.from, w.to)
	}
	return s
}

// replaceWord replaces the occurrences of w in s that are whole words:
// neither preceded nor followed by a letter, digit or underscore.
func replaceWord(s, w, to string) string {
	if w == "" || !strings.Contains(s, w) {
		return s
	}
	var b strings.Builder
	last := 0 // s[:last] is written
	for from := 0; from <= len(s)-len(w); {
		i := strings.Index(s[from:], w)
		if i < 0 {
			break
		}
		i += from
		end := i + len(w)
		if (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end])) {
			b.WriteString(s[last:i])
			b.WriteString(to)
			last = end
		}
		from = i + 1
	}
	b.WriteString(s[last:])
	return b.String()
}

// isWordByte: letters, digits and the characters names are made of
// ("-", "." and "_"), so "vm" is not found in "open-vm-tools".
func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// logRead notes a read; r.mu is held.
func (r *Recorder) logRead(p Probe) { r.reads = append(r.reads, p) }

// Reads lists every read made through r so far, in order, as it was asked
// (before redaction), whether it found anything or not: what a check's
// probes must cover.
func (r *Recorder) Reads() []Probe {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reads)
}

// Snapshot returns what was recorded so far.
func (r *Recorder) Snapshot() *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := *r.snap
	return &s
}

func (r *Recorder) OS() string     { return r.inner.OS() }
func (r *Recorder) Now() time.Time { return r.snap.CollectedAt }
func (r *Recorder) User() string   { return r.inner.User() }
func (r *Recorder) Home() string   { return r.inner.Home() }

func errText(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, ErrNotFound):
		return "not found"
	case errors.Is(err, ErrUnsupported):
		return "not supported"
	}
	return err.Error()
}

func (r *Recorder) ReadFile(name string) ([]byte, error) {
	b, err := r.inner.ReadFile(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(File(name))
	key := r.Redact(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// absent from the snapshot means it does not exist
	case err != nil:
		r.snap.Files[key] = FileEntry{Error: errText(err)}
	case isText(b):
		r.snap.Files[key] = FileEntry{Data: []byte(r.Redact(string(scrubFile(name, b))))}
	default:
		r.snap.Files[key] = FileEntry{Data: scrubFile(name, b)}
	}
	return b, err
}

func isText(b []byte) bool {
	e := FileEntry{Data: b}
	j, _ := e.MarshalJSON()
	return len(j) > 0 && j[0] == '"'
}

func (r *Recorder) ReadDir(name string) ([]string, error) {
	names, err := r.inner.ReadDir(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(Dir(name))
	key := r.Redact(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		r.snap.Dirs[key] = DirEntry{Error: errText(err)}
	default:
		red := make([]string, len(names))
		for i, n := range names {
			red[i] = r.Redact(n)
		}
		r.snap.Dirs[key] = DirEntry{Names: red}
	}
	return names, err
}

func (r *Recorder) Run(ctx context.Context, argv ...string) (Output, error) {
	out, err := r.inner.Run(ctx, argv...)
	red := make([]string, len(argv))
	for i, a := range argv {
		red[i] = r.Redact(a)
	}
	e := CommandEntry{Argv: red, Stdout: r.Redact(out.Stdout), Stderr: r.Redact(out.Stderr), Exit: out.Exit}
	if err != nil {
		e = CommandEntry{Argv: red, Error: errText(err)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(Command(slices.Clone(argv)...))
	k := argvKey(red)
	if i, ok := r.cmds[k]; ok {
		r.snap.Commands[i] = e
	} else {
		r.cmds[k] = len(r.snap.Commands)
		r.snap.Commands = append(r.snap.Commands, e)
	}
	return out, err
}

func (r *Recorder) WMI(ctx context.Context, class string) ([]map[string]any, error) {
	inst, err := r.inner.WMI(ctx, class)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(WMIClass(class))
	if errors.Is(err, ErrUnsupported) {
		return inst, err
	}
	if r.snap.WMI == nil {
		r.snap.WMI = map[string]WMIEntry{}
	}
	if err != nil {
		r.snap.WMI[class] = WMIEntry{Error: errText(err)}
	} else {
		r.snap.WMI[class] = WMIEntry{Instances: r.redactAny(inst).([]map[string]any)}
	}
	return inst, err
}

// redactAny replaces personal data in strings inside WMI instances.
func (r *Recorder) redactAny(v any) any {
	switch x := v.(type) {
	case string:
		return r.Redact(x)
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, m := range x {
			out[i] = r.redactAny(m).(map[string]any)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = r.redactAny(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = r.redactAny(v)
		}
		return out
	}
	return v
}

func (r *Recorder) Registry(key string) (map[string]RegValue, error) {
	vals, err := r.inner.Registry(key)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(RegistryKey(key))
	if errors.Is(err, ErrUnsupported) {
		return vals, err
	}
	if r.snap.Registry == nil {
		r.snap.Registry = map[string]RegistryEntry{}
	}
	k := r.Redact(key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		r.snap.Registry[k] = RegistryEntry{Error: errText(err)}
	default:
		keep := r.registryValues(key)
		red := make(map[string]RegValue, len(vals))
		for n, v := range vals {
			if !keep[strings.ToLower(n)] {
				continue
			}
			switch x := v.Value.(type) {
			case string:
				v.Value = r.Redact(x)
			case []string:
				l := make([]string, len(x))
				for i, s := range x {
					l[i] = r.Redact(s)
				}
				v.Value = l
			}
			red[n] = v
		}
		r.snap.Registry[k] = RegistryEntry{Values: red}
	}
	return vals, err
}

// registryValues names (in lower case) the values of key that a probe
// says a check reads.
func (r *Recorder) registryValues(key string) map[string]bool {
	keep := map[string]bool{}
	read := RegistryKey(key)
	for _, p := range r.probes {
		if p.Kind == KindRegistry && p.Matches(read) {
			for _, v := range p.Values {
				keep[strings.ToLower(v)] = true
			}
		}
	}
	return keep
}

// Processes records the process list with the SHA-256 of every program
// the source can read, whether or not a check asked for it (a snapshot
// collected before the device held an indicator bundle can then be
// judged against one), so that the malware check replays.
func (r *Recorder) Processes(ctx context.Context) ([]Process, error) {
	ps, err := r.inner.Processes(ctx)
	if err == nil {
		ps = slices.Clone(ps)
		for i := range ps {
			if ps[i].SHA256 == "" && ps[i].Exe != "" {
				ps[i].SHA256, _ = HashProcess(r.inner, ps[i])
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(ProcessList())
	if err != nil {
		r.setErr("processes", err)
		return ps, err
	}
	red := make([]Process, len(ps))
	for i, p := range ps {
		p.Name, p.Comm, p.Exe = r.Redact(p.Name), r.Redact(p.Comm), r.Redact(p.Exe)
		red[i] = p
	}
	r.snap.Processes = red
	return ps, err
}

func (r *Recorder) setErr(what string, err error) {
	if r.snap.Errors == nil {
		r.snap.Errors = map[string]string{}
	}
	r.snap.Errors[what] = errText(err)
}

func (r *Recorder) Connections(ctx context.Context) ([]Connection, error) {
	cs, err := r.inner.Connections(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(ConnectionList())
	if err != nil {
		r.setErr("connections", err)
		return cs, err
	}
	r.snap.Connections = append([]Connection(nil), cs...)
	return cs, err
}

func (r *Recorder) HashFile(name string) (string, error) {
	h, err := r.inner.HashFile(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(File(name))
	if err == nil {
		if r.snap.Hashes == nil {
			r.snap.Hashes = map[string]string{}
		}
		r.snap.Hashes[r.Redact(name)] = h
	}
	return h, err
}

// ProbeFileLimit is how much of a file ReadProbe records when no check
// read it: a longer file is kept as a head (see Source.ReadFileHead).
const ProbeFileLimit = 1 << 20

// ReadProbe reads one probe through r, so it is in the snapshot even when
// no check happened to ask for it on this run. A file or command already
// recorded is not read again, so run the checks through r first: what
// they read is kept as they read it (a whole file, or only its head). A
// template (see Probe.Template) is not read: only the checks know what it
// stands for.
func (r *Recorder) ReadProbe(ctx context.Context, p Probe) {
	if p.Template() {
		return
	}
	r.mu.Lock()
	var seen bool
	switch p.Kind {
	case KindFile:
		_, seen = r.snap.Files[r.Redact(Expand(r, p.Path))]
	case KindDir:
		_, seen = r.snap.Dirs[r.Redact(Expand(r, p.Path))]
	case KindCommand:
		red := make([]string, len(p.Argv))
		for i, a := range p.Argv {
			red[i] = r.Redact(a)
		}
		_, seen = r.cmds[argvKey(red)]
	}
	r.mu.Unlock()
	if seen {
		return
	}
	switch p.Kind {
	case KindFile:
		r.ReadFileHead(Expand(r, p.Path), ProbeFileLimit)
	case KindDir:
		r.ReadDir(Expand(r, p.Path))
	case KindCommand:
		r.Run(ctx, p.Argv...)
	case KindWMI:
		r.WMI(ctx, p.Class)
	case KindRegistry:
		r.Registry(p.Key)
	case KindProcesses:
		r.Processes(ctx)
	case KindConnections:
		r.Connections(ctx)
	}
}

var _ Source = (*Recorder)(nil)
