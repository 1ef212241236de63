package apitoken

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	a, ha := New(AdminPrefix)
	b, hb := New(AdminPrefix)
	if a == b || Equal(ha, hb) {
		t.Fatal("two tokens are equal")
	}
	if !strings.HasPrefix(a, AdminPrefix) || len(a) != len(AdminPrefix)+43 {
		t.Errorf("token %q: want prefix %q and 43 base64url characters", a, AdminPrefix)
	}
	if !Equal(Hash(a), ha) || len(ha) != 32 {
		t.Errorf("Hash(token) differs from the hash New returned")
	}
	if Equal(Hash(a+"x"), ha) {
		t.Errorf("a different token has the same hash")
	}
}
