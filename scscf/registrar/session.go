package registrar

import (
	"context"
	"errors"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/ifc"
)

// ErrUserUnknown is UnregisteredIFCs' error for an identity the HSS does not know.
var ErrUserUnknown = errors.New("registrar: public identity unknown to the HSS")

// IFCs returns the initial filter criteria of the registered public identity impu (any of
// its implicit set), and whether it is registered here.
func (r *Registrar) IFCs(impu string) ([]ifc.InitialFilterCriteria, bool) {
	reg := r.lookup(impu)
	if reg == nil {
		return nil, false
	}
	return serviceProfile(r.Profile(impu), impu), true
}

// UnregisteredIFCs downloads the profile of an identity that is not registered
// (SAR UNREGISTERED_USER, TS 29.228 6.1.2, TS 24.229 5.4.3.3 step 1) and returns its iFCs, for
// the services a terminating request to it gets (voicemail).
func (r *Registrar) UnregisteredIFCs(ctx context.Context, impu string) ([]ifc.InitialFilterCriteria, error) {
	data, err := r.sar(ctx, "", impu, cx.ServerAssignmentTypeUnregisteredUser, false)
	var dr *diameterResult
	if errors.As(err, &dr) && dr.experimental && dr.code == cx.DiameterErrorUserUnknown {
		return nil, ErrUserUnknown
	}
	if err != nil {
		return nil, err
	}
	if data == "" {
		return nil, nil
	}
	sub, err := ifc.ParseSubscription([]byte(data))
	if err != nil {
		return nil, err
	}
	return serviceProfile(sub, impu), nil
}
