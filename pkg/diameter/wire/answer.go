package wire

import (
	"encoding/binary"

	"github.com/imscore/imscore/pkg/diameter/msg"
)

// ErrorAnswer builds the answer to a request that could not be decoded (RFC 6733 §7.2):
//
//	<answer-message> ::= < Diameter Header: code, ERR [, PXY] >
//	                     0*1< Session-Id > { Origin-Host } { Origin-Realm } { Result-Code }
//	                     [ Failed-AVP ] *[ Proxy-Info ]
//
// The header copies the request's command, application and identifiers with R and T cleared;
// the E bit is set for protocol errors (3xxx) only, as §7.1 says. Session-Id and Proxy-Info are
// copied from the request (§6.2). failedAVP, when not nil, is one encoded AVP put inside
// Failed-AVP (§7.5).
func ErrorAnswer(req []byte, originHost, originRealm string, code uint32, failedAVP []byte) []byte {
	b := make([]byte, HeaderLen, 256)
	copy(b, req)
	b[0] = 1
	b[4] &^= FlagRequest | FlagRetransmitted | FlagError
	if msg.IsProtocolError(code) {
		b[4] |= FlagError
	}
	if sid, ok := Find(req, CodeSessionID, 0); ok {
		b = append(b, sid.Raw...)
	}
	b = AppendAVP(b, CodeOriginHost, AVPFlagMandatory, 0, []byte(originHost))
	b = AppendAVP(b, CodeOriginRealm, AVPFlagMandatory, 0, []byte(originRealm))
	b = AppendAVP(b, CodeResultCode, AVPFlagMandatory, 0, binary.BigEndian.AppendUint32(nil, code))
	if failedAVP != nil {
		b = AppendAVP(b, CodeFailedAVP, AVPFlagMandatory, 0, failedAVP)
	}
	for _, pi := range FindAll(req, CodeProxyInfo, 0) {
		b = append(b, pi.Raw...)
	}
	putUint24(b[1:4], uint32(len(b)))
	return b
}
