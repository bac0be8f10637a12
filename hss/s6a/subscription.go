package s6a

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/s6a"
)

// IMSAPN is the well-known APN of IMS (GSMA IR.92 4.3.1, TS 23.003 9A). Its default bearer has
// QCI 5, the IMS signalling class (TS 23.203 Table 6.1.7).
const (
	IMSAPN = "ims"
	IMSQCI = 5
)

// ErrNoRequester: the server was built without a way to send requests.
var ErrNoRequester = errors.New("s6a: no Diameter peer to send the request")

func bandwidth(bps uint64) uint32 { return uint32(min(bps, math.MaxUint32)) }

func pdnType(t store.PDNType) s6a.PDNType {
	switch t {
	case store.PDNTypeIPv4:
		return s6a.PDNTypeIPv4
	case store.PDNTypeIPv6:
		return s6a.PDNTypeIPv6
	case store.PDNTypeIPv4OrIPv6:
		return s6a.PDNTypeIPv4OrIPv6
	}
	return s6a.PDNTypeIPv4v6
}

// subscriptionData is the Subscription-Data of TS 29.272 7.3.2 for sub: MSISDN, the UE-AMBR and
// an APN-Configuration-Profile with every APN of the subscriber, the first being the default.
// An IMS subscriber always gets the IMS APN; when no profile is provisioned for it, the
// TS 23.203 defaults for IMS signalling apply (QCI 5, priority level 1).
func (s *Server) subscriptionData(ctx context.Context, sub *store.Subscriber) (*s6a.SubscriptionData, error) {
	granted, packetOnly := s6a.SubscriberStatusServiceGranted, s6a.NetworkAccessModeOnlyPacket
	data := &s6a.SubscriptionData{
		SubscriberStatus:  &granted,
		NetworkAccessMode: &packetOnly,
		AMBR:              &s6a.AMBR{MaxRequestedBandwidthUL: bandwidth(sub.AMBRUL), MaxRequestedBandwidthDL: bandwidth(sub.AMBRDL)},
	}
	if sub.MSISDN != "" {
		tbcd, err := msg.EncodeTBCD(sub.MSISDN)
		if err != nil {
			return nil, fmt.Errorf("MSISDN of %s: %w", sub.IMSI, err)
		}
		data.MSISDN = tbcd
	}
	apns := slices.Clone(sub.APNs)
	if sub.IMS != nil && !slices.Contains(apns, IMSAPN) {
		apns = append(apns, IMSAPN)
	}
	if len(apns) == 0 {
		return data, nil
	}
	profile := &s6a.APNConfigurationProfile{ContextIdentifier: 1, AllAPNConfigurationsIncludedIndicator: s6a.AllAPNConfigurationsIncluded}
	for i, name := range apns {
		p, err := s.store.APN(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound) && name == IMSAPN:
			p = &store.APNProfile{Name: IMSAPN, QCI: IMSQCI, ARPPriority: 1, PDNType: store.PDNTypeIPv4v6}
		case err != nil:
			return nil, fmt.Errorf("APN %s of %s: %w", name, sub.IMSI, err)
		}
		capability, vulnerability := s6a.PreEmptionCapabilityDisabled, s6a.PreEmptionVulnerabilityDisabled
		if p.PreemptionCapability {
			capability = s6a.PreEmptionCapabilityEnabled
		}
		if p.PreemptionVulnerability {
			vulnerability = s6a.PreEmptionVulnerabilityEnabled
		}
		c := s6a.APNConfiguration{
			ContextIdentifier: uint32(i + 1),
			PDNType:           pdnType(p.PDNType),
			ServiceSelection:  p.Name,
			EPSSubscribedQoSProfile: &s6a.EPSSubscribedQoSProfile{QoSClassIdentifier: int32(p.QCI),
				AllocationRetentionPriority: s6a.AllocationRetentionPriority{PriorityLevel: uint32(p.ARPPriority),
					PreEmptionCapability: &capability, PreEmptionVulnerability: &vulnerability}},
		}
		if p.AMBRUL != 0 || p.AMBRDL != 0 {
			c.AMBR = &s6a.AMBR{MaxRequestedBandwidthUL: bandwidth(p.AMBRUL), MaxRequestedBandwidthDL: bandwidth(p.AMBRDL)}
		}
		profile.APNConfiguration = append(profile.APNConfiguration, c)
	}
	data.APNConfigurationProfile = profile
	return data, nil
}

// request builds the header of an HSS-initiated request to the MME host of realm.
func (s *Server) request(host, realm string) msg.RequestHeader {
	if realm == "" {
		realm = s.id.Realm
	}
	return msg.RequestHeader{SessionID: msg.NewSessionID(s.id.Host), OriginHost: s.id.Host,
		OriginRealm: s.id.Realm, DestinationHost: host, DestinationRealm: realm}
}

// send sends req and decodes the answer into ans, failing unless it is DIAMETER_SUCCESS.
func (s *Server) send(ctx context.Context, req *diam.Message, ans msg.Answer) error {
	if s.peers == nil {
		return ErrNoRequester
	}
	m, err := s.peers.Request(ctx, req)
	if err != nil {
		return err
	}
	if err := msg.Unmarshal(m, ans); err != nil {
		return err
	}
	if code, exp := ans.Header().Result(); exp || code != msg.ResultSuccess {
		return fmt.Errorf("answer: result %d (experimental %t)", code, exp)
	}
	return nil
}

// CancelLocation sends a Cancel-Location-Request for imsi to the MME host (TS 29.272 5.2.1.2).
func (s *Server) CancelLocation(ctx context.Context, imsi, host, realm string, why s6a.CancellationType) error {
	r := s6a.CLR{RequestHeader: s.request(host, realm), UserName: imsi, CancellationType: why}
	req, err := r.Message()
	if err == nil {
		err = s.send(ctx, req, &s6a.CLA{})
	}
	if err != nil {
		return fmt.Errorf("CLR for %s to %s: %w", imsi, host, err)
	}
	s.logger("CLR", r.SessionID, imsi).Info("s6a CLR answered", "peer", host, "cancellation_type", int32(why))
	return nil
}

// SubscriptionChanged tells the MME serving imsi about its new subscription data: an
// Insert-Subscriber-Data-Request with the whole Subscription-Data (TS 29.272 5.2.2.1), or, when
// the subscriber was disabled, a Cancel-Location-Request for subscription withdrawal
// (5.2.1.2). A subscriber no MME serves needs neither.
func (s *Server) SubscriptionChanged(ctx context.Context, imsi string) error {
	sub, err := s.store.Subscriber(ctx, imsi)
	if err != nil {
		return fmt.Errorf("subscription of %s: %w", imsi, err)
	}
	if sub.MMEHost == "" {
		return nil
	}
	if !sub.Enabled {
		if err := s.CancelLocation(ctx, imsi, sub.MMEHost, sub.MMERealm, s6a.CancellationTypeSubscriptionWithdrawal); err != nil {
			return err
		}
		return s.store.SetServingMME(ctx, imsi, "", "")
	}
	data, err := s.subscriptionData(ctx, sub)
	if err != nil {
		return err
	}
	r := s6a.IDR{RequestHeader: s.request(sub.MMEHost, sub.MMERealm), UserName: imsi, SubscriptionData: *data}
	req, err := r.Message()
	if err == nil {
		err = s.send(ctx, req, &s6a.IDA{})
	}
	if err != nil {
		return fmt.Errorf("IDR for %s to %s: %w", imsi, sub.MMEHost, err)
	}
	s.logger("IDR", r.SessionID, imsi).Info("s6a IDR answered", "peer", sub.MMEHost)
	return nil
}
