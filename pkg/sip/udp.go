package sip

import gosip "github.com/emiago/sipgo/sip"

// maxUDPDatagram is the largest SIP message sipgo may write over UDP. sipgo refuses anything
// over 1300 bytes by default, even when the next hop chose UDP explicitly; the proxy makes the
// RFC 3261 18.1.1 choice itself (startBranch moves large requests to TCP unless the route
// names the transport), so a request sent over UDP anyway, such as one to a UE's UDP flow
// (RFC 5626), is let through and IP fragments it.
const maxUDPDatagram = 65507

func init() { gosip.UDPMTUSize = maxUDPDatagram + 200 }
