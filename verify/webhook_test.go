package verify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/verify"
)

func sign(secret, body string, t int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", t, body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestWebhookSignature(t *testing.T) {
	now := time.Unix(1767225600, 0)
	body := `{"type":"device.contraindicated"}`
	good := sign("s3cret", body, now.Unix())
	tests := []struct {
		name    string
		header  string
		body    string
		at      time.Time
		wantErr error
	}{
		{"valid", "t=1767225600,v1=" + good, body, now, nil},
		{"valid with spaces and a second signature", "t=1767225600, v1=" + sign("old", body, now.Unix()) + ", v1=" + good, body, now, nil},
		{"within tolerance", "t=1767225600,v1=" + good, body, now.Add(4 * time.Minute), nil},
		{"too old", "t=1767225600,v1=" + good, body, now.Add(6 * time.Minute), verify.ErrWebhookTimestamp},
		{"from the future", "t=1767225600,v1=" + good, body, now.Add(-6 * time.Minute), verify.ErrWebhookTimestamp},
		{"body changed", "t=1767225600,v1=" + good, body + " ", now, verify.ErrWebhookSignature},
		{"timestamp changed", "t=1767225601,v1=" + good, body, now, verify.ErrWebhookSignature},
		{"other secret", "t=1767225600,v1=" + sign("other", body, now.Unix()), body, now, verify.ErrWebhookSignature},
		{"no signature", "t=1767225600", body, now, verify.ErrWebhookSignature},
		{"no timestamp", "v1=" + good, body, now, verify.ErrWebhookSignature},
		{"empty", "", body, now, verify.ErrWebhookSignature},
		{"garbage", "t=x,v1=zz,,=,", body, now, verify.ErrWebhookSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verify.WebhookSignature([]byte("s3cret"), tc.header, []byte(tc.body), tc.at, 0)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("WebhookSignature = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func FuzzWebhookSignature(f *testing.F) {
	f.Add("t=1767225600,v1=00", []byte("{}"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if verify.WebhookSignature([]byte("k"), header, body, time.Unix(1767225600, 0), time.Minute) == nil {
			// Only a header carrying the correct signature may pass.
			if !strings.Contains(strings.ToLower(header), sign("k", string(body), 1767225600)) {
				t.Errorf("accepted forged header %q", header)
			}
		}
	})
}
