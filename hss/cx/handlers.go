package cx

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/hss/internal/diamerr"
	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/aka"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

func result(code uint32) *msg.ExperimentalResult {
	return &msg.ExperimentalResult{VendorID: dict.Vendor3GPP, Code: code}
}

func decode(req *diam.Message, v any) error {
	if err := msg.Unmarshal(req, v); err != nil {
		return &msg.Error{Code: msg.ResultInvalidAVPValue, Err: err}
	}
	return nil
}

// UAR answers a User-Authorization-Request (TS 29.228 6.1.1.1, TS 29.229 6.1.1).
func (s *Server) UAR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var r cx.UAR
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	switch {
	case r.UserName == "":
		return nil, missing("User-Name")
	case r.PublicIdentity == "":
		return nil, missing("Public-Identity")
	case r.VisitedNetworkIdentifier == "":
		return nil, missing("Visited-Network-Identifier")
	}
	authType := cx.UserAuthorizationTypeRegistration
	if r.UserAuthorizationType != nil {
		authType = *r.UserAuthorizationType
	}
	switch authType {
	case cx.UserAuthorizationTypeRegistration, cx.UserAuthorizationTypeDeRegistration,
		cx.UserAuthorizationTypeRegistrationAndCapabilities:
	default:
		return nil, diamerr.Invalid(dict.AppCx, "User-Authorization-Type", datatype.Enumerated(authType), "unknown value")
	}
	auth, u, err := s.authorization(ctx, r.UserName, r.PublicIdentity)
	if err != nil {
		return nil, err
	}
	// Step 2: a barred identity, or a disabled subscriber, may not register (TS 29.228 6.1.1.1).
	if authType != cx.UserAuthorizationTypeDeRegistration && (u.Barred || !auth.Enabled) {
		return nil, &msg.Error{Code: msg.ResultAuthorizationRejected, Err: fmt.Errorf("IMPU %s is barred or disabled", u.URI)}
	}
	// Step 3: the visited network must be one the user may roam to.
	if !s.visitedAllowed(r.VisitedNetworkIdentifier) {
		return nil, experimental(cx.DiameterErrorRoamingNotAllowed, "visited network %q not allowed", r.VisitedNetworkIdentifier)
	}
	a := cx.UAA{}
	// Step 4: the answer depends on the type and the identity's state.
	switch {
	case authType == cx.UserAuthorizationTypeDeRegistration:
		if u.SCSCFName == "" {
			return nil, experimental(cx.DiameterErrorIdentityNotRegistered, "IMPU %s has no S-CSCF", u.URI)
		}
		a.ServerName = u.SCSCFName
	case authType == cx.UserAuthorizationTypeRegistrationAndCapabilities:
		caps, err := s.capabilities(ctx, &auth.IMS)
		if err != nil {
			return nil, err
		}
		a.ExperimentalResult, a.ServerCapabilities = result(cx.DiameterFirstRegistration), caps
	case u.State != store.StateNotRegistered && u.SCSCFName != "":
		a.ExperimentalResult, a.ServerName = result(cx.DiameterSubsequentRegistration), u.SCSCFName
	case u.SCSCFName != "":
		a.ExperimentalResult, a.ServerName = result(cx.DiameterFirstRegistration), u.SCSCFName
	default:
		caps, err := s.capabilities(ctx, &auth.IMS)
		if err != nil {
			return nil, err
		}
		a.ExperimentalResult, a.ServerCapabilities = result(cx.DiameterFirstRegistration), caps
	}
	s.debug(ctx, "UAR", r.SessionID, r.UserName, r.PublicIdentity, "cx UAR answered",
		"auth_type", int32(authType), "state", u.State, "server_name", a.ServerName)
	return a.Message(req, s.cfg.Identity)
}

func (s *Server) visitedAllowed(network string) bool {
	return network == s.cfg.Identity.Realm || slices.Contains(s.cfg.VisitedNetworks, network)
}

// capabilities is the Server-Capabilities of the subscription's capability set (TS 29.229
// 6.3.4); it is empty when none is named, and the I-CSCF then picks any S-CSCF.
// Without a capability set it returns nil: the AVP is left out (an empty grouped AVP is legal
// but Wireshark flags it) and the I-CSCF picks any S-CSCF it knows.
func (s *Server) capabilities(ctx context.Context, ims *store.IMS) (*cx.ServerCapabilities, error) {
	if ims.CapabilitySet == "" {
		return nil, nil
	}
	caps := &cx.ServerCapabilities{}
	set, err := s.store.CapabilitySet(ctx, ims.CapabilitySet)
	if err != nil {
		return nil, fmt.Errorf("capability set %s: %w", ims.CapabilitySet, err)
	}
	caps.MandatoryCapability, caps.OptionalCapability, caps.ServerName = set.Mandatory, set.Optional, set.ServerNames
	return caps, nil
}

