package keyring

import (
	"bytes"
	"context"
	"fmt"

	"github.com/herd-health/herd/internal/store"
)

// SealedSecrets names the rows of the secrets table that are sealed with
// the key-encryption key: the key of pairwise subjects, the MAC key of
// challenge nonces and the MAC key of indicator download tokens.
var SealedSecrets = []string{"pairwise-subject", "challenge-nonce", "indicators-token"}

// Sealer seals small secrets kept in the store (the SealedSecrets and
// relying parties' webhook signing secrets) with AES-256-GCM under the
// key-encryption key, the row's identity (store.SecretAAD,
// store.RelyingPartyAAD) as additional data. The zero Sealer, with no
// KEK, keeps them in clear and refuses sealed ones.
type Sealer struct{ KEK []byte }

// Sealed reports whether v is a sealed value.
func Sealed(v []byte) bool { return bytes.HasPrefix(v, sealedPrefix) }

// Seal seals v for the row id; without a KEK it returns v.
func (s Sealer) Seal(id string, v []byte) ([]byte, error) {
	return LocalKeys{KEK: s.KEK}.seal(id, v)
}

// Open opens a value Seal made for the row id. A value in clear (stored
// before its store had a KEK; sealed at the next start with one) is
// returned as it is.
func (s Sealer) Open(id string, v []byte) ([]byte, error) {
	if !Sealed(v) {
		return v, nil
	}
	if s.KEK == nil {
		return nil, fmt.Errorf("%s: %w", id, ErrKEKRequired)
	}
	out, err := open(s.KEK, id, v[len(sealedPrefix):])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	return out, nil
}

// Secret returns the named secret of st, opened, storing a sealed copy
// of make() first when there is none.
func (s Sealer) Secret(ctx context.Context, st store.Secrets, name string, make func() []byte) ([]byte, error) {
	id := store.SecretAAD(name)
	var sealErr error
	v, err := st.Secret(ctx, name, func() []byte {
		sealed, err := s.Seal(id, make())
		sealErr = err
		return sealed
	})
	if sealErr != nil {
		return nil, sealErr
	}
	if err != nil {
		return nil, err
	}
	return s.Open(id, v)
}

// SealStoredSecrets seals every SealedSecrets row and relying party
// secret that st still holds in clear (stored before the store had a
// KEK), and says how many it sealed. A store that cannot reseal, or a
// Sealer without a KEK, seals nothing.
func (s Sealer) SealStoredSecrets(ctx context.Context, st any) (int, error) {
	rs, ok := st.(store.SecretSealing)
	if !ok || s.KEK == nil {
		return 0, nil
	}
	return rs.ResealSecrets(ctx, SealedSecrets, func(id string, v []byte) ([]byte, bool, error) {
		if Sealed(v) {
			// Sealed already; it must open with this KEK.
			if _, err := s.Open(id, v); err != nil {
				return nil, false, err
			}
			return nil, false, nil
		}
		nv, err := s.Seal(id, v)
		return nv, err == nil, err
	})
}

// CheckKEK reports ErrWrongKEK when ks holds a sealed signing key that
// kek does not open: a secret sealed with it would not open either.
func CheckKEK(ctx context.Context, ks store.Keys, kek []byte) error {
	list, err := ks.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	for _, k := range list {
		if Sealed(k.Private) {
			_, err := LocalKeys{KEK: kek}.Signer(ctx, k)
			return err
		}
	}
	return nil
}
