package source

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SnapshotVersion is the snapshot format this package reads and writes.
const SnapshotVersion = 1

// Snapshot is a recorded system: everything the checks read, in the JSON
// format of herd's design (version 1).
type Snapshot struct {
	Version     int                      `json:"version"`
	OS          string                   `json:"os"`
	CollectedAt time.Time                `json:"collected_at"`
	User        string                   `json:"user"`
	Home        string                   `json:"home,omitempty"`
	Files       map[string]FileEntry     `json:"files"`
	Dirs        map[string]DirEntry      `json:"dirs"`
	Commands    []CommandEntry           `json:"commands"`
	WMI         map[string]WMIEntry      `json:"wmi,omitempty"`
	Registry    map[string]RegistryEntry `json:"registry,omitempty"`
	Processes   []Process                `json:"processes"`
	Connections []Connection             `json:"connections"`
	Hashes      map[string]string        `json:"hashes,omitempty"`
	Errors      map[string]string        `json:"errors,omitempty"`
}

// FileEntry is a file's text, its bytes when they are not UTF-8, or the
// error reading it gave. In JSON: a string, {"base64": …} or {"error": …}.
// Head marks an entry holding only the first bytes of a longer file
// (written as {"base64": …, "head": true}): it answers ReadFileHead, and
// ReadFile of it fails with ErrHeadOnly. Filtered marks an entry holding
// only the stanzas a check kept from a long file (written as
// {"stanzas": "…"}, see Source.ReadStanzas): it answers ReadStanzas, and
// ReadFile or ReadFileHead of it fails with ErrFiltered.
type FileEntry struct {
	Data     []byte
	Error    string
	Head     bool
	Filtered bool
}

// MarshalJSON writes text as a string and anything else as base64.
func (f FileEntry) MarshalJSON() ([]byte, error) {
	switch {
	case f.Error != "":
		return json.Marshal(map[string]string{"error": f.Error})
	case f.Filtered:
		return json.Marshal(map[string]string{"stanzas": string(f.Data)})
	case f.Head:
		return json.Marshal(struct {
			Base64 string `json:"base64"`
			Head   bool   `json:"head"`
		}{base64.StdEncoding.EncodeToString(f.Data), true})
	case utf8.Valid(f.Data) && !strings.ContainsRune(string(f.Data), 0):
		return json.Marshal(string(f.Data))
	default:
		return json.Marshal(map[string]string{"base64": base64.StdEncoding.EncodeToString(f.Data)})
	}
}

