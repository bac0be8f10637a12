package icscf

import (
	"context"
	"errors"
	"fmt"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
)

// errNoSCSCF: the HSS named no S-CSCF and none of ours has the capabilities it asks for.
var errNoSCSCF = errors.New("no S-CSCF can serve the user")

// resultError is a UAA that did not succeed.
type resultError struct {
	code         uint32
	experimental bool
}

func (e *resultError) Error() string {
	if e.experimental {
		return fmt.Sprintf("UAA Experimental-Result-Code %d", e.code)
	}
	return fmt.Sprintf("UAA Result-Code %d", e.code)
}

// retryAfter is the Retry-After, in seconds, of the answers sent while the HSS cannot be
// reached (RFC 3261 20.33).
const retryAfter = "30"

// sipStatus maps what went wrong with the user registration status query to the response
// the UE gets (TS 24.229 5.3.1.3): the one place where Diameter outcomes become SIP statuses.
// withRetry asks for a Retry-After header.
func sipStatus(err error) (code int, reason string, withRetry bool) {
	var re *resultError
	switch {
	case errors.As(err, &re):
		switch {
		case re.experimental && (re.code == cx.DiameterErrorUserUnknown || re.code == cx.DiameterErrorIdentitiesDontMatch ||
			re.code == cx.DiameterErrorRoamingNotAllowed || re.code == cx.DiameterErrorIdentityNotRegistered):
			// The HSS refused the user, the identity pair, the visited network or a
			// de-registration of an unregistered identity: 403.
			return gosip.StatusForbidden, "Forbidden", false
		case !re.experimental && re.code == msg.ResultAuthorizationRejected:
			return gosip.StatusForbidden, "Forbidden", false
		case !re.experimental && (re.code == msg.ResultUnableToDeliver || re.code == msg.ResultTooBusy):
			// The DRA could not reach an HSS, or it is overloaded: try again later.
			return gosip.StatusTemporarilyUnavailable, "Temporarily Unavailable", true
		}
		return gosip.StatusInternalServerError, "Server Internal Error", false
	case errors.Is(err, errNoSCSCF):
		return gosip.StatusGlobalBusyEverywhere, "Busy Everywhere", false
	case errors.Is(err, peer.ErrNoPeer), errors.Is(err, peer.ErrPeerDown), errors.Is(err, peer.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded):
		// No answer from the HSS: 480 with Retry-After.
		return gosip.StatusTemporarilyUnavailable, "Temporarily Unavailable", true
	}
	return gosip.StatusInternalServerError, "Server Internal Error", true
}
