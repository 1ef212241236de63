// Package infection holds the end-to-end tests of infection detection:
// a threat-intelligence feed imported by the authority, the signed
// indicator bundle on the device, the malware check against live
// connections, and what follows a contraindicated verdict.
package infection