// UnmarshalJSON reads the three forms.
func (f *FileEntry) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = FileEntry{Data: []byte(s)}
		return nil
	}
	var m struct {
		Base64  *string `json:"base64"`
		Error   *string `json:"error"`
		Head    bool    `json:"head"`
		Stanzas *string `json:"stanzas"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("file entry must be a string, {\"base64\"} or {\"error\"}: %w", err)
	}
	switch {
	case m.Error != nil:
		*f = FileEntry{Error: *m.Error}
	case m.Stanzas != nil:
		*f = FileEntry{Data: []byte(*m.Stanzas), Filtered: true}
	case m.Base64 != nil:
		d, err := base64.StdEncoding.DecodeString(*m.Base64)
		if err != nil {
			return fmt.Errorf("file entry: bad base64: %w", err)
		}
		*f = FileEntry{Data: d, Head: m.Head}
	default:
		return errors.New(`file entry object needs "base64", "stanzas" or "error"`)
	}
	return nil
}

// DirEntry is a directory listing or the error reading it gave.
type DirEntry struct {
	Names []string
	Error string
}

// MarshalJSON writes a list, or {"error": …}.
func (d DirEntry) MarshalJSON() ([]byte, error) {
	if d.Error != "" {
		return json.Marshal(map[string]string{"error": d.Error})
	}
	if d.Names == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(d.Names)
}

// UnmarshalJSON reads both forms.
func (d *DirEntry) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err == nil {
		*d = DirEntry{Names: names}
		return nil
	}
	var m struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Error == "" {
		return errors.New(`dir entry must be a list of names or {"error"}`)
	}
	*d = DirEntry{Error: m.Error}
	return nil
}

// CommandEntry is one command run and what it gave.
type CommandEntry struct {
	Argv   []string `json:"argv"`
	Stdout string   `json:"stdout,omitempty"`
	Stderr string   `json:"stderr,omitempty"`
	Exit   int      `json:"exit"`
	Error  string   `json:"error,omitempty"`
}

// WMIEntry is the instances of one WMI class, or the error listing them gave.
type WMIEntry struct {
	Instances []map[string]any
	Error     string
}

// MarshalJSON writes a list, or {"error": …}.
func (w WMIEntry) MarshalJSON() ([]byte, error) {
	if w.Error != "" {
		return json.Marshal(map[string]string{"error": w.Error})
	}
	if w.Instances == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(w.Instances)
}

// UnmarshalJSON reads both forms.
func (w *WMIEntry) UnmarshalJSON(b []byte) error {
	var inst []map[string]any
	if err := json.Unmarshal(b, &inst); err == nil {
		*w = WMIEntry{Instances: inst}
		return nil
	}
	var m struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Error == "" {
		return errors.New(`wmi entry must be a list of instances or {"error"}`)
	}
	*w = WMIEntry{Error: m.Error}
	return nil
}

// RegistryEntry is one key's values. A key that does not exist is absent
// from the snapshot; one that could not be read has Error set, written as
// {"error": …} in JSON (a value named "error" is not possible in that form).
type RegistryEntry struct {
	Values map[string]RegValue
	Error  string
}

// MarshalJSON writes the values, or {"error": …}.
func (r RegistryEntry) MarshalJSON() ([]byte, error) {
	if r.Error != "" {
		return json.Marshal(map[string]string{"error": r.Error})
	}
	if r.Values == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(r.Values)
}

// UnmarshalJSON reads both forms.
func (r *RegistryEntry) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("registry entry must be an object: %w", err)
	}
	if e, ok := raw["error"]; ok && len(raw) == 1 {
		var s string
		if json.Unmarshal(e, &s) == nil {
			*r = RegistryEntry{Error: s}
			return nil
		}
	}
	vals := make(map[string]RegValue, len(raw))
	for k, v := range raw {
		var rv RegValue
		if err := json.Unmarshal(v, &rv); err != nil {
			return fmt.Errorf("registry value %q: %w", k, err)
		}
		rv.Value = normalizeRegValue(rv.Type, rv.Value)
		vals[k] = rv
	}
	*r = RegistryEntry{Values: vals}
	return nil
}

// normalizeRegValue turns JSON's float64 and []any into the Go types
// RegValue documents.
func normalizeRegValue(typ string, v any) any {
	switch typ {
	case "REG_DWORD", "REG_QWORD":
		switch n := v.(type) {
		case float64:
			if n >= 0 {
				return uint64(n)
			}
		case string:
			var u uint64
			if _, err := fmt.Sscan(n, &u); err == nil {
				return u
			}
		}
	case "REG_MULTI_SZ":
		if l, ok := v.([]any); ok {
			out := make([]string, 0, len(l))
			for _, s := range l {
				if str, ok := s.(string); ok {
					out = append(out, str)
				}
			}
			return out
		}
	case "REG_BINARY":
		if s, ok := v.(string); ok {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				return b
			}
		}
	}
	return v
}

// ReadSnapshot parses a snapshot and checks its version.
func ReadSnapshot(r io.Reader) (*Snapshot, error) {
	dec := json.NewDecoder(r)
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if s.Version != SnapshotVersion {
		return nil, fmt.Errorf("snapshot: format version %d is not supported (want %d)", s.Version, SnapshotVersion)
	}
	switch s.OS {
	case "linux", "windows", "darwin":
	case "":
		return nil, errors.New(`snapshot: "os" is missing`)
	default:
		return nil, fmt.Errorf(`snapshot: "os" is %q; only linux, windows and darwin are supported`, s.OS)
	}
	if s.CollectedAt.IsZero() {
		return nil, errors.New(`snapshot: "collected_at" is missing`)
	}
	if y := s.CollectedAt.Year(); y < 2000 {
		return nil, fmt.Errorf(`snapshot: "collected_at" is %s, which is no time a snapshot was taken`, s.CollectedAt.Format(time.RFC3339))
	}
	for i, c := range s.Commands {
		if len(c.Argv) == 0 || c.Argv[0] == "" {
			return nil, fmt.Errorf(`snapshot: commands[%d] has no "argv"`, i)
		}
	}
	return &s, nil
}

// LoadSnapshot reads a snapshot file.
func LoadSnapshot(name string) (*Snapshot, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadSnapshot(f)
}

// Write writes s as indented JSON.
func (s *Snapshot) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(s)
}

// NewSnapshot makes an empty snapshot for an OS at a time.
func NewSnapshot(goos string, at time.Time, user, home string) *Snapshot {
	return &Snapshot{
		Version:     SnapshotVersion,
		OS:          goos,
		CollectedAt: at.UTC(),
		User:        user,
		Home:        home,
		Files:       map[string]FileEntry{},
		Dirs:        map[string]DirEntry{},
	}
}

// Replay is a Source that answers from a snapshot and never touches the
// live system.
type Replay struct {
	snap *Snapshot
	cmds map[string]CommandEntry
}

// NewReplay makes a Source from a snapshot.
func NewReplay(s *Snapshot) *Replay {
	r := &Replay{snap: s, cmds: make(map[string]CommandEntry, len(s.Commands))}
	for _, c := range s.Commands {
		r.cmds[argvKey(c.Argv)] = c
	}
	return r
}

func argvKey(argv []string) string { return strings.Join(argv, "\x00") }

func (r *Replay) OS() string     { return r.snap.OS }
func (r *Replay) Now() time.Time { return r.snap.CollectedAt }
func (r *Replay) User() string   { return r.snap.User }
func (r *Replay) Home() string {
	if r.snap.Home != "" {
		return r.snap.Home
	}
	return defaultHome(r.snap.OS, r.snap.User)
}

func defaultHome(goos, user string) string {
	switch goos {
	case "windows":
		return `C:\Users\` + user
	case "darwin":
		return "/Users/" + user
	}
	if user == "root" {
		return "/root"
	}
	return "/home/" + user
}

// errorFrom turns a recorded error string back into an error that matches
// the io/fs sentinels where it names one.
func errorFrom(msg, what string) error {
	switch {
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "access is denied"):
		return &fs.PathError{Op: "read", Path: what, Err: fs.ErrPermission}
	case strings.Contains(msg, "no such file") || strings.Contains(msg, "not exist"):
		return &fs.PathError{Op: "read", Path: what, Err: fs.ErrNotExist}
	case msg == "not found" || strings.Contains(msg, "executable file not found"):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case strings.Contains(msg, "not supported") || strings.Contains(msg, "unsupported"):
		return fmt.Errorf("%s: %w", what, ErrUnsupported)
	}
	return fmt.Errorf("%s: %s", what, msg)
}

// ReadFile answers from the snapshot's files; an absent path does not exist.
func (r *Replay) ReadFile(name string) ([]byte, error) {
	f, ok := r.snap.Files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if f.Error != "" {
		return nil, errorFrom(f.Error, name)
	}
	if f.Head {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w (%d bytes); read it with ReadFileHead", ErrHeadOnly, len(f.Data))}
	}
	if f.Filtered {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w; read it with ReadStanzas", ErrFiltered)}
	}
	return slices.Clone(f.Data), nil
}

// ReadDir answers from the snapshot's dirs.
func (r *Replay) ReadDir(name string) ([]string, error) {
	d, ok := r.snap.Dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if d.Error != "" {
		return nil, errorFrom(d.Error, name)
	}
	return slices.Clone(d.Names), nil
}

// Run answers from the recorded commands. A command that was not recorded
// is treated as not installed, which checks turn into unknown.
func (r *Replay) Run(_ context.Context, argv ...string) (Output, error) {
	if len(argv) == 0 {
		return Output{}, errors.New("run: empty command")
	}
	c, ok := r.cmds[argvKey(argv)]
	if !ok {
		return Output{}, fmt.Errorf("%s (not in snapshot): %w", strings.Join(argv, " "), ErrNotFound)
	}
	if c.Error != "" {
		return Output{}, errorFrom(c.Error, argv[0])
	}
	return Output{Stdout: c.Stdout, Stderr: c.Stderr, Exit: c.Exit}, nil
}

// WMI answers from the recorded classes.
func (r *Replay) WMI(_ context.Context, class string) ([]map[string]any, error) {
	if r.snap.OS != "windows" {
		return nil, ErrUnsupported
	}
	w, ok := r.snap.WMI[class]
	if !ok {
		return nil, fmt.Errorf("wmi %s (not in snapshot): %w", class, ErrNotFound)
	}
	if w.Error != "" {
		return nil, errorFrom(w.Error, class)
	}
	return w.Instances, nil
}

// Registry answers from the recorded keys; an absent key does not exist.
func (r *Replay) Registry(key string) (map[string]RegValue, error) {
	if r.snap.OS != "windows" {
		return nil, ErrUnsupported
	}
	k, ok := r.snap.Registry[key]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
	}
	if k.Error != "" {
		return nil, errorFrom(k.Error, key)
	}
	return k.Values, nil
}

// Processes answers from the snapshot.
func (r *Replay) Processes(context.Context) ([]Process, error) {
	if msg, ok := r.snap.Errors["processes"]; ok {
		return nil, errorFrom(msg, "processes")
	}
	return slices.Clone(r.snap.Processes), nil
}

// Connections answers from the snapshot.
func (r *Replay) Connections(context.Context) ([]Connection, error) {
	if msg, ok := r.snap.Errors["connections"]; ok {
		return nil, errorFrom(msg, "connections")
	}
	return slices.Clone(r.snap.Connections), nil
}

// HashFile answers from the recorded hashes, then from the processes'
// executables.
func (r *Replay) HashFile(name string) (string, error) {
	if h, ok := r.snap.Hashes[name]; ok {
		return h, nil
	}
	for _, p := range r.snap.Processes {
		if p.Exe == name && p.SHA256 != "" {
			return p.SHA256, nil
		}
	}
	return "", &fs.PathError{Op: "hash", Path: name, Err: fs.ErrNotExist}
}

// Expand replaces a leading "~" in a probe path with the source's home.
func Expand(src Source, p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if src.OS() == "windows" {
			return src.Home() + strings.ReplaceAll(p[1:], "/", `\`)
		}
		return path.Join(src.Home(), p[1:])
	}
	return p
}

var _ Source = (*Replay)(nil)
