package cx

import (
	"context"
	"fmt"

	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/ifc"
)

// irs returns the implicit registration set of uri (TS 29.228 6.5.2.1.1): every public identity
// of the subscription in the same set, uri first. An identity without a set is its own set.
func irs(ims *store.IMS, uri string) []store.IMPU {
	var self *store.IMPU
	for i := range ims.IMPUs {
		if ims.IMPUs[i].URI == uri {
			self = &ims.IMPUs[i]
		}
	}
	if self == nil {
		return nil
	}
	out := []store.IMPU{*self}
	if self.IRS == "" {
		return out
	}
	for _, u := range ims.IMPUs {
		if u.URI != uri && u.IRS == self.IRS {
			out = append(out, u)
		}
	}
	return out
}

// ifcs loads the subscription's iFC set; no set is no iFC.
func (s *Server) ifcs(ctx context.Context, ims *store.IMS) ([]ifc.InitialFilterCriteria, error) {
	if ims.IFCSet == "" {
		return nil, nil
	}
	set, err := s.store.IFCSet(ctx, ims.IFCSet)
	if err != nil {
		return nil, fmt.Errorf("iFC set %s: %w", ims.IFCSet, err)
	}
	list, err := ifc.ParseIFCs([]byte(set.XML))
	if err != nil {
		return nil, fmt.Errorf("iFC set %s: %w", ims.IFCSet, err)
	}
	return list, nil
}

// userData is the Cx-User-Data XML (TS 29.228 Annex B.2.1, TS 29.229 6.3.11 User-Data) for the
// identities ids of the subscription: one service profile with those identities and the iFCs of
// the subscription's set.
func (s *Server) userData(ctx context.Context, ims *store.IMS, ids []store.IMPU) ([]byte, error) {
	list, err := s.ifcs(ctx, ims)
	if err != nil {
		return nil, err
	}
	profile := ifc.ServiceProfile{InitialFilterCriteria: list}
	for _, u := range ids {
		profile.PublicIdentities = append(profile.PublicIdentities,
			ifc.PublicIdentity{Identity: u.URI, BarringIndication: u.Barred})
	}
	sub := ifc.IMSSubscription{PrivateID: ims.IMPI, ServiceProfiles: []ifc.ServiceProfile{profile}}
	return sub.Marshal()
}

// unregisteredServices reports whether the subscription has services for the unregistered state
// (TS 29.228 6.1.4): an iFC that applies when the user is not registered.
func (s *Server) unregisteredServices(ctx context.Context, ims *store.IMS) (bool, error) {
	list, err := s.ifcs(ctx, ims)
	if err != nil {
		return false, err
	}
	for _, f := range list {
		if f.ProfilePartIndicator == nil || *f.ProfilePartIndicator == ifc.ProfilePartIndicatorUnregistered {
			return true, nil
		}
	}
	return false, nil
}
