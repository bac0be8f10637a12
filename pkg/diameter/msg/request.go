package msg

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/dict"
)

// NewRequest builds a request (R and P bits, RFC 6733 3) for command cmd of application app
// in dict.Default(), with the AVPs of the tagged struct v (see Marshal). v must carry a
// Session-Id. For the 3GPP applications (Cx, Sh, S6a) a missing Vendor-Specific-Application-Id
// {Vendor-Id 10415, Auth-Application-Id app} and Auth-Session-State NO_STATE_MAINTAINED are
// added after the Session-Id (TS 29.229 6.1, TS 29.329 6.1, TS 29.272 7.2).
func NewRequest(cmd, app uint32, v any) (*diam.Message, error) {
	m := diam.NewMessage(cmd, diam.RequestFlag|diam.ProxiableFlag, app, 0, 0, dict.Default())
	if err := Marshal(m, v); err != nil {
		return nil, err
	}
	if findAVP(m, avp.SessionID) == nil {
		return nil, fmt.Errorf("msg: request %d app %d: %T has no Session-Id", cmd, app, v)
	}
	if is3GPP(app) {
		var defaults []*diam.AVP
		for _, code := range []uint32{avp.VendorSpecificApplicationID, avp.AuthSessionState} {
			if findAVP(m, code) == nil {
				defaults = append(defaults, threeGPPDefault(app, code))
			}
		}
		avps := make([]*diam.AVP, 0, len(m.AVP)+len(defaults))
		avps = append(append(append(avps, m.AVP[0]), defaults...), m.AVP[1:]...)
		m.AVP = avps
		m.Header.MessageLength = uint32(m.Len())
	}
	return m, nil
}

func is3GPP(app uint32) bool { return app == dict.AppCx || app == dict.AppSh || app == dict.AppS6a }

// threeGPPDefault is the value a Cx, Sh or S6a message carries when its sender did not say:
// Vendor-Specific-Application-Id {Vendor-Id 10415, Auth-Application-Id app} (RFC 6733 6.11)
// or Auth-Session-State NO_STATE_MAINTAINED. It is nil for other applications and AVPs.
func threeGPPDefault(app, code uint32) *diam.AVP {
	if !is3GPP(app) {
		return nil
	}
	switch code {
	case avp.VendorSpecificApplicationID:
		return diam.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(dict.Vendor3GPP)),
			diam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(app)),
		}})
	case avp.AuthSessionState:
		return diam.NewAVP(avp.AuthSessionState, avp.Mbit, 0, datatype.Enumerated(AuthSessionStateNoMaintained))
	}
	return nil
}

// findAVP returns m's first top-level base-protocol AVP with code, or nil.
func findAVP(m *diam.Message, code uint32) *diam.AVP {
	for _, a := range m.AVP {
		if a.Code == code && a.VendorID == 0 {
			return a
		}
	}
	return nil
}

var (
	sessionHigh = uint32(time.Now().Unix())
	sessionLow  atomic.Uint32
)

// NewSessionID returns a Session-Id for host in the RFC 6733 8.8 form
// "<DiameterIdentity>;<high 32 bits>;<low 32 bits>": the high part is the process start time
// and the low part counts up, so ids stay unique across restarts and within a process.
func NewSessionID(host string) string {
	return host + ";" + strconv.FormatUint(uint64(sessionHigh), 10) + ";" +
		strconv.FormatUint(uint64(sessionLow.Add(1)), 10)
}
