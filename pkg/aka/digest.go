package aka

import (
	"crypto/md5"
	"encoding/hex"
)

// DigestHA1 is H(A1) = MD5(username ":" realm ":" password) in lower-case hex (RFC 2617
// 3.2.2.2, algorithm MD5), the Digest-HA1 the HSS puts in SIP-Digest-Authenticate
// (TS 29.229 6.3.36) for SIP Digest subscribers.
func DigestHA1(username, realm, password string) string {
	sum := md5.Sum([]byte(username + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}
