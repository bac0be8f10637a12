// Package aka computes the AKA authentication data the HSS hands out: Milenage vectors for
// IMS (Cx MAR) and E-UTRAN (S6a AIR, with KASME), SQN management, AUTS re-synchronisation,
// and the HA1 of SIP Digest subscribers. It does no I/O; the HSS stores the SQN.
package aka

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/wmnsk/milenage"
)

// Credentials are a subscriber's Milenage parameters (TS 35.206): K, OPc and the AMF put in
// AUTN. OPc is stored rather than OP so a vector costs no extra AES.
type Credentials struct {
	K   [16]byte
	OPc [16]byte
	AMF [2]byte
}

// OPcFromOP derives OPc = OP ⊕ E_K(OP) (TS 35.206 4.1).
func OPcFromOP(k, op [16]byte) ([16]byte, error) {
	out, err := milenage.ComputeOPc(k[:], op[:])
	if err != nil {
		return [16]byte{}, fmt.Errorf("%w: OPc: %v", ErrCrypto, err)
	}
	var opc [16]byte
	copy(opc[:], out)
	return opc, nil
}

// ParseCredentials reads the hex forms the HSS API and store use: k (32 hex digits), exactly
// one of op and opc (32 hex digits; the other empty) and amf (4 hex digits).
func ParseCredentials(k, op, opc, amf string) (Credentials, error) {
	var c Credentials
	if err := decodeHex("k", k, c.K[:]); err != nil {
		return Credentials{}, err
	}
	if err := decodeHex("amf", amf, c.AMF[:]); err != nil {
		return Credentials{}, err
	}
	switch {
	case op != "" && opc != "":
		return Credentials{}, invalid("opc", "give op or opc, not both")
	case opc != "":
		if err := decodeHex("opc", opc, c.OPc[:]); err != nil {
			return Credentials{}, err
		}
	case op != "":
		var o [16]byte
		if err := decodeHex("op", op, o[:]); err != nil {
			return Credentials{}, err
		}
		derived, err := OPcFromOP(c.K, o)
		if err != nil {
			return Credentials{}, err
		}
		c.OPc = derived
	default:
		return Credentials{}, invalid("op", "op or opc is required")
	}
	return c, nil
}

func decodeHex(field, s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return invalid(field, "%d hex digits, want %d", len(s), 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return invalid(field, "not hex")
	}
	return nil
}

// Vector is one authentication vector, TS 33.102 6.3.2: AV = RAND || XRES || CK || IK || AUTN
// with AUTN = SQN ⊕ AK || AMF || MAC-A. SQN is the sequence number it was made with.
type Vector struct {
	RAND [16]byte
	XRES [8]byte
	CK   [16]byte
	IK   [16]byte
	AUTN [16]byte
	SQN  SQN
}

// Generate computes the vector for sqn and rand with f1..f5 (TS 35.206).
func Generate(c Credentials, sqn SQN, rand [16]byte) (Vector, error) {
	m := milenage.NewWithOPc(c.K[:], c.OPc[:], rand[:],
		uint64(sqn&MaxSQN), binary.BigEndian.Uint16(c.AMF[:]))
	if _, err := m.F1(); err != nil {
		return Vector{}, fmt.Errorf("%w: f1: %v", ErrCrypto, err)
	}
	res, ck, ik, _, err := m.F2345()
	if err != nil {
		return Vector{}, fmt.Errorf("%w: f2-f5: %v", ErrCrypto, err)
	}
	// GenerateAUTN reads MAC-A and AK from m, so it must follow F1 and F2345.
	autn, err := m.GenerateAUTN()
	if err != nil {
		return Vector{}, fmt.Errorf("%w: AUTN: %v", ErrCrypto, err)
	}
	v := Vector{RAND: rand, SQN: sqn & MaxSQN}
	copy(v.XRES[:], res)
	copy(v.CK[:], ck)
	copy(v.IK[:], ik)
	copy(v.AUTN[:], autn)
	return v, nil
}

// SIPAuthenticate is the SIP-Authenticate AVP for Digest-AKAv1-MD5: RAND || AUTN
// (TS 29.229 6.3.10, TS 33.203 6.1).
func (v Vector) SIPAuthenticate() []byte {
	b := make([]byte, 0, 32)
	b = append(b, v.RAND[:]...)
	return append(b, v.AUTN[:]...)
}

// SIPAuthorization is the SIP-Authorization AVP of a MAA: XRES (TS 29.229 6.3.11).
func (v Vector) SIPAuthorization() []byte { return v.XRES[:] }

// SplitResyncInfo splits RAND || AUTS, the 30 octets of S6a Re-Synchronization-Info
// (TS 29.272 7.3.15) and of the SIP-Authorization AVP in a Cx MAR for re-synchronisation
// (TS 29.229 6.3.11).
func SplitResyncInfo(info []byte) (rand, auts []byte, err error) {
	if len(info) != 30 {
		return nil, nil, invalid("resync_info", "%d octets, want 30 (RAND || AUTS)", len(info))
	}
	return info[:16], info[16:], nil
}

// VerifyAUTS recovers SQN_MS from AUTS = SQN_MS ⊕ AK* || MAC-S (TS 33.102 6.3.3): AK* is f5*
// of RAND, and MAC-S must equal f1*(SQN_MS, RAND, AMF) with the dummy AMF 0x0000 the spec
// mandates for re-synchronisation. A MAC-S that does not verify is ErrMACSMismatch.
func VerifyAUTS(c Credentials, rand, auts []byte) (SQN, error) {
	if len(rand) != 16 {
		return 0, invalid("rand", "%d octets, want 16", len(rand))
	}
	if len(auts) != 14 {
		return 0, invalid("auts", "%d octets, want 14", len(auts))
	}
	m := milenage.NewWithOPc(c.K[:], c.OPc[:], rand, 0, 0)
	akStar, err := f5Star(m)
	if err != nil {
		return 0, err
	}
	var sqnMS [6]byte
	for i := range sqnMS {
		sqnMS[i] = auts[i] ^ akStar[i]
	}
	macS, err := f1Star(m, sqnMS, [2]byte{})
	if err != nil {
		return 0, err
	}
	if subtle.ConstantTimeCompare(macS[:], auts[6:]) != 1 {
		return 0, ErrMACSMismatch
	}
	return ParseSQN(sqnMS[:])
}

// f5Star is the re-synchronisation anonymity key AK* (TS 35.206 f5*).
func f5Star(m *milenage.Milenage) ([6]byte, error) {
	out, err := m.F5Star()
	if err != nil {
		return [6]byte{}, fmt.Errorf("%w: f5*: %v", ErrCrypto, err)
	}
	var ak [6]byte
	copy(ak[:], out)
	return ak, nil
}

// f1Star is MAC-S (TS 35.206 f1*).
func f1Star(m *milenage.Milenage, sqn [6]byte, amf [2]byte) ([8]byte, error) {
	out, err := m.F1Star(sqn[:], amf[:])
	if err != nil {
		return [8]byte{}, fmt.Errorf("%w: f1*: %v", ErrCrypto, err)
	}
	var mac [8]byte
	copy(mac[:], out)
	return mac, nil
}