// MAR answers a Multimedia-Auth-Request (TS 29.228 6.3, TS 29.229 6.1.7).
func (s *Server) MAR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var r cx.MAR
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	switch {
	case r.UserName == "":
		return nil, missing("User-Name")
	case r.PublicIdentity == "":
		return nil, missing("Public-Identity")
	case r.ServerName == "":
		return nil, missing("Server-Name")
	}
	// TS 29.228 6.3 steps 1-2: the identities must exist and belong together.
	info, err := s.store.AuthByIMPI(ctx, r.UserName, r.PublicIdentity)
	if err != nil {
		return nil, lookupErr(err, "IMPI "+r.UserName)
	}
	u := info.IMPU
	if u == nil {
		return nil, s.notOwn(ctx, r.UserName, r.PublicIdentity)
	}
	if !info.Enabled {
		return nil, &msg.Error{Code: msg.ResultAuthorizationRejected, Err: fmt.Errorf("subscriber %s is disabled", info.IMSI)}
	}
	if err := s.learnHost(ctx, r.ServerName, r.OriginHost); err != nil {
		return nil, err
	}
	auth := info.Auth
	item := r.SIPAuthDataItem
	scheme := item.SIPAuthenticationScheme
	if scheme == "" || scheme == cx.SchemeUnknown {
		scheme = cx.SchemeDigestAKAv1MD5
		if auth.Algorithm == store.AlgorithmDigest {
			scheme = cx.SchemeSIPDigest
		}
	}
	if (scheme == cx.SchemeDigestAKAv1MD5) != (auth.Algorithm == store.AlgorithmMilenage) ||
		(scheme != cx.SchemeDigestAKAv1MD5 && scheme != cx.SchemeSIPDigest) {
		return nil, experimental(cx.DiameterErrorAuthSchemeNotSupported, "scheme %q for a %s subscriber", scheme, auth.Algorithm)
	}
	n := int(r.SIPNumberAuthItems)
	n = max(1, min(n, s.cfg.MaxAuthItems))

	var items []cx.SIPAuthDataItem
	if scheme == cx.SchemeSIPDigest {
		n = 1
		realm := homeRealm(r.UserName)
		items = []cx.SIPAuthDataItem{{SIPItemNumber: 1, SIPAuthenticationScheme: cx.SchemeSIPDigest,
			SIPDigestAuthenticate: &cx.SIPDigestAuthenticate{DigestRealm: realm, DigestAlgorithm: "MD5",
				DigestQoP: "auth", DigestHA1: aka.DigestHA1(r.UserName, realm, auth.Password)}}}
	} else {
		// TS 29.228 6.3.3: SIP-Authorization in a MAR is RAND || AUTS, a synchronisation failure.
		if len(item.SIPAuthorization) > 0 {
			rand, auts, ok := item.RANDAUTS()
			if !ok {
				return nil, diamerr.Invalid(dict.AppCx, "SIP-Authorization", datatype.OctetString(item.SIPAuthorization),
					"want RAND || AUTS, 30 octets")
			}
			if err := s.vectors.Resync(ctx, info.IMSI, auth, rand, auts); err != nil {
				if errors.Is(err, aka.ErrMACSMismatch) || errors.Is(err, aka.ErrInvalidInput) {
					return nil, &msg.Error{Code: msg.ResultAuthenticationRejected, Err: fmt.Errorf("resync of %s: %w", info.IMSI, err)}
				}
				return nil, fmt.Errorf("resync of %s: %w", info.IMSI, err)
			}
			s.logger("MAR", r.SessionID, r.UserName, r.PublicIdentity).Info("cx MAR re-synchronised SQN")
		}
		vs, err := s.vectors.Vectors(ctx, info.IMSI, auth, n)
		if err != nil {
			return nil, fmt.Errorf("vectors of %s: %w", info.IMSI, err)
		}
		for i, v := range vs {
			items = append(items, cx.SIPAuthDataItem{SIPItemNumber: uint32(i + 1),
				SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5, SIPAuthenticate: v.SIPAuthenticate(),
				SIPAuthorization: v.SIPAuthorization(), ConfidentialityKey: v.CK[:], IntegrityKey: v.IK[:]})
		}
	}
	// TS 29.228 6.3 step 4: an identity not yet registered keeps this S-CSCF as pending until
	// its SAR; a registered one keeps its S-CSCF (a SAR from another one is refused).
	if u.State == store.StateNotRegistered && u.SCSCFName != r.ServerName {
		err := s.store.SetRegistration(ctx, store.Registration{IMPI: r.UserName, IMPUs: []string{u.URI},
			State: store.StateNotRegistered, SCSCFName: r.ServerName})
		if err != nil {
			return nil, fmt.Errorf("record pending S-CSCF: %w", err)
		}
	}
	count := uint32(n)
	a := cx.MAA{UserName: r.UserName, PublicIdentity: r.PublicIdentity, SIPNumberAuthItems: &count, SIPAuthDataItem: items}
	s.debug(ctx, "MAR", r.SessionID, r.UserName, r.PublicIdentity, "cx MAR answered", "scheme", scheme, "items", n)
	return a.Message(req, s.cfg.Identity)
}

