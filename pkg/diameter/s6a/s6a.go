// Package s6a holds the S6a messages between MME and HSS (3GPP TS 29.272) as typed Go
// structs over go-diameter's S6a dictionary; pkg/diameter/msg encodes and decodes them.
// Only the AVPs an EPS attach with IMS APNs needs are modelled; the rest of each command's
// grammar (TS 29.272 7.2) is left out.
package s6a

import (
	"errors"
	"net"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

// Command codes, TS 29.272 7.2.1 Table 7.2.1/1.
const (
	CmdUpdateLocation       uint32 = 316
	CmdCancelLocation       uint32 = 317
	CmdAuthenticationInfo   uint32 = 318
	CmdInsertSubscriberData uint32 = 319
	CmdDeleteSubscriberData uint32 = 320
	CmdPurgeUE              uint32 = 321
	CmdReset                uint32 = 322
	CmdNotify               uint32 = 323
)

// Experimental-Result-Code values, TS 29.272 7.4.3 and 7.4.4 (sent with Vendor-Id 10415).
const (
	DiameterErrorUserUnknown              uint32 = 5001
	DiameterErrorRoamingNotAllowed        uint32 = 5004
	DiameterErrorUnknownEPSSubscription   uint32 = 5420
	DiameterErrorRATNotAllowed            uint32 = 5421
	DiameterErrorEquipmentUnknown         uint32 = 5422
	DiameterErrorUnknownServingNode       uint32 = 5423
	DiameterAuthenticationDataUnavailable uint32 = 4181
	DiameterErrorCamelSubscriptionPresent uint32 = 4182
)

// RATType is the RAT-Type AVP, TS 29.212 5.3.31.
type RATType int32

const (
	RATTypeWLAN   RATType = 0
	RATTypeUTRAN  RATType = 1000
	RATTypeGERAN  RATType = 1001
	RATTypeEUTRAN RATType = 1004
	RATTypeNR     RATType = 1009
)

// CancellationType is the Cancellation-Type AVP, TS 29.272 7.3.24.
type CancellationType int32

const (
	CancellationTypeMMEUpdateProcedure     CancellationType = 0
	CancellationTypeSGSNUpdateProcedure    CancellationType = 1
	CancellationTypeSubscriptionWithdrawal CancellationType = 2
	CancellationTypeUpdateProcedureIWF     CancellationType = 3
	CancellationTypeInitialAttachProcedure CancellationType = 4
)

// SubscriberStatus is the Subscriber-Status AVP, TS 29.272 7.3.29.
type SubscriberStatus int32

const (
	SubscriberStatusServiceGranted            SubscriberStatus = 0
	SubscriberStatusOperatorDeterminedBarring SubscriberStatus = 1
)

// NetworkAccessMode is the Network-Access-Mode AVP, TS 29.272 7.3.21.
type NetworkAccessMode int32

const (
	NetworkAccessModePacketAndCircuit NetworkAccessMode = 0
	NetworkAccessModeOnlyPacket       NetworkAccessMode = 2
)

// AllAPNConfigurationsIncludedIndicator is the AVP of TS 29.272 7.3.33.
type AllAPNConfigurationsIncludedIndicator int32

const (
	AllAPNConfigurationsIncluded           AllAPNConfigurationsIncludedIndicator = 0
	ModifiedAddedAPNConfigurationsIncluded AllAPNConfigurationsIncludedIndicator = 1
)

// PDNType is the PDN-Type AVP, TS 29.272 7.3.62.
type PDNType int32

const (
	PDNTypeIPv4       PDNType = 0
	PDNTypeIPv6       PDNType = 1
	PDNTypeIPv4v6     PDNType = 2
	PDNTypeIPv4OrIPv6 PDNType = 3
)

// VPLMNDynamicAddressAllowed is the AVP of TS 29.272 7.3.38.
type VPLMNDynamicAddressAllowed int32

const (
	VPLMNDynamicAddressNotAllowed VPLMNDynamicAddressAllowed = 0
	VPLMNDynamicAddressIsAllowed  VPLMNDynamicAddressAllowed = 1
)

// PreEmptionCapability is the Pre-emption-Capability AVP, TS 29.212 5.3.46.
type PreEmptionCapability int32

const (
	PreEmptionCapabilityEnabled  PreEmptionCapability = 0
	PreEmptionCapabilityDisabled PreEmptionCapability = 1
)

// PreEmptionVulnerability is the Pre-emption-Vulnerability AVP, TS 29.212 5.3.47.
type PreEmptionVulnerability int32

const (
	PreEmptionVulnerabilityEnabled  PreEmptionVulnerability = 0
	PreEmptionVulnerabilityDisabled PreEmptionVulnerability = 1
)

// UESRVCCCapability is the UE-SRVCC-Capability AVP, TS 29.272 7.3.130.
type UESRVCCCapability int32

const (
	UESRVCCNotSupported UESRVCCCapability = 0
	UESRVCCSupported    UESRVCCCapability = 1
)

// IMSVoiceOverPSSupport is the Homogeneous-Support-of-IMS-Voice-Over-PS-Sessions AVP,
// TS 29.272 7.3.107.
type IMSVoiceOverPSSupport int32

const (
	IMSVoiceOverPSNotSupported IMSVoiceOverPSSupport = 0
	IMSVoiceOverPSSupported    IMSVoiceOverPSSupport = 1
)

// Bits of the *-Flags AVPs (bit 0 is the least significant).
const (
	ULRFlagSingleRegistrationIndication  uint32 = 1 << 0 // TS 29.272 7.3.7
	ULRFlagS6aS6dIndicator               uint32 = 1 << 1
	ULRFlagSkipSubscriberData            uint32 = 1 << 2
	ULRFlagGPRSSubscriptionDataIndicator uint32 = 1 << 3
	ULRFlagNodeTypeIndicator             uint32 = 1 << 4
	ULRFlagInitialAttachIndicator        uint32 = 1 << 5
	ULRFlagPSLCSNotSupportedByUE         uint32 = 1 << 6
	ULAFlagSeparationIndication          uint32 = 1 << 0 // TS 29.272 7.3.8
	ULAFlagMMERegisteredForSMS           uint32 = 1 << 1
	PUAFlagFreezeMTMSI                   uint32 = 1 << 0 // TS 29.272 7.3.48
	PUAFlagFreezePTMSI                   uint32 = 1 << 1
)

// TerminalInformation is the Terminal-Information grouped AVP, TS 29.272 7.3.3.
type TerminalInformation struct {
	IMEI            string `avp:"IMEI,omitempty"`
	SoftwareVersion string `avp:"Software-Version,omitempty"`
}

// RequestedEUTRANAuthenticationInfo is the grouped AVP of TS 29.272 7.3.11. For a
// resynchronisation ReSynchronizationInfo is RAND||AUTS (7.3.15).
type RequestedEUTRANAuthenticationInfo struct {
	NumberOfRequestedVectors   uint32  `avp:"Number-Of-Requested-Vectors,omitempty"`
	ImmediateResponsePreferred *uint32 `avp:"Immediate-Response-Preferred"`
	ReSynchronizationInfo      []byte  `avp:"Re-synchronization-Info,omitempty"`
}

// AuthenticationInfo is the Authentication-Info grouped AVP, TS 29.272 7.3.17.
type AuthenticationInfo struct {
	EUTRANVector []EUTRANVector `avp:"E-UTRAN-Vector"`
	UTRANVector  []UTRANVector  `avp:"UTRAN-Vector"`
}

// EUTRANVector is the E-UTRAN-Vector grouped AVP, TS 29.272 7.3.18.
type EUTRANVector struct {
	ItemNumber uint32 `avp:"Item-Number,omitempty"`
	RAND       []byte `avp:"RAND"`
	XRES       []byte `avp:"XRES"`
	AUTN       []byte `avp:"AUTN"`
	KASME      []byte `avp:"KASME"`
}

// UTRANVector is the UTRAN-Vector grouped AVP, TS 29.272 7.3.19.
type UTRANVector struct {
	ItemNumber         uint32 `avp:"Item-Number,omitempty"`
	RAND               []byte `avp:"RAND"`
	XRES               []byte `avp:"XRES"`
	AUTN               []byte `avp:"AUTN"`
	ConfidentialityKey []byte `avp:"Confidentiality-Key"`
	IntegrityKey       []byte `avp:"Integrity-Key"`
}

// SubscriptionData is the Subscription-Data grouped AVP, TS 29.272 7.3.2. MSISDN is
// TBCD-encoded (msg.EncodeTBCD).
type SubscriptionData struct {
	SubscriberStatus              *SubscriberStatus        `avp:"Subscriber-Status"`
	MSISDN                        []byte                   `avp:"MSISDN,omitempty"`
	STNSR                         []byte                   `avp:"STN-SR,omitempty"`
	NetworkAccessMode             *NetworkAccessMode       `avp:"Network-Access-Mode"`
	OperatorDeterminedBarring     uint32                   `avp:"Operator-Determined-Barring,omitempty"`
	AccessRestrictionData         uint32                   `avp:"Access-Restriction-Data,omitempty"`
	APNOIReplacement              string                   `avp:"APN-OI-Replacement,omitempty"`
	ChargingCharacteristics       string                   `avp:"TGPP-Charging-Characteristics,omitempty"`
	AMBR                          *AMBR                    `avp:"AMBR"`
	APNConfigurationProfile       *APNConfigurationProfile `avp:"APN-Configuration-Profile"`
	SubscribedPeriodicRAUTAUTimer uint32                   `avp:"Subscribed-Periodic-RAU-TAU-Timer,omitempty"`
}

// AMBR is the AMBR grouped AVP, TS 29.272 7.3.41, in bits per second.
type AMBR struct {
	MaxRequestedBandwidthUL uint32 `avp:"Max-Requested-Bandwidth-UL"`
	MaxRequestedBandwidthDL uint32 `avp:"Max-Requested-Bandwidth-DL"`
}

// APNConfigurationProfile is the grouped AVP of TS 29.272 7.3.34; ContextIdentifier names
// the default APN.
type APNConfigurationProfile struct {
	ContextIdentifier                     uint32                                `avp:"Context-Identifier"`
	AllAPNConfigurationsIncludedIndicator AllAPNConfigurationsIncludedIndicator `avp:"All-APN-Configurations-Included-Indicator"`
	APNConfiguration                      []APNConfiguration                    `avp:"APN-Configuration"`
}

// APNConfiguration is the APN-Configuration grouped AVP, TS 29.272 7.3.35.
type APNConfiguration struct {
	ContextIdentifier          uint32                      `avp:"Context-Identifier"`
	ServedPartyIPAddress       []net.IP                    `avp:"Served-Party-IP-Address"`
	PDNType                    PDNType                     `avp:"PDN-Type"`
	ServiceSelection           string                      `avp:"Service-Selection"`
	EPSSubscribedQoSProfile    *EPSSubscribedQoSProfile    `avp:"EPS-Subscribed-QoS-Profile"`
	VPLMNDynamicAddressAllowed *VPLMNDynamicAddressAllowed `avp:"VPLMN-Dynamic-Address-Allowed"`
	ChargingCharacteristics    string                      `avp:"TGPP-Charging-Characteristics,omitempty"`
	AMBR                       *AMBR                       `avp:"AMBR"`
}

// EPSSubscribedQoSProfile is the grouped AVP of TS 29.272 7.3.37.
type EPSSubscribedQoSProfile struct {
	QoSClassIdentifier          int32                       `avp:"QoS-Class-Identifier"`
	AllocationRetentionPriority AllocationRetentionPriority `avp:"Allocation-Retention-Priority"`
}

// AllocationRetentionPriority is the grouped AVP of TS 29.212 5.3.32 (1 is the highest
// priority level).
type AllocationRetentionPriority struct {
	PriorityLevel           uint32                   `avp:"Priority-Level"`
	PreEmptionCapability    *PreEmptionCapability    `avp:"Pre-emption-Capability"`
	PreEmptionVulnerability *PreEmptionVulnerability `avp:"Pre-emption-Vulnerability"`
}

// AIR is the Authentication-Information-Request, TS 29.272 7.2.5. UserName is the IMSI.
type AIR struct {
	msg.RequestHeader
	UserName                          string                             `avp:"User-Name"`
	SupportedFeatures                 []msg.SupportedFeatures            `avp:"Supported-Features"`
	RequestedEUTRANAuthenticationInfo *RequestedEUTRANAuthenticationInfo `avp:"Requested-EUTRAN-Authentication-Info"`
	VisitedPLMNID                     []byte                             `avp:"Visited-PLMN-Id"`
}

// AIA is the Authentication-Information-Answer, TS 29.272 7.2.6.
type AIA struct {
	msg.AnswerHeader
	SupportedFeatures  []msg.SupportedFeatures `avp:"Supported-Features"`
	AuthenticationInfo *AuthenticationInfo     `avp:"Authentication-Info"`
}

// ULR is the Update-Location-Request, TS 29.272 7.2.3.
type ULR struct {
	msg.RequestHeader
	UserName                                   string                  `avp:"User-Name"`
	SupportedFeatures                          []msg.SupportedFeatures `avp:"Supported-Features"`
	TerminalInformation                        *TerminalInformation    `avp:"Terminal-Information"`
	RATType                                    RATType                 `avp:"RAT-Type"`
	ULRFlags                                   uint32                  `avp:"ULR-Flags"`
	UESRVCCCapability                          *UESRVCCCapability      `avp:"UE-SRVCC-Capability"`
	VisitedPLMNID                              []byte                  `avp:"Visited-PLMN-Id"`
	HomogeneousSupportOfIMSVoiceOverPSSessions *IMSVoiceOverPSSupport  `avp:"Homogeneous-Support-of-IMS-Voice-Over-PS-Sessions"`
}

// ULA is the Update-Location-Answer, TS 29.272 7.2.4.
type ULA struct {
	msg.AnswerHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
	ULAFlags          *uint32                 `avp:"ULA-Flags"`
	SubscriptionData  *SubscriptionData       `avp:"Subscription-Data"`
}

// CLR is the Cancel-Location-Request, TS 29.272 7.2.7.
type CLR struct {
	msg.RequestHeader
	UserName          string                  `avp:"User-Name"`
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
	CancellationType  CancellationType        `avp:"Cancellation-Type"`
	CLRFlags          uint32                  `avp:"CLR-Flags,omitempty"`
}

// CLA is the Cancel-Location-Answer, TS 29.272 7.2.8.
type CLA struct {
	msg.AnswerHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
}

// IDR is the Insert-Subscriber-Data-Request, TS 29.272 7.2.9.
type IDR struct {
	msg.RequestHeader
	UserName          string                  `avp:"User-Name"`
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
	SubscriptionData  SubscriptionData        `avp:"Subscription-Data"`
	IDRFlags          uint32                  `avp:"IDR-Flags,omitempty"`
}

// IDA is the Insert-Subscriber-Data-Answer, TS 29.272 7.2.10.
type IDA struct {
	msg.AnswerHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
}

// PUR is the Purge-UE-Request, TS 29.272 7.2.13.
type PUR struct {
	msg.RequestHeader
	UserName          string                  `avp:"User-Name"`
	PURFlags          uint32                  `avp:"PUR-Flags,omitempty"`
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
}

// PUA is the Purge-UE-Answer, TS 29.272 7.2.14.
type PUA struct {
	msg.AnswerHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
	PUAFlags          uint32                  `avp:"PUA-Flags,omitempty"`
}

// NOR is the Notify-Request, TS 29.272 7.2.17.
type NOR struct {
	msg.RequestHeader
	UserName                                   string                  `avp:"User-Name"`
	SupportedFeatures                          []msg.SupportedFeatures `avp:"Supported-Features"`
	TerminalInformation                        *TerminalInformation    `avp:"Terminal-Information"`
	ContextIdentifier                          *uint32                 `avp:"Context-Identifier"`
	ServiceSelection                           string                  `avp:"Service-Selection,omitempty"`
	UESRVCCCapability                          *UESRVCCCapability      `avp:"UE-SRVCC-Capability"`
	NORFlags                                   uint32                  `avp:"NOR-Flags,omitempty"`
	HomogeneousSupportOfIMSVoiceOverPSSessions *IMSVoiceOverPSSupport  `avp:"Homogeneous-Support-of-IMS-Voice-Over-PS-Sessions"`
}

// NOA is the Notify-Answer, TS 29.272 7.2.18.
type NOA struct {
	msg.AnswerHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
}

// PLMNID encodes a PLMN identity (Visited-PLMN-Id, TS 29.272 7.3.9) as the three octets of
// TS 24.008 10.5.1.13: MCC digit 2|1, MNC digit 3 (F for a two-digit MNC)|MCC digit 3,
// MNC digit 2|1.
func PLMNID(mcc, mnc string) ([]byte, error) {
	if len(mcc) != 3 || (len(mnc) != 2 && len(mnc) != 3) || !digits(mcc) || !digits(mnc) {
		return nil, errors.New("s6a: PLMN id needs a 3-digit MCC and a 2- or 3-digit MNC")
	}
	mnc3 := byte(0xf)
	if len(mnc) == 3 {
		mnc3 = mnc[2] - '0'
	}
	return []byte{
		(mcc[1]-'0')<<4 | (mcc[0] - '0'),
		mnc3<<4 | (mcc[2] - '0'),
		(mnc[1]-'0')<<4 | (mnc[0] - '0'),
	}, nil
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Message builds the request; see msg.NewRequest.
func (r *AIR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdAuthenticationInfo, dict.AppS6a, r)
}

// Message builds the request; see msg.NewRequest.
func (r *ULR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdUpdateLocation, dict.AppS6a, r)
}

// Message builds the request; see msg.NewRequest.
func (r *CLR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdCancelLocation, dict.AppS6a, r)
}

// Message builds the request; see msg.NewRequest.
func (r *IDR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdInsertSubscriberData, dict.AppS6a, r)
}

// Message builds the request; see msg.NewRequest.
func (r *PUR) Message() (*diam.Message, error) { return msg.NewRequest(CmdPurgeUE, dict.AppS6a, r) }

// Message builds the request; see msg.NewRequest.
func (r *NOR) Message() (*diam.Message, error) { return msg.NewRequest(CmdNotify, dict.AppS6a, r) }

// Message builds the answer to req; see msg.AnswerFor.
func (a *AIA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *ULA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *CLA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *IDA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *PUA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *NOA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}
