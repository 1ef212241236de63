package checks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// State is what checks remember on one device from one run to the next,
// such as when a pending update was first seen. A check keeps its values
// under keys of its own. A check given no State (Env.State is nil, as on
// a snapshot) judges only what it reads, so a snapshot evaluates the
// same anywhere.
type State interface {
	// Load reads the value kept under key into v; ok is false when there
	// is none.
	Load(key string, v any) (ok bool, err error)
	// Store keeps v under key, replacing what was there.
	Store(key string, v any) error
}

// MaxStateSize bounds a FileState: a file grown larger is not read (the
// checks start afresh) and a value that would make it larger is refused.
const MaxStateSize = 1 << 20

// ErrNoStateDir: the directory a FileState lives in does not exist (the
// agent was never enrolled on this account), so nothing is remembered.
var ErrNoStateDir = errors.New("the agent's state directory does not exist")

// FileState is a State kept in one small JSON file (an object of keys),
// written atomically with owner-only permissions. It is safe for
// concurrent use within one process. It creates no directory: in one
// that does not exist, Store fails with ErrNoStateDir.
type FileState struct {
	Path string

	mu sync.Mutex
}

// NewFileState keeps state in the file at path.
func NewFileState(path string) *FileState { return &FileState{Path: path} }

func (s *FileState) read() (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	f, err := os.Open(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return m, err
	}
	if st.Size() > MaxStateSize {
		return map[string]json.RawMessage{}, fmt.Errorf("check state %s is %d bytes, more than %d: not read", s.Path, st.Size(), MaxStateSize)
	}
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		return map[string]json.RawMessage{}, fmt.Errorf("check state %s: %w", s.Path, err)
	}
	return m, nil
}

// Load reads the value under key. A file that cannot be understood is an
// error; the next Store replaces it.
func (s *FileState) Load(key string, v any) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.read()
	if err != nil {
		return false, err
	}
	raw, ok := m[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("check state %s, %s: %w", s.Path, key, err)
	}
	return true, nil
}

// Store writes the value under key, keeping the other keys (those of a
// file that cannot be understood are dropped).
func (s *FileState) Store(key string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	m, _ := s.read()
	m[key] = raw
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if len(b) > MaxStateSize {
		return fmt.Errorf("check state %s would be %d bytes, more than %d: %s not kept", s.Path, len(b), MaxStateSize, key)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.Path), ".checks-state-*")
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoStateDir
	}
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.Path)
}

var _ State = (*FileState)(nil)
