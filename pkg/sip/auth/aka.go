package auth

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/imscore/imscore/pkg/sip/header"
)

// AKA parameter sizes (TS 33.102 6.3.2, 6.3.3).
const (
	RANDLen = 16
	AUTNLen = 16
	AUTSLen = 14
)

// AKAVector is the part of an authentication vector the S-CSCF keeps between the 401 and the
// REGISTER that answers it (TS 33.203 6.1.1).
type AKAVector struct {
	RAND []byte
	AUTN []byte
	XRES []byte
	CK   []byte
	IK   []byte
}

// AKANonce builds the AKA nonce: base64(RAND ‖ AUTN ‖ server-data), server-data optional
// (RFC 3310 3.2).
func AKANonce(rand, autn, serverData []byte) string {
	b := make([]byte, 0, len(rand)+len(autn)+len(serverData))
	b = append(append(append(b, rand...), autn...), serverData...)
	return base64.StdEncoding.EncodeToString(b)
}

// AKAChallenge is the challenge of the 401 the S-CSCF sends to the P-CSCF: algorithm
// AKAv1-MD5, qop=auth, and IK and CK in hex, which the P-CSCF removes before the UE sees them
// (TS 24.229 5.4.1.2.1, 7.2A.1).
func AKAChallenge(realm string, v AKAVector) header.Challenge {
	return header.Challenge{
		Scheme:    header.SchemeDigest,
		Realm:     realm,
		Nonce:     AKANonce(v.RAND, v.AUTN, nil),
		Algorithm: header.AlgorithmAKAv1MD5,
		QOP:       []string{header.QOPAuth},
		IK:        hex.EncodeToString(v.IK),
		CK:        hex.EncodeToString(v.CK),
	}
}

// VerifyAKA checks AKAv1-MD5 credentials against the nonce the S-CSCF sent and the expected
// response XRES. The digest password is RES as raw bytes, not its hex form (RFC 3310 3.3), so
// a RES holding 0x00 or any other byte enters MD5 unchanged. Credentials with auts return
// ErrResync; a nonce other than the one sent returns ErrStale.
func VerifyAKA(c header.Credentials, method string, body []byte, nonce string, xres []byte) error {
	if err := checkCredentials(c, "", header.AlgorithmAKAv1MD5); err != nil {
		return err
	}
	if c.AUTS != "" {
		return ErrResync
	}
	if c.Nonce != nonce {
		return ErrStale
	}
	if len(xres) == 0 {
		return fmt.Errorf("%w: empty XRES", ErrMalformed)
	}
	return checkResponse(HA1(c.Username, c.Realm, string(xres)), c, method, body)
}

// Resync returns RAND (from the nonce the UE answered) and AUTS (RFC 3310 3.4), which the
// S-CSCF sends to the HSS in a new MAR as the SIP-Authorization AVP, RAND ‖ AUTS (TS 29.229).
// The response of such credentials is not checked: AUTS carries its own MAC-S, which the HSS
// verifies (TS 33.102 6.3.5).
func Resync(c header.Credentials) (rand, auts []byte, err error) {
	if c.AUTS == "" {
		return nil, nil, fmt.Errorf("%w: auts", ErrMissingParam)
	}
	if auts, err = decodeBase64(c.AUTS); err != nil || len(auts) != AUTSLen {
		return nil, nil, fmt.Errorf("%w: auts %q", ErrMalformed, c.AUTS)
	}
	nonce, err := decodeBase64(c.Nonce)
	if err != nil || len(nonce) < RANDLen+AUTNLen {
		return nil, nil, fmt.Errorf("%w: nonce %q", ErrMalformed, c.Nonce)
	}
	return nonce[:RANDLen], auts, nil
}

// decodeBase64 accepts padded and unpadded base64: UEs differ.
func decodeBase64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
