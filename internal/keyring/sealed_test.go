package keyring_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/herd-health/herd/internal/keyring"
)

// A sealed secret opens only under its own row's identity and KEK.
func TestSealerBindsTheRow(t *testing.T) {
	kek := make([]byte, 32)
	rand.Read(kek)
	s := keyring.Sealer{KEK: kek}
	v := []byte("herd_whsec_0123456789")
	sealed, err := s.Seal("relying_party:https://bank.example", v)
	if err != nil {
		t.Fatal(err)
	}
	if !keyring.Sealed(sealed) || bytes.Contains(sealed, v) {
		t.Fatalf("sealed value %q", sealed)
	}
	if got, err := s.Open("relying_party:https://bank.example", sealed); err != nil || !bytes.Equal(got, v) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("relying_party:https://evil.example", sealed); !errors.Is(err, keyring.ErrWrongKEK) {
		t.Errorf("opened under another row: %v", err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	if _, err := (keyring.Sealer{KEK: other}).Open("relying_party:https://bank.example", sealed); !errors.Is(err, keyring.ErrWrongKEK) {
		t.Errorf("opened with another KEK: %v", err)
	}
	if _, err := (keyring.Sealer{}).Open("relying_party:https://bank.example", sealed); !errors.Is(err, keyring.ErrKEKRequired) {
		t.Errorf("opened without a KEK: %v", err)
	}
	// A value stored in clear before the KEK reads as it is.
	if got, err := s.Open("secret:x", []byte("clear")); err != nil || string(got) != "clear" {
		t.Errorf("clear value: %q, %v", got, err)
	}
}
