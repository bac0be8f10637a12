// Package cx holds the Cx/Dx messages (3GPP TS 29.228, TS 29.229) as typed Go structs. The
// tags name the AVPs of pkg/diameter/dict; pkg/diameter/msg encodes and decodes them.
//
// Requests embed msg.RequestHeader and are built with Message(); answers embed
// msg.AnswerHeader and are built with Message(req, id). DRMP, OC-*, Proxy-Info and
// Route-Record are left to the peer layer.
package cx

import (
	"time"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

// Command codes, TS 29.229 6.1 Table 6.1.1.
const (
	CmdUserAuthorization       uint32 = 300
	CmdServerAssignment        uint32 = 301
	CmdLocationInfo            uint32 = 302
	CmdMultimediaAuth          uint32 = 303
	CmdRegistrationTermination uint32 = 304
	CmdPushProfile             uint32 = 305
)

// Experimental-Result-Code values, TS 29.229 6.2 (sent with Vendor-Id 10415).
const (
	DiameterFirstRegistration                  uint32 = 2001
	DiameterSubsequentRegistration             uint32 = 2002
	DiameterUnregisteredService                uint32 = 2003
	DiameterSuccessServerNameNotStored         uint32 = 2004
	DiameterErrorUserUnknown                   uint32 = 5001
	DiameterErrorIdentitiesDontMatch           uint32 = 5002
	DiameterErrorIdentityNotRegistered         uint32 = 5003
	DiameterErrorRoamingNotAllowed             uint32 = 5004
	DiameterErrorIdentityAlreadyRegistered     uint32 = 5005
	DiameterErrorAuthSchemeNotSupported        uint32 = 5006
	DiameterErrorInAssignmentType              uint32 = 5007
	DiameterErrorTooMuchData                   uint32 = 5008
	DiameterErrorNotSupportedUserData          uint32 = 5009
	DiameterErrorFeatureUnsupported            uint32 = 5011
	DiameterErrorServingNodeFeatureUnsupported uint32 = 5012
)

// ServerAssignmentType is the Server-Assignment-Type AVP, TS 29.229 6.3.15.
type ServerAssignmentType int32

const (
	ServerAssignmentTypeNoAssignment                         ServerAssignmentType = 0
	ServerAssignmentTypeRegistration                         ServerAssignmentType = 1
	ServerAssignmentTypeReRegistration                       ServerAssignmentType = 2
	ServerAssignmentTypeUnregisteredUser                     ServerAssignmentType = 3
	ServerAssignmentTypeTimeoutDeregistration                ServerAssignmentType = 4
	ServerAssignmentTypeUserDeregistration                   ServerAssignmentType = 5
	ServerAssignmentTypeTimeoutDeregistrationStoreServerName ServerAssignmentType = 6
	ServerAssignmentTypeUserDeregistrationStoreServerName    ServerAssignmentType = 7
	ServerAssignmentTypeAdministrativeDeregistration         ServerAssignmentType = 8
	ServerAssignmentTypeAuthenticationFailure                ServerAssignmentType = 9
	ServerAssignmentTypeAuthenticationTimeout                ServerAssignmentType = 10
	ServerAssignmentTypeDeregistrationTooMuchData            ServerAssignmentType = 11
	ServerAssignmentTypeAAAUserDataRequest                   ServerAssignmentType = 12
	ServerAssignmentTypePGWUpdate                            ServerAssignmentType = 13
	ServerAssignmentTypeRestoration                          ServerAssignmentType = 14
)

// UserAuthorizationType is the User-Authorization-Type AVP, TS 29.229 6.3.24.
type UserAuthorizationType int32

const (
	UserAuthorizationTypeRegistration                UserAuthorizationType = 0
	UserAuthorizationTypeDeRegistration              UserAuthorizationType = 1
	UserAuthorizationTypeRegistrationAndCapabilities UserAuthorizationType = 2
)

// ReasonCode is the Reason-Code AVP inside Deregistration-Reason, TS 29.229 6.3.17.
type ReasonCode int32

const (
	ReasonCodePermanentTermination ReasonCode = 0
	ReasonCodeNewServerAssigned    ReasonCode = 1
	ReasonCodeServerChange         ReasonCode = 2
	ReasonCodeRemoveSCSCF          ReasonCode = 3
)

// UserDataAlreadyAvailable is the User-Data-Already-Available AVP, TS 29.229 6.3.26.
type UserDataAlreadyAvailable int32

const (
	UserDataNotAvailable       UserDataAlreadyAvailable = 0
	UserDataIsAlreadyAvailable UserDataAlreadyAvailable = 1
)

// OriginatingRequest is the Originating-Request AVP, TS 29.229 6.3.34.
type OriginatingRequest int32

// OriginatingRequestOriginating is its only value.
const OriginatingRequestOriginating OriginatingRequest = 0

// LooseRouteIndication is the Loose-Route-Indication AVP, TS 29.229 6.3.45.
type LooseRouteIndication int32

const (
	LooseRouteNotRequired LooseRouteIndication = 0
	LooseRouteRequired    LooseRouteIndication = 1
)

// MultipleRegistrationIndication is the Multiple-Registration-Indication AVP, TS 29.229 6.3.51.
type MultipleRegistrationIndication int32

const (
	NotMultipleRegistration MultipleRegistrationIndication = 0
	MultipleRegistration    MultipleRegistrationIndication = 1
)

// SessionPriority is the Session-Priority AVP, TS 29.229 6.3.56 (also used on Sh). 0 is
// the highest priority.
type SessionPriority int32

const (
	SessionPriority0 SessionPriority = 0
	SessionPriority1 SessionPriority = 1
	SessionPriority2 SessionPriority = 2
	SessionPriority3 SessionPriority = 3
	SessionPriority4 SessionPriority = 4
)

// PriviledgedSenderIndication is the Priviledged-Sender-Indication AVP (spelled as in the
// spec), TS 29.229 6.3.58.
type PriviledgedSenderIndication int32

const (
	NotPriviledgedSender PriviledgedSenderIndication = 0
	PriviledgedSender    PriviledgedSenderIndication = 1
)

// Bits of the *-Flags AVPs (bit 0 is the least significant).
const (
	UARFlagIMSEmergencyRegistration   uint32 = 1 << 0 // TS 29.229 6.3.38
	SARFlagPCSCFRestorationIndication uint32 = 1 << 0 // TS 29.229 6.3.61
	LIAFlagPSIDirectRoutingIndication uint32 = 1 << 0 // TS 29.229 6.3.59
	RTRFlagReferenceLocationInfo      uint32 = 1 << 0 // TS 29.229 6.3.66
)

// Cx Feature-List bits for Feature-List-ID 1, TS 29.229 7.2.1 Table 7.2.1.1.
const (
	FeatureSharedIFCSets            uint32 = 1 << 0
	FeatureAliasIndication          uint32 = 1 << 1
	FeatureIMSRestorationIndication uint32 = 1 << 2
	FeaturePCSCFRestoration         uint32 = 1 << 3
)

// SIP-Authentication-Scheme values, TS 29.229 6.3.9.
const (
	SchemeDigestAKAv1MD5   = "Digest-AKAv1-MD5"
	SchemeSIPDigest        = "SIP Digest"
	SchemeNASSBundled      = "NASS-Bundled"
	SchemeEarlyIMSSecurity = "Early-IMS-Security"
	SchemeUnknown          = "Unknown"
)

// ServerCapabilities is the Server-Capabilities grouped AVP, TS 29.229 6.3.4.
type ServerCapabilities struct {
	MandatoryCapability []uint32 `avp:"Mandatory-Capability"`
	OptionalCapability  []uint32 `avp:"Optional-Capability"`
	ServerName          []string `avp:"Server-Name"`
}

// SIPAuthDataItem is the SIP-Auth-Data-Item grouped AVP, TS 29.229 6.3.13. For AKA the
// MAA carries RAND||AUTN in SIPAuthenticate, XRES in SIPAuthorization and CK/IK; a MAR
// asking for resynchronisation carries RAND||AUTS in SIPAuthorization (TS 29.229 6.3.10,
// 6.3.11, TS 33.203).
type SIPAuthDataItem struct {
	SIPItemNumber            uint32                 `avp:"SIP-Item-Number,omitempty"`
	SIPAuthenticationScheme  string                 `avp:"SIP-Authentication-Scheme,omitempty"`
	SIPAuthenticate          []byte                 `avp:"SIP-Authenticate,omitempty"`
	SIPAuthorization         []byte                 `avp:"SIP-Authorization,omitempty"`
	SIPAuthenticationContext []byte                 `avp:"SIP-Authentication-Context,omitempty"`
	ConfidentialityKey       []byte                 `avp:"Confidentiality-Key,omitempty"`
	IntegrityKey             []byte                 `avp:"Integrity-Key,omitempty"`
	SIPDigestAuthenticate    *SIPDigestAuthenticate `avp:"SIP-Digest-Authenticate"`
	FramedIPAddress          []byte                 `avp:"Framed-IP-Address,omitempty"`
	FramedIPv6Prefix         []byte                 `avp:"Framed-IPv6-Prefix,omitempty"`
	FramedInterfaceID        uint64                 `avp:"Framed-Interface-Id,omitempty"`
}

// AKA parameter sizes, TS 33.102 6.3.
const (
	randLen = 16
	autnLen = 16
	autsLen = 14
)

// AKAChallenge returns the SIP-Authenticate value for AKA: RAND||AUTN (TS 29.229 6.3.10).
func AKAChallenge(rand, autn []byte) []byte {
	return append(append(make([]byte, 0, len(rand)+len(autn)), rand...), autn...)
}

// RANDAUTN splits an AKA SIP-Authenticate into RAND and AUTN; ok is false when the length
// is not 32 bytes.
func (i *SIPAuthDataItem) RANDAUTN() (rand, autn []byte, ok bool) {
	if len(i.SIPAuthenticate) != randLen+autnLen {
		return nil, nil, false
	}
	return i.SIPAuthenticate[:randLen], i.SIPAuthenticate[randLen:], true
}

// RANDAUTS splits the SIP-Authorization of a resynchronisation MAR into RAND and AUTS
// (TS 29.229 6.3.11); ok is false when the length is not 30 bytes.
func (i *SIPAuthDataItem) RANDAUTS() (rand, auts []byte, ok bool) {
	if len(i.SIPAuthorization) != randLen+autsLen {
		return nil, nil, false
	}
	return i.SIPAuthorization[:randLen], i.SIPAuthorization[randLen:], true
}

// SIPDigestAuthenticate is the SIP-Digest-Authenticate grouped AVP, TS 29.229 6.3.36, with
// the RFC 4590 digest AVPs.
type SIPDigestAuthenticate struct {
	DigestRealm     string `avp:"Digest-Realm"`
	DigestAlgorithm string `avp:"Digest-Algorithm,omitempty"`
	DigestQoP       string `avp:"Digest-QoP"`
	DigestHA1       string `avp:"Digest-HA1"`
}

// DeregistrationReason is the Deregistration-Reason grouped AVP, TS 29.229 6.3.16.
type DeregistrationReason struct {
	ReasonCode ReasonCode `avp:"Reason-Code"`
	ReasonInfo string     `avp:"Reason-Info,omitempty"`
}

// ChargingInformation is the Charging-Information grouped AVP, TS 29.229 6.3.19.
type ChargingInformation struct {
	PrimaryEventChargingFunctionName        string `avp:"Primary-Event-Charging-Function-Name,omitempty"`
	SecondaryEventChargingFunctionName      string `avp:"Secondary-Event-Charging-Function-Name,omitempty"`
	PrimaryChargingCollectionFunctionName   string `avp:"Primary-Charging-Collection-Function-Name,omitempty"`
	SecondaryChargingCollectionFunctionName string `avp:"Secondary-Charging-Collection-Function-Name,omitempty"`
}

// Identities is the content of Associated-Identities (TS 29.229 6.3.33) and
// Associated-Registered-Identities (6.3.50): private identities as User-Name AVPs.
type Identities struct {
	UserName []string `avp:"User-Name"`
}

// SCSCFRestorationInfo is the SCSCF-Restoration-Info grouped AVP, TS 29.229 6.3.46.
type SCSCFRestorationInfo struct {
	UserName                string            `avp:"User-Name"`
	RestorationInfo         []RestorationInfo `avp:"Restoration-Info"`
	RegistrationTimeOut     time.Time         `avp:"Registration-Time-Out,omitempty"`
	SIPAuthenticationScheme string            `avp:"SIP-Authentication-Scheme,omitempty"`
}

// RestorationInfo is the Restoration-Info grouped AVP, TS 29.229 6.3.52.
type RestorationInfo struct {
	Path                      string                 `avp:"Path"`
	Contact                   string                 `avp:"Contact"`
	InitialCSeqSequenceNumber *uint32                `avp:"Initial-CSeq-Sequence-Number"`
	CallIDSIPHeader           string                 `avp:"Call-ID-SIP-Header,omitempty"`
	SubscriptionInfo          *SubscriptionInfo      `avp:"Subscription-Info"`
	PCSCFSubscriptionInfo     *PCSCFSubscriptionInfo `avp:"P-CSCF-Subscription-Info"`
}

// SubscriptionInfo is the Subscription-Info grouped AVP, TS 29.229 6.3.47.
type SubscriptionInfo struct {
	CallIDSIPHeader string `avp:"Call-ID-SIP-Header"`
	FromSIPHeader   string `avp:"From-SIP-Header"`
	ToSIPHeader     string `avp:"To-SIP-Header"`
	RecordRoute     string `avp:"Record-Route"`
	Contact         string `avp:"Contact"`
}

// PCSCFSubscriptionInfo is the P-CSCF-Subscription-Info grouped AVP, TS 29.229 6.3.66.
type PCSCFSubscriptionInfo struct {
	CallIDSIPHeader string `avp:"Call-ID-SIP-Header"`
	FromSIPHeader   string `avp:"From-SIP-Header"`
	ToSIPHeader     string `avp:"To-SIP-Header"`
	Contact         string `avp:"Contact"`
}

// IdentityWithEmergencyRegistration is the grouped AVP of TS 29.229 6.3.57.
type IdentityWithEmergencyRegistration struct {
	UserName       string `avp:"User-Name"`
	PublicIdentity string `avp:"Public-Identity"`
}

// AllowedWAFWWSFIdentities is the Allowed-WAF-WWSF-Identities grouped AVP, TS 29.229 6.3.62.
type AllowedWAFWWSFIdentities struct {
	WebRTCAuthenticationFunctionName []string `avp:"WebRTC-Authentication-Function-Name"`
	WebRTCWebServerFunctionName      []string `avp:"WebRTC-Web-Server-Function-Name"`
}

// UAR is the User-Authorization-Request, TS 29.229 6.1.1.
type UAR struct {
	msg.RequestHeader
	UserName                 string                  `avp:"User-Name"`
	SupportedFeatures        []msg.SupportedFeatures `avp:"Supported-Features"`
	PublicIdentity           string                  `avp:"Public-Identity"`
	VisitedNetworkIdentifier string                  `avp:"Visited-Network-Identifier"`
	UserAuthorizationType    *UserAuthorizationType  `avp:"User-Authorization-Type"`
	UARFlags                 uint32                  `avp:"UAR-Flags,omitempty"`
}

// UAA is the User-Authorization-Answer, TS 29.229 6.1.2.
type UAA struct {
	msg.AnswerHeader
	SupportedFeatures  []msg.SupportedFeatures `avp:"Supported-Features"`
	ServerName         string                  `avp:"Server-Name,omitempty"`
	ServerCapabilities *ServerCapabilities     `avp:"Server-Capabilities"`
}

// SAR is the Server-Assignment-Request, TS 29.229 6.1.3.
type SAR struct {
	msg.RequestHeader
	UserName                       string                          `avp:"User-Name,omitempty"`
	SupportedFeatures              []msg.SupportedFeatures         `avp:"Supported-Features"`
	PublicIdentity                 []string                        `avp:"Public-Identity"`
	WildcardedPSI                  string                          `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU                 string                          `avp:"Wildcarded-IMPU,omitempty"`
	ServerName                     string                          `avp:"Server-Name"`
	ServerAssignmentType           ServerAssignmentType            `avp:"Server-Assignment-Type"`
	UserDataAlreadyAvailable       UserDataAlreadyAvailable        `avp:"User-Data-Already-Available"`
	SCSCFRestorationInfo           *SCSCFRestorationInfo           `avp:"SCSCF-Restoration-Info"`
	MultipleRegistrationIndication *MultipleRegistrationIndication `avp:"Multiple-Registration-Indication"`
	SessionPriority                *SessionPriority                `avp:"Session-Priority"`
	SARFlags                       uint32                          `avp:"SAR-Flags,omitempty"`
}

// SAA is the Server-Assignment-Answer, TS 29.229 6.1.4. UserData is the IMS subscription
// XML of TS 29.228 Annex E.
type SAA struct {
	msg.AnswerHeader
	UserName                       string                       `avp:"User-Name,omitempty"`
	SupportedFeatures              []msg.SupportedFeatures      `avp:"Supported-Features"`
	UserData                       string                       `avp:"User-Data,omitempty"`
	ChargingInformation            *ChargingInformation         `avp:"Charging-Information"`
	AssociatedIdentities           *Identities                  `avp:"Associated-Identities"`
	LooseRouteIndication           *LooseRouteIndication        `avp:"Loose-Route-Indication"`
	SCSCFRestorationInfo           []SCSCFRestorationInfo       `avp:"SCSCF-Restoration-Info"`
	AssociatedRegisteredIdentities *Identities                  `avp:"Associated-Registered-Identities"`
	ServerName                     string                       `avp:"Server-Name,omitempty"`
	WildcardedPSI                  string                       `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU                 string                       `avp:"Wildcarded-IMPU,omitempty"`
	PriviledgedSenderIndication    *PriviledgedSenderIndication `avp:"Priviledged-Sender-Indication"`
	AllowedWAFWWSFIdentities       *AllowedWAFWWSFIdentities    `avp:"Allowed-WAF-WWSF-Identities"`
}

// LIR is the Location-Info-Request, TS 29.229 6.1.5.
type LIR struct {
	msg.RequestHeader
	OriginatingRequest    *OriginatingRequest     `avp:"Originating-Request"`
	SupportedFeatures     []msg.SupportedFeatures `avp:"Supported-Features"`
	PublicIdentity        string                  `avp:"Public-Identity"`
	UserAuthorizationType *UserAuthorizationType  `avp:"User-Authorization-Type"`
	SessionPriority       *SessionPriority        `avp:"Session-Priority"`
}

// LIA is the Location-Info-Answer, TS 29.229 6.1.6.
type LIA struct {
	msg.AnswerHeader
	SupportedFeatures  []msg.SupportedFeatures `avp:"Supported-Features"`
	ServerName         string                  `avp:"Server-Name,omitempty"`
	ServerCapabilities *ServerCapabilities     `avp:"Server-Capabilities"`
	WildcardedPSI      string                  `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU     string                  `avp:"Wildcarded-IMPU,omitempty"`
	LIAFlags           uint32                  `avp:"LIA-Flags,omitempty"`
}

// MAR is the Multimedia-Auth-Request, TS 29.229 6.1.7.
type MAR struct {
	msg.RequestHeader
	UserName           string                  `avp:"User-Name"`
	SupportedFeatures  []msg.SupportedFeatures `avp:"Supported-Features"`
	PublicIdentity     string                  `avp:"Public-Identity"`
	SIPAuthDataItem    SIPAuthDataItem         `avp:"SIP-Auth-Data-Item"`
	SIPNumberAuthItems uint32                  `avp:"SIP-Number-Auth-Items"`
	ServerName         string                  `avp:"Server-Name"`
}

// MAA is the Multimedia-Auth-Answer, TS 29.229 6.1.8.
type MAA struct {
	msg.AnswerHeader
	UserName           string                  `avp:"User-Name,omitempty"`
	SupportedFeatures  []msg.SupportedFeatures `avp:"Supported-Features"`
	PublicIdentity     string                  `avp:"Public-Identity,omitempty"`
	SIPNumberAuthItems *uint32                 `avp:"SIP-Number-Auth-Items"`
	SIPAuthDataItem    []SIPAuthDataItem       `avp:"SIP-Auth-Data-Item"`
}

// RTR is the Registration-Termination-Request, TS 29.229 6.1.9.
type RTR struct {
	msg.RequestHeader
	UserName             string                  `avp:"User-Name"`
	AssociatedIdentities *Identities             `avp:"Associated-Identities"`
	SupportedFeatures    []msg.SupportedFeatures `avp:"Supported-Features"`
	PublicIdentity       []string                `avp:"Public-Identity"`
	DeregistrationReason DeregistrationReason    `avp:"Deregistration-Reason"`
	RTRFlags             uint32                  `avp:"RTR-Flags,omitempty"`
}

// RTA is the Registration-Termination-Answer, TS 29.229 6.1.10.
type RTA struct {
	msg.AnswerHeader
	AssociatedIdentities              *Identities                         `avp:"Associated-Identities"`
	SupportedFeatures                 []msg.SupportedFeatures             `avp:"Supported-Features"`
	IdentityWithEmergencyRegistration []IdentityWithEmergencyRegistration `avp:"Identity-with-Emergency-Registration"`
}

// PPR is the Push-Profile-Request, TS 29.229 6.1.11.
type PPR struct {
	msg.RequestHeader
	UserName                 string                    `avp:"User-Name"`
	SupportedFeatures        []msg.SupportedFeatures   `avp:"Supported-Features"`
	UserData                 string                    `avp:"User-Data,omitempty"`
	ChargingInformation      *ChargingInformation      `avp:"Charging-Information"`
	SIPAuthDataItem          *SIPAuthDataItem          `avp:"SIP-Auth-Data-Item"`
	AllowedWAFWWSFIdentities *AllowedWAFWWSFIdentities `avp:"Allowed-WAF-WWSF-Identities"`
}

// PPA is the Push-Profile-Answer, TS 29.229 6.1.12.
type PPA struct {
	msg.AnswerHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
}

// Message builds the request; see msg.NewRequest.
func (r *UAR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdUserAuthorization, dict.AppCx, r)
}

// Message builds the request; see msg.NewRequest.
func (r *SAR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdServerAssignment, dict.AppCx, r)
}

// Message builds the request; see msg.NewRequest.
func (r *LIR) Message() (*diam.Message, error) { return msg.NewRequest(CmdLocationInfo, dict.AppCx, r) }

// Message builds the request; see msg.NewRequest.
func (r *MAR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdMultimediaAuth, dict.AppCx, r)
}

// Message builds the request; see msg.NewRequest.
func (r *RTR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdRegistrationTermination, dict.AppCx, r)
}

// Message builds the request; see msg.NewRequest.
func (r *PPR) Message() (*diam.Message, error) { return msg.NewRequest(CmdPushProfile, dict.AppCx, r) }

// Message builds the answer to req; see msg.AnswerFor.
func (a *UAA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *SAA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *LIA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *MAA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *RTA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *PPA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}