// SAR answers a Server-Assignment-Request (TS 29.228 6.1.2, TS 29.229 6.1.3).
func (s *Server) SAR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var r cx.SAR
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if r.ServerName == "" {
		return nil, missing("Server-Name")
	}
	if r.UserName == "" && len(r.PublicIdentity) == 0 {
		return nil, missing("Public-Identity")
	}
	sat := r.ServerAssignmentType
	first := ""
	if len(r.PublicIdentity) > 0 {
		first = r.PublicIdentity[0]
	}
	ims, err := s.sarSubscription(ctx, r.UserName, r.PublicIdentity)
	if err != nil {
		return nil, err
	}
	// The identities concerned: the implicit registration set of the first Public-Identity,
	// or every identity of the IMPI when none is given (TS 29.228 6.1.2).
	var set []store.IMPU
	if first != "" {
		set = irs(ims, first)
	} else {
		set = ims.IMPUs
	}
	uris := make([]string, len(set))
	for i, u := range set {
		uris[i] = u.URI
	}
	if len(set) == 0 {
		return nil, experimental(cx.DiameterErrorUserUnknown, "IMPI %s has no public identity", ims.IMPI)
	}
	current := set[0]
	assignedElsewhere := current.State != store.StateNotRegistered && current.SCSCFName != "" && current.SCSCFName != r.ServerName

	a := cx.SAA{UserName: ims.IMPI}
	withData := false
	var reg *store.Registration
	switch sat {
	case cx.ServerAssignmentTypeNoAssignment:
		if current.SCSCFName != r.ServerName {
			return nil, &msg.Error{Code: msg.ResultUnableToComply, Err: fmt.Errorf("S-CSCF %s is not the one assigned (%q)", r.ServerName, current.SCSCFName)}
		}
		withData = true
	case cx.ServerAssignmentTypeRegistration, cx.ServerAssignmentTypeReRegistration:
		if assignedElsewhere {
			return nil, experimental(cx.DiameterErrorIdentityAlreadyRegistered, "IMPU %s is served by %s", current.URI, current.SCSCFName)
		}
		reg = &store.Registration{State: store.StateRegistered, SCSCFName: r.ServerName}
		withData = !(sat == cx.ServerAssignmentTypeReRegistration && r.UserDataAlreadyAvailable == cx.UserDataIsAlreadyAvailable)
	case cx.ServerAssignmentTypeUnregisteredUser:
		if assignedElsewhere {
			return nil, experimental(cx.DiameterErrorIdentityAlreadyRegistered, "IMPU %s is served by %s", current.URI, current.SCSCFName)
		}
		reg = &store.Registration{State: store.StateUnregistered, SCSCFName: r.ServerName}
		withData = true
	case cx.ServerAssignmentTypeRestoration:
		// TS 29.228 6.1.2: after an S-CSCF restoration the new S-CSCF takes the identities over.
		reg = &store.Registration{State: store.StateRegistered, SCSCFName: r.ServerName}
		withData = true
	case cx.ServerAssignmentTypeTimeoutDeregistration, cx.ServerAssignmentTypeUserDeregistration,
		cx.ServerAssignmentTypeAdministrativeDeregistration, cx.ServerAssignmentTypeDeregistrationTooMuchData:
		reg = &store.Registration{State: store.StateNotRegistered}
	case cx.ServerAssignmentTypeTimeoutDeregistrationStoreServerName, cx.ServerAssignmentTypeUserDeregistrationStoreServerName:
		// The HSS keeps the S-CSCF name for unregistered services (TS 29.228 6.1.2).
		reg = &store.Registration{State: store.StateNotRegistered, SCSCFName: r.ServerName}
	case cx.ServerAssignmentTypeAuthenticationFailure, cx.ServerAssignmentTypeAuthenticationTimeout:
		// A registered identity stays so; otherwise the S-CSCF recorded by MAR is cleared.
		if current.State == store.StateNotRegistered {
			reg = &store.Registration{State: store.StateNotRegistered}
		}
	default:
		return nil, experimental(cx.DiameterErrorInAssignmentType, "Server-Assignment-Type %d does not apply to Cx", sat)
	}
	if reg != nil && !unchanged(ims, set, *reg) {
		reg.IMPI, reg.IMPUs = ims.IMPI, uris
		if err := s.store.SetRegistration(ctx, *reg); err != nil {
			return nil, fmt.Errorf("set registration: %w", err)
		}
	}
	if reg != nil {
		if err := s.learnHost(ctx, reg.SCSCFName, r.OriginHost); err != nil {
			return nil, err
		}
	}
	if withData {
		data, err := s.userData(ctx, ims, set)
		if err != nil {
			return nil, err
		}
		a.UserData = string(data)
		a.ChargingInformation = charging(ims.Charging)
	}
	s.debug(ctx, "SAR", r.SessionID, r.UserName, first, "cx SAR answered", "type", int32(sat), "impus", len(uris))
	return a.Message(req, s.cfg.Identity)
}

