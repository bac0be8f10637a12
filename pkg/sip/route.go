package sip

import gosip "github.com/emiago/sipgo/sip"

// OwnRoute is the top Route entry that named this proxy when the request arrived (RFC 3261
// 16.4 removed it before the chain runs): its user part and parameters tell a CSCF why the
// request came, such as the S-CSCF's "orig" Service-Route (TS 24.229 5.4.3.2) or an odi
// token, or the P-CSCF's Path entry for terminating requests.
func (r *Request) OwnRoute() (gosip.Uri, bool) {
	if len(r.ownRoutes) == 0 {
		return gosip.Uri{}, false
	}
	return r.ownRoutes[0], true
}

// InDialog reports whether the request belongs to a dialog: its To carries a tag (RFC 3261
// 12.2). Such requests follow their Route set; only initial requests are routed by a CSCF.
func (r *Request) InDialog() bool { return inDialog(r.Request) }

func inDialog(req *gosip.Request) bool {
	to := req.To()
	if to == nil {
		return false
	}
	tag, ok := to.Params.Get("tag")
	return ok && tag != ""
}
