package msg

// Base protocol Result-Code values, RFC 6733 section 7.1.
const (
	// 1xxx informational (RFC 6733 7.1.1).
	ResultMultiRoundAuth uint32 = 1001

	// 2xxx success (RFC 6733 7.1.2).
	ResultSuccess        uint32 = 2001
	ResultLimitedSuccess uint32 = 2002

	// 3xxx protocol errors (RFC 6733 7.1.3); answers carry the E bit.
	ResultCommandUnsupported     uint32 = 3001
	ResultUnableToDeliver        uint32 = 3002
	ResultRealmNotServed         uint32 = 3003
	ResultTooBusy                uint32 = 3004
	ResultLoopDetected           uint32 = 3005
	ResultRedirectIndication     uint32 = 3006
	ResultApplicationUnsupported uint32 = 3007
	ResultInvalidHdrBits         uint32 = 3008
	ResultInvalidAVPBits         uint32 = 3009
	ResultUnknownPeer            uint32 = 3010

	// 4xxx transient failures (RFC 6733 7.1.4).
	ResultAuthenticationRejected uint32 = 4001
	ResultOutOfSpace             uint32 = 4002
	ResultElectionLost           uint32 = 4003

	// 5xxx permanent failures (RFC 6733 7.1.5).
	ResultAVPUnsupported        uint32 = 5001
	ResultUnknownSessionID      uint32 = 5002
	ResultAuthorizationRejected uint32 = 5003
	ResultInvalidAVPValue       uint32 = 5004
	ResultMissingAVP            uint32 = 5005
	ResultResourcesExceeded     uint32 = 5006
	ResultContradictingAVPs     uint32 = 5007
	ResultAVPNotAllowed         uint32 = 5008
	ResultAVPOccursTooManyTimes uint32 = 5009
	ResultNoCommonApplication   uint32 = 5010
	ResultUnsupportedVersion    uint32 = 5011
	ResultUnableToComply        uint32 = 5012
	ResultInvalidBitInHeader    uint32 = 5013
	ResultInvalidAVPLength      uint32 = 5014
	ResultInvalidMessageLength  uint32 = 5015
	ResultInvalidAVPBitCombo    uint32 = 5016
	ResultNoCommonSecurity      uint32 = 5017
)

// Auth-Session-State values (RFC 6733 8.11). Cx, Sh and S6a sessions are never stateful
// (TS 29.229 5.1, TS 29.329 7.1, TS 29.272 7.1): requests and answers carry NO_STATE_MAINTAINED.
const (
	AuthSessionStateMaintained   int32 = 0
	AuthSessionStateNoMaintained int32 = 1
)

// IsProtocolError reports whether code is a 3xxx protocol error, which RFC 6733 7.1.3 sends
// with the E bit in the answer header.
func IsProtocolError(code uint32) bool { return code >= 3000 && code < 4000 }
