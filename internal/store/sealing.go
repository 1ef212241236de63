package store

import "context"

// The identities secrets are sealed under: the additional data of their
// AES-GCM seal, so that a sealed value copied to another row does not
// open there.
func SecretAAD(name string) string           { return "secret:" + name }
func RelyingPartyAAD(audience string) string { return "relying_party:" + audience }

// SecretSealing replaces stored secrets by sealed copies: the named rows
// of the secrets table and every relying party's webhook secret.
type SecretSealing interface {
	// ResealSecrets calls reseal with the identity (SecretAAD,
	// RelyingPartyAAD) and value of each named secret that exists and of
	// every relying party's secret, and stores the value it returns when
	// it says changed; all in one transaction, holding the rows so that
	// two nodes starting at once do not both reseal. It returns how many
	// values it changed.
	ResealSecrets(ctx context.Context, names []string, reseal func(id string, v []byte) (nv []byte, changed bool, err error)) (int, error)
}