// unchanged reports whether the identities set are already in the state reg records (a
// re-registration, mostly), so that SAR need not write.
func unchanged(ims *store.IMS, set []store.IMPU, reg store.Registration) bool {
	if ims.SCSCFName != reg.SCSCFName {
		return false
	}
	for _, u := range set {
		if u.State != reg.State || u.SCSCFName != reg.SCSCFName {
			return false
		}
	}
	return true
}

// sarSubscription finds the IMS subscription of a SAR: by User-Name when present (the
// identities must then belong to it), else by the first Public-Identity.
func (s *Server) sarSubscription(ctx context.Context, impi string, impus []string) (*store.IMS, error) {
	if impi == "" {
		ims, err := s.store.IMSByIMPU(ctx, impus[0])
		if err != nil {
			return nil, lookupErr(err, "IMPU "+impus[0])
		}
		impi = ims.IMPI
	}
	first := ""
	if len(impus) > 0 {
		first = impus[0]
	}
	// One query for what SAR needs, not the whole subscriber (TS 29.228 6.1.2 step 1).
	ims, err := s.store.IMSByIMPI(ctx, impi)
	if err != nil {
		return nil, lookupErr(err, "IMPI "+impi)
	}
	if first != "" && ims.IMPU(first) == nil {
		return nil, s.notOwn(ctx, impi, first)
	}
	for _, uri := range impus[min(1, len(impus)):] {
		if ims.IMPU(uri) == nil {
			return nil, experimental(cx.DiameterErrorIdentitiesDontMatch, "IMPU %s does not belong to %s", uri, impi)
		}
	}
	return ims, nil
}

// charging is the Charging-Information of a subscription (TS 29.229 6.3.19), nil when empty.
func charging(c store.Charging) *cx.ChargingInformation {
	if c == (store.Charging{}) {
		return nil
	}
	return &cx.ChargingInformation{
		PrimaryEventChargingFunctionName:        c.ECFPrimary,
		SecondaryEventChargingFunctionName:      c.ECFSecondary,
		PrimaryChargingCollectionFunctionName:   c.CCFPrimary,
		SecondaryChargingCollectionFunctionName: c.CCFSecondary,
	}
}

// LIR answers a Location-Info-Request (TS 29.228 6.1.4, TS 29.229 6.1.5).
func (s *Server) LIR(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	var r cx.LIR
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if r.PublicIdentity == "" {
		return nil, missing("Public-Identity")
	}
	// One query for what LIR needs, not the whole subscriber (TS 29.228 6.1.4.1 step 1); an
	// identity without an IMS subscription is not found.
	ims, err := s.store.IMSByIMPU(ctx, r.PublicIdentity)
	if err != nil {
		return nil, lookupErr(err, "IMPU "+r.PublicIdentity)
	}
	u := ims.IMPU(r.PublicIdentity)
	a := cx.LIA{}
	switch {
	case u.State != store.StateNotRegistered && u.SCSCFName != "":
		a.ServerName = u.SCSCFName
	default:
		unreg, err := s.unregisteredServices(ctx, ims)
		if err != nil {
			return nil, err
		}
		if !unreg {
			return nil, experimental(cx.DiameterErrorIdentityNotRegistered, "IMPU %s is not registered", u.URI)
		}
		a.ExperimentalResult = result(cx.DiameterUnregisteredService)
		if u.SCSCFName != "" {
			a.ServerName = u.SCSCFName
		} else if a.ServerCapabilities, err = s.capabilities(ctx, ims); err != nil {
			return nil, err
		}
	}
	s.debug(ctx, "LIR", r.SessionID, ims.IMPI, r.PublicIdentity, "cx LIR answered", "state", u.State, "server_name", a.ServerName)
	return a.Message(req, s.cfg.Identity)
}
