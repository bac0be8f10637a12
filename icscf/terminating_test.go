package icscf

import (
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/peer"
)

// TestLIRStatus maps LIA outcomes to the status of the terminating request (TS 24.229 5.3.2.1).
func TestLIRStatus(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		code  int
		retry bool
	}{
		{"user unknown", &resultError{code: cx.DiameterErrorUserUnknown, experimental: true}, gosip.StatusNotFound, false},
		{"not registered, no unregistered services", &resultError{code: cx.DiameterErrorIdentityNotRegistered, experimental: true}, gosip.StatusTemporarilyUnavailable, false},
		{"HSS unreachable behind the DRA", &resultError{code: msg.ResultUnableToDeliver}, gosip.StatusTemporarilyUnavailable, true},
		{"no Diameter peer", peer.ErrNoPeer, gosip.StatusTemporarilyUnavailable, true},
		{"no S-CSCF with the capabilities", errNoSCSCF, gosip.StatusGlobalBusyEverywhere, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, retry := lirStatus(tt.err)
			if code != tt.code || retry != tt.retry {
				t.Errorf("got %d retry=%t, want %d retry=%t", code, retry, tt.code, tt.retry)
			}
		})
	}
}
