package aka

import (
	"crypto/hmac"
	"crypto/sha256"
)

// PLMN is a serving network identity, MCC and MNC in the 3-octet BCD form of
// TS 24.301 9.9.3.32 / TS 24.008 10.5.1.13:
//
//	octet 1: MCC digit 2 | MCC digit 1
//	octet 2: MNC digit 3 | MCC digit 3   (MNC digit 3 = 0xF for a 2-digit MNC)
//	octet 3: MNC digit 2 | MNC digit 1
//
// It is also the content of the S6a Visited-PLMN-Id AVP (TS 29.272 7.3.9).
type PLMN [3]byte

// NewPLMN encodes a 3-digit MCC and a 2- or 3-digit MNC.
func NewPLMN(mcc, mnc string) (PLMN, error) {
	if len(mcc) != 3 || !allDigits(mcc) {
		return PLMN{}, invalid("mcc", "%q, want 3 digits", mcc)
	}
	if (len(mnc) != 2 && len(mnc) != 3) || !allDigits(mnc) {
		return PLMN{}, invalid("mnc", "%q, want 2 or 3 digits", mnc)
	}
	d := func(s string, i int) byte { return s[i] - '0' }
	mnc3 := byte(0xF)
	if len(mnc) == 3 {
		mnc3 = d(mnc, 2)
	}
	return PLMN{
		d(mcc, 1)<<4 | d(mcc, 0),
		mnc3<<4 | d(mcc, 2),
		d(mnc, 1)<<4 | d(mnc, 0),
	}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// EUTRANVector is what S6a carries in an E-UTRAN-Vector AVP (TS 29.272 7.3.18). CK and IK never
// leave the HSS; they are folded into KASME.
type EUTRANVector struct {
	RAND  [16]byte
	XRES  [8]byte
	AUTN  [16]byte
	KASME [32]byte
}

// EUTRAN derives the E-UTRAN vector for serving network sn (TS 33.401 6.1.2).
func (v Vector) EUTRAN(sn PLMN) EUTRANVector {
	var sqnXorAK [6]byte
	copy(sqnXorAK[:], v.AUTN[:6])
	return EUTRANVector{RAND: v.RAND, XRES: v.XRES, AUTN: v.AUTN, KASME: KASME(v.CK, v.IK, sn, sqnXorAK)}
}

// KASME is the TS 33.401 A.2 key derivation: the TS 33.220 B.2 KDF, HMAC-SHA-256 keyed with
// CK || IK over S = FC || P0 || L0 || P1 || L1 with FC = 0x10, P0 = serving network id,
// P1 = SQN ⊕ AK (as sent in AUTN).
func KASME(ck, ik [16]byte, sn PLMN, sqnXorAK [6]byte) [32]byte {
	key := make([]byte, 0, 32)
	key = append(key, ck[:]...)
	key = append(key, ik[:]...)
	s := make([]byte, 0, 14)
	s = append(s, 0x10)
	s = append(s, sn[:]...)
	s = append(s, 0x00, 0x03)
	s = append(s, sqnXorAK[:]...)
	s = append(s, 0x00, 0x06)
	mac := hmac.New(sha256.New, key)
	mac.Write(s)
	var out [32]byte
	copy(out[:], mac.Sum(nil))
	return out
}
