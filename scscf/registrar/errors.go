package registrar

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
	"github.com/imscore/imscore/pkg/sip/header"
)

// sipError is an error the registrar decided on itself, with its SIP status.
type sipError struct {
	code   int
	reason string
	err    error
}

func (e *sipError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("%d %s", e.code, e.reason)
	}
	return fmt.Sprintf("%d %s: %v", e.code, e.reason, e.err)
}

func (e *sipError) Unwrap() error { return e.err }

func statusErr(code int, reason string, err error) error {
	return &sipError{code: code, reason: reason, err: err}
}

// diameterResult is an answer from the HSS that was not a success.
type diameterResult struct {
	cmd          string
	code         uint32
	experimental bool
}

func (e *diameterResult) Error() string {
	kind := "Result-Code"
	if e.experimental {
		kind = "Experimental-Result-Code"
	}
	return fmt.Sprintf("%s answered %s %d", e.cmd, kind, e.code)
}

// checkResult turns an answer header into nil (2xxx) or a *diameterResult.
func checkResult(cmd string, h *msg.AnswerHeader) error {
	code, exp := h.Result()
	if code >= 2000 && code < 3000 {
		return nil
	}
	return &diameterResult{cmd: cmd, code: code, experimental: exp}
}

// sipStatus is the one place that maps an error to the SIP status the UE gets.
func sipStatus(err error) (int, string) {
	var se *sipError
	if errors.As(err, &se) {
		return se.code, se.reason
	}
	var dr *diameterResult
	if errors.As(err, &dr) {
		if dr.experimental {
			switch dr.code {
			// TS 24.229 5.4.1.2.1: an unknown user or one the HSS will not authenticate gets 403.
			case cx.DiameterErrorUserUnknown, cx.DiameterErrorIdentitiesDontMatch,
				cx.DiameterErrorRoamingNotAllowed, cx.DiameterErrorAuthSchemeNotSupported,
				cx.DiameterErrorIdentityAlreadyRegistered, cx.DiameterErrorIdentityNotRegistered:
				return sip.StatusForbidden, "Forbidden"
			}
			return sip.StatusInternalServerError, "Server Internal Error"
		}
		switch dr.code {
		case msg.ResultAuthorizationRejected, msg.ResultAuthenticationRejected:
			return sip.StatusForbidden, "Forbidden"
		case msg.ResultTooBusy, msg.ResultUnableToDeliver:
			return sip.StatusServiceUnavailable, "Service Unavailable"
		}
		return sip.StatusInternalServerError, "Server Internal Error"
	}
	switch {
	case errors.Is(err, header.ErrSyntax):
		return sip.StatusBadRequest, "Bad Request"
	case errors.Is(err, peer.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return sip.StatusGatewayTimeout, "Server Time-out"
	case errors.Is(err, peer.ErrNoPeer), errors.Is(err, peer.ErrPeerDown):
		return sip.StatusServiceUnavailable, "Service Unavailable"
	}
	return sip.StatusInternalServerError, "Server Internal Error"
}
