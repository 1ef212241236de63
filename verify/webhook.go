package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WebhookSignatureHeader carries the signature of a webhook event the
// authority sends a relying party:
//
//	Herd-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// t is the Unix time the event was sent; each v1 is the hex HMAC-SHA256,
// keyed with the relying party's webhook secret, of t, a full stop and
// the request body exactly as received. There may be several v1 values
// (while a secret is being replaced); one matching is enough.
const WebhookSignatureHeader = "Herd-Signature"

// Errors from WebhookSignature.
var (
	ErrWebhookSignature = errors.New("webhook signature does not match")
	ErrWebhookTimestamp = errors.New("webhook timestamp outside the tolerance")
)

// WebhookSignature checks a webhook event: header is the value of the
// Herd-Signature header, body the raw request body. It rejects events
// whose timestamp is more than tolerance from now (replays); a zero
// tolerance means 5 minutes. Deliveries are at least once, so a relying
// party should also ignore an event id it has already handled.
func WebhookSignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = 5 * time.Minute
	}
	var (
		ts   string
		sigs [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: header must be t=UNIX,v1=HEX", ErrWebhookSignature)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	want := m.Sum(nil)
	match := false
	for _, s := range sigs {
		match = hmac.Equal(s, want) || match
	}
	if !match {
		return ErrWebhookSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: sent %s, now %s", ErrWebhookTimestamp, time.Unix(sec, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}
