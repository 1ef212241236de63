package store

import (
	"context"
	"time"
)

// IssuedCertificate is a health certificate the authority issued, kept so
// that the authority can revoke a device's live certificates.
type IssuedCertificate struct {
	JTI       string
	DeviceID  string
	Audience  string
	ListID    int64 // the status list holding its entry
	Index     int64 // its index in that list
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// StatusList is one token status list: a bitmap with one bit per
// certificate index, 1 for revoked.
type StatusList struct {
	ID int64
	// Size is how many indices the list holds.
	Size int64
	// Allocated is how many of them were handed out (indices 0 to
	// Allocated-1).
	Allocated int64
	// Bits holds the revoked bits, index i at bit i%8 (least significant
	// first) of byte i/8. It may be shorter than Allocated needs: missing
	// bytes are zero.
	Bits []byte
	// UpdatedAt is when a bit was last set (or the list was made).
	UpdatedAt time.Time
}

// Revoked reports whether index i is set in the list.
func (l StatusList) Revoked(i int64) bool {
	if i < 0 || i/8 >= int64(len(l.Bits)) {
		return false
	}
	return l.Bits[i/8]>>(i%8)&1 == 1
}

// StatusLists keeps the authority's status lists and the certificates
// indexed in them. Indices are never handed out twice.
type StatusLists interface {
	// ReserveStatusIndices hands out n consecutive fresh indices of one
	// list whose size is listSize (used only when a list is made), making
	// the next list when the current one has fewer than n left. It
	// returns the list id and the first index.
	ReserveStatusIndices(ctx context.Context, n int, listSize int64) (listID, first int64, err error)
	// RecordCertificates records issued certificates (with the indices
	// reserved for them) in one transaction.
	RecordCertificates(ctx context.Context, certs []IssuedCertificate) error
	// RevokeDevice sets the status bit of every certificate of the
	// device that expires after now and is not yet revoked, and returns
	// them. The bits and the certificates change in one transaction.
	RevokeDevice(ctx context.Context, deviceID, reason string, now time.Time) ([]IssuedCertificate, error)
	// StatusList returns one list; ErrNotFound when absent.
	StatusList(ctx context.Context, id int64) (StatusList, error)
	// DeleteExpiredCertificates forgets certificates that expired before
	// now (their bits stay set) and says how many.
	DeleteExpiredCertificates(ctx context.Context, now time.Time) (int64, error)
}

// SetStatusBit sets index i in bits, growing it as needed, and returns
// the bitmap.
func SetStatusBit(bits []byte, i int64) []byte {
	if need := int(i/8) + 1; len(bits) < need {
		bits = append(bits, make([]byte, need-len(bits))...)
	}
	bits[i/8] |= 1 << (i % 8)
	return bits
}
