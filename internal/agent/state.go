// Package agent is the device side of herd: it keeps the device key and
// enrollment, runs the checks, signs a Statement of Health, checks in with
// the authority on a schedule, keeps the latest certificates and hands
// them to relying parties on a loopback endpoint.
package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/protocol"
)

// Files in the agent's state directory.
const (
	keyFile   = "device.key"
	stateFile = "state.json"
	lastFile  = "last.json"
	// errorFile keeps the last check-in's failure until one succeeds.
	errorFile = "checkin-error.json"
)

// ErrNotEnrolled: the agent has no enrollment yet.
var ErrNotEnrolled = errors.New("this device is not enrolled; run: herd-agent enroll URL")

// DefaultDir is where the agent keeps its state: /var/lib/herd-agent for
// root (a system service), the user's config directory otherwise.
func DefaultDir() string {
	if d := os.Getenv("HERD_AGENT_DIR"); d != "" {
		return d
	}
	switch runtime.GOOS {
	case "windows":
		if pd := os.Getenv("ProgramData"); pd != "" && isAdmin() {
			return filepath.Join(pd, "herd-agent")
		}
	case "darwin":
		if os.Geteuid() == 0 {
			return "/Library/Application Support/herd-agent"
		}
	default:
		if os.Geteuid() == 0 {
			return "/var/lib/herd-agent"
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "herd-agent")
	}
	return ".herd-agent"
}

func isAdmin() bool { return false }

// RelyingParty is a relying party the agent gets certificates for.
type RelyingParty struct {
	Audience string `json:"audience"`
	// Origins are the web origins allowed to fetch this audience's
	// certificate from the loopback endpoint (e.g. https://pay.example).
	Origins []string `json:"origins,omitempty"`
}

// State is the agent's enrollment, kept in state.json.
type State struct {
	Authority      string             `json:"authority"`
	DeviceID       string             `json:"device_id"`
	Discovery      protocol.Discovery `json:"discovery"`
	EnrolledAt     time.Time          `json:"enrolled_at"`
	RelyingParties []RelyingParty     `json:"relying_parties"`
}

// Audiences lists the audiences the agent asks certificates for.
func (s *State) Audiences() []string {
	var out []string
	for _, rp := range s.RelyingParties {
		out = append(out, rp.Audience)
	}
	return out
}

// Trust adds or updates a relying party.
func (s *State) Trust(aud string, origins ...string) {
	for i, rp := range s.RelyingParties {
		if rp.Audience == aud {
			for _, o := range origins {
				if !slices.Contains(rp.Origins, o) {
					s.RelyingParties[i].Origins = append(s.RelyingParties[i].Origins, o)
				}
			}
			return
		}
	}
	s.RelyingParties = append(s.RelyingParties, RelyingParty{Audience: aud, Origins: origins})
}

// Untrust removes a relying party; false when it was not there.
func (s *State) Untrust(aud string) bool {
	n := len(s.RelyingParties)
	s.RelyingParties = slices.DeleteFunc(s.RelyingParties, func(rp RelyingParty) bool { return rp.Audience == aud })
	return len(s.RelyingParties) != n
}

// MaxAudience is the longest audience the authority accepts.
const MaxAudience = protocol.MaxAudience

// ValidAudience checks an audience before it is kept, by the rule the
// authority issues certificates by (protocol.ValidAudience), so that no
// audience the agent keeps makes every check-in fail.
func ValidAudience(aud string) error { return protocol.ValidAudience(aud) }

// CheckinError is the last failed check-in, kept until one succeeds.
type CheckinError struct {
	At    time.Time `json:"at"`
	Error string    `json:"error"`
}

// LoadCheckinError returns the last check-in failure, or nil when the
// last check-in succeeded.
func (s Store) LoadCheckinError() *CheckinError {
	var e CheckinError
	if s.readJSON(errorFile, &e) != nil || e.Error == "" {
		return nil
	}
	return &e
}

// noteCheckin keeps a check-in's failure, or forgets the last one when
// it succeeded.
func (s Store) noteCheckin(at time.Time, err error) {
	if err == nil {
		os.Remove(s.path(errorFile))
		return
	}
	if errors.Is(err, ErrNotEnrolled) {
		return
	}
	s.writeJSON(errorFile, CheckinError{At: at.UTC(), Error: err.Error()})
}

// StateModTime is when state.json last changed (zero when absent), so a
// running agent notices a trust or untrust.
func (s Store) StateModTime() time.Time {
	st, err := os.Stat(s.path(stateFile))
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// Last is the latest check-in, kept in last.json, so `herd-agent status`
// and the loopback endpoint work without the network.
type Last struct {
	CheckedAt time.Time                `json:"checked_at"`
	OS        string                   `json:"os"`
	Outcomes  []checks.Outcome         `json:"outcomes"`
	Response  protocol.CheckinResponse `json:"response"`
}

// Store is the agent's state directory.
type Store struct {
	Dir string
}

func (s Store) path(name string) string { return filepath.Join(s.Dir, name) }

func (s Store) ensureDir() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(s.Dir, 0o700)
}

// LoadOrCreateKey returns the device key, making one with owner-only
// permissions the first time.
func (s Store) LoadOrCreateKey() (ed25519.PrivateKey, error) {
	if k, err := s.LoadKey(); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	f, err := os.OpenFile(s.path(keyFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return priv, nil
}

// LoadKey reads the device key, refusing one others can read.
func (s Store) LoadKey() (ed25519.PrivateKey, error) {
	name := s.path(keyFile)
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v); run: chmod 600 %s", name, st.Mode().Perm(), name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s is not a PEM key", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an Ed25519 key", name)
	}
	return priv, nil
}

// LoadState reads state.json; ErrNotEnrolled when there is none.
func (s Store) LoadState() (*State, error) {
	var st State
	if err := s.readJSON(stateFile, &st); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotEnrolled
		}
		return nil, err
	}
	return &st, nil
}

// SaveState writes state.json atomically.
func (s Store) SaveState(st *State) error { return s.writeJSON(stateFile, st) }

// LoadLast reads last.json; fs.ErrNotExist before the first check-in.
func (s Store) LoadLast() (*Last, error) {
	var l Last
	if err := s.readJSON(lastFile, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// SaveLast writes last.json atomically.
func (s Store) SaveLast(l *Last) error { return s.writeJSON(lastFile, l) }

func (s Store) readJSON(name string, v any) error {
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", s.path(name), err)
	}
	return nil
}

// writeJSON writes through a temporary file and a rename, so a crash
// never leaves a half-written file.
func (s Store) writeJSON(name string, v any) error {
	if err := s.ensureDir(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.Dir, name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(f.Name(), s.path(name))
}
