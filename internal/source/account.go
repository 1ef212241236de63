package source

import "strings"

// AccountName is a user name without a Windows domain or machine prefix:
// `NT AUTHORITY\SYSTEM` is SYSTEM, `PC-7\alice` is alice; other names are
// returned as they are.
func AccountName(user string) string {
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		return user[i+1:]
	}
	return user
}

// ServiceAccount reports whether user is an account Windows services run
// as — SYSTEM, LOCAL SERVICE, NETWORK SERVICE, or a machine account
// (`NAME$`) — which has no desktop of its own: its HKCU is not the
// signed-in person's.
func ServiceAccount(user string) bool {
	n := AccountName(user)
	switch strings.ToUpper(n) {
	case "SYSTEM", "LOCAL SYSTEM", "LOCALSYSTEM", "LOCAL SERVICE", "LOCALSERVICE", "NETWORK SERVICE", "NETWORKSERVICE":
		return true
	}
	return len(n) > 1 && strings.HasSuffix(n, "$")
}
