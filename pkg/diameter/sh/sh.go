// Package sh holds the Sh messages (3GPP TS 29.328, TS 29.329) as typed Go structs. The
// tags name the AVPs of pkg/diameter/dict; pkg/diameter/msg encodes and decodes them. Sh
// reuses Cx AVPs and types (TS 29.329 Table 6.3.2).
package sh

import (
	"time"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

// Command codes, TS 29.329 6.1 Table 6.1.1.
const (
	CmdUserData               uint32 = 306
	CmdProfileUpdate          uint32 = 307
	CmdSubscribeNotifications uint32 = 308
	CmdPushNotification       uint32 = 309
)

// Experimental-Result-Code values, TS 29.329 6.2 (sent with Vendor-Id 10415).
const (
	DiameterErrorUserUnknown              uint32 = 5001
	DiameterErrorIdentitiesDontMatch      uint32 = 5002
	DiameterErrorTooMuchData              uint32 = 5008
	DiameterErrorFeatureUnsupported       uint32 = 5011
	DiameterErrorUserDataNotRecognized    uint32 = 5100
	DiameterErrorOperationNotAllowed      uint32 = 5101
	DiameterErrorUserDataCannotBeRead     uint32 = 5102
	DiameterErrorUserDataCannotBeModified uint32 = 5103
	DiameterErrorUserDataCannotBeNotified uint32 = 5104
	DiameterErrorTransparentDataOutOfSync uint32 = 5105
	DiameterErrorSubsDataAbsent           uint32 = 5106
	DiameterErrorNoSubscriptionToData     uint32 = 5107
	DiameterErrorDSAINotAvailable         uint32 = 5108
	DiameterUserDataNotAvailable          uint32 = 4100
	DiameterPriorUpdateInProgress         uint32 = 4101
)

// DataReference is the Data-Reference AVP, TS 29.329 6.3.4.
type DataReference int32

const (
	DataReferenceRepositoryData                    DataReference = 0
	DataReferenceIMSPublicIdentity                 DataReference = 10
	DataReferenceIMSUserState                      DataReference = 11
	DataReferenceSCSCFName                         DataReference = 12
	DataReferenceInitialFilterCriteria             DataReference = 13
	DataReferenceLocationInformation               DataReference = 14
	DataReferenceUserState                         DataReference = 15
	DataReferenceChargingInformation               DataReference = 16
	DataReferenceMSISDN                            DataReference = 17
	DataReferencePSIActivation                     DataReference = 18
	DataReferenceDSAI                              DataReference = 19
	DataReferenceServiceLevelTraceInfo             DataReference = 21
	DataReferenceIPAddressSecureBindingInformation DataReference = 22
	DataReferenceServicePriorityLevel              DataReference = 23
	DataReferenceSMSRegistrationInfo               DataReference = 24
	DataReferenceUEReachabilityForIP               DataReference = 25
	DataReferenceTADSInformation                   DataReference = 26
	DataReferenceSTNSR                             DataReference = 27
	DataReferenceUESRVCCCapability                 DataReference = 28
	DataReferenceExtendedPriority                  DataReference = 29
	DataReferenceCSRN                              DataReference = 30
	DataReferenceReferenceLocationInformation      DataReference = 31
	DataReferenceIMSI                              DataReference = 32
	DataReferenceIMSPrivateUserIdentity            DataReference = 33
	DataReferenceIMEISV                            DataReference = 34
	DataReferenceUE5GSRVCCCapability               DataReference = 35
)

// SubsReqType is the Subs-Req-Type AVP, TS 29.329 6.3.6.
type SubsReqType int32

const (
	SubsReqTypeSubscribe   SubsReqType = 0
	SubsReqTypeUnsubscribe SubsReqType = 1
)

// RequestedDomain is the Requested-Domain AVP, TS 29.329 6.3.7.
type RequestedDomain int32

const (
	RequestedDomainCS RequestedDomain = 0
	RequestedDomainPS RequestedDomain = 1
)

// CurrentLocation is the Current-Location AVP, TS 29.329 6.3.8.
type CurrentLocation int32

const (
	CurrentLocationDoNotNeedInitiateActiveLocationRetrieval CurrentLocation = 0
	CurrentLocationInitiateActiveLocationRetrieval          CurrentLocation = 1
)

// IdentitySet is the Identity-Set AVP, TS 29.329 6.3.10.
type IdentitySet int32

const (
	IdentitySetAllIdentities        IdentitySet = 0
	IdentitySetRegisteredIdentities IdentitySet = 1
	IdentitySetImplicitIdentities   IdentitySet = 2
	IdentitySetAliasIdentities      IdentitySet = 3
)

// SendDataIndication is the Send-Data-Indication AVP, TS 29.329 6.3.17.
type SendDataIndication int32

const (
	UserDataNotRequested SendDataIndication = 0
	UserDataRequested    SendDataIndication = 1
)

// OneTimeNotification is the One-Time-Notification AVP, TS 29.329 6.3.22.
type OneTimeNotification int32

// OneTimeNotificationRequested is its only value.
const OneTimeNotificationRequested OneTimeNotification = 0

// ServingNodeIndication is the Serving-Node-Indication AVP, TS 29.329 6.3.23.
type ServingNodeIndication int32

// OnlyServingNodesRequired is its only value.
const OnlyServingNodesRequired ServingNodeIndication = 0

// PrePagingSupported is the Pre-paging-Supported AVP, TS 29.329 6.3.26.
type PrePagingSupported int32

const (
	PrePagingNotSupported PrePagingSupported = 0
	PrePagingIsSupported  PrePagingSupported = 1
)

// LocalTimeZoneIndication is the Local-Time-Zone-Indication AVP, TS 29.329 6.3.27.
type LocalTimeZoneIndication int32

const (
	OnlyLocalTimeZoneRequested             LocalTimeZoneIndication = 0
	LocalTimeZoneWithLocationInfoRequested LocalTimeZoneIndication = 1
)

// Bits of Requested-Nodes (TS 29.329 6.3.7A) and UDR-Flags (6.3.28).
const (
	RequestedNodeMME                       uint32 = 1 << 0
	RequestedNodeSGSN                      uint32 = 1 << 1
	RequestedNode3GPPAAAServerTWAN         uint32 = 1 << 2
	RequestedNodeAMF                       uint32 = 1 << 3
	UDRFlagLocationInformationEPSSupported uint32 = 1 << 0
	UDRFlagRATTypeRequested                uint32 = 1 << 1
)

// UserIdentity is the User-Identity grouped AVP, TS 29.329 6.3.1: exactly one of its fields
// is set. MSISDN is TBCD-encoded (TS 29.329 6.3.2; see msg.EncodeTBCD).
type UserIdentity struct {
	PublicIdentity     string `avp:"Public-Identity,omitempty"`
	MSISDN             []byte `avp:"MSISDN,omitempty"`
	ExternalIdentifier string `avp:"External-Identifier,omitempty"`
}

// RepositoryDataID is the Repository-Data-ID grouped AVP, TS 29.329 6.3.24.
type RepositoryDataID struct {
	ServiceIndication string `avp:"Service-Indication"`
	SequenceNumber    uint32 `avp:"Sequence-Number"`
}

// CallReferenceInfo is the Call-Reference-Info grouped AVP, TS 29.329 6.3.29.
type CallReferenceInfo struct {
	CallReferenceNumber []byte `avp:"Call-Reference-Number"`
	ASNumber            []byte `avp:"AS-Number"`
}

// UDR is the User-Data-Request, TS 29.329 6.1.1.
type UDR struct {
	msg.RequestHeader
	SupportedFeatures       []msg.SupportedFeatures  `avp:"Supported-Features"`
	UserIdentity            UserIdentity             `avp:"User-Identity"`
	WildcardedPSI           string                   `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU          string                   `avp:"Wildcarded-IMPU,omitempty"`
	ServerName              string                   `avp:"Server-Name,omitempty"`
	ServiceIndication       []string                 `avp:"Service-Indication"`
	DataReference           []DataReference          `avp:"Data-Reference"`
	IdentitySet             []IdentitySet            `avp:"Identity-Set"`
	RequestedDomain         *RequestedDomain         `avp:"Requested-Domain"`
	CurrentLocation         *CurrentLocation         `avp:"Current-Location"`
	DSAITag                 []string                 `avp:"DSAI-Tag"`
	SessionPriority         *cx.SessionPriority      `avp:"Session-Priority"`
	UserName                string                   `avp:"User-Name,omitempty"`
	RequestedNodes          uint32                   `avp:"Requested-Nodes,omitempty"`
	ServingNodeIndication   *ServingNodeIndication   `avp:"Serving-Node-Indication"`
	PrePagingSupported      *PrePagingSupported      `avp:"Pre-paging-Supported"`
	LocalTimeZoneIndication *LocalTimeZoneIndication `avp:"Local-Time-Zone-Indication"`
	UDRFlags                uint32                   `avp:"UDR-Flags,omitempty"`
	CallReferenceInfo       *CallReferenceInfo       `avp:"Call-Reference-Info"`
}

// UDA is the User-Data-Answer, TS 29.329 6.1.2. UserData is the Sh-Data XML of TS 29.328
// Annex D.
type UDA struct {
	msg.AnswerHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
	WildcardedPSI     string                  `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU    string                  `avp:"Wildcarded-IMPU,omitempty"`
	UserData          string                  `avp:"User-Data,omitempty"`
}

// PUR is the Profile-Update-Request, TS 29.329 6.1.3.
type PUR struct {
	msg.RequestHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
	UserIdentity      UserIdentity            `avp:"User-Identity"`
	WildcardedPSI     string                  `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU    string                  `avp:"Wildcarded-IMPU,omitempty"`
	UserName          string                  `avp:"User-Name,omitempty"`
	DataReference     []DataReference         `avp:"Data-Reference"`
	UserData          string                  `avp:"User-Data"`
}

// PUA is the Profile-Update-Answer, TS 29.329 6.1.4.
type PUA struct {
	msg.AnswerHeader
	WildcardedPSI     string                  `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU    string                  `avp:"Wildcarded-IMPU,omitempty"`
	RepositoryDataID  *RepositoryDataID       `avp:"Repository-Data-ID"`
	DataReference     *DataReference          `avp:"Data-Reference"`
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
}

// SNR is the Subscribe-Notifications-Request, TS 29.329 6.1.5.
type SNR struct {
	msg.RequestHeader
	SupportedFeatures   []msg.SupportedFeatures `avp:"Supported-Features"`
	UserIdentity        UserIdentity            `avp:"User-Identity"`
	WildcardedPSI       string                  `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU      string                  `avp:"Wildcarded-IMPU,omitempty"`
	ServiceIndication   []string                `avp:"Service-Indication"`
	SendDataIndication  *SendDataIndication     `avp:"Send-Data-Indication"`
	ServerName          string                  `avp:"Server-Name,omitempty"`
	SubsReqType         SubsReqType             `avp:"Subs-Req-Type"`
	DataReference       []DataReference         `avp:"Data-Reference"`
	IdentitySet         []IdentitySet           `avp:"Identity-Set"`
	ExpiryTime          time.Time               `avp:"Expiry-Time,omitempty"`
	DSAITag             []string                `avp:"DSAI-Tag"`
	OneTimeNotification *OneTimeNotification    `avp:"One-Time-Notification"`
	UserName            string                  `avp:"User-Name,omitempty"`
}

// SNA is the Subscribe-Notifications-Answer, TS 29.329 6.1.6.
type SNA struct {
	msg.AnswerHeader
	WildcardedPSI     string                  `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU    string                  `avp:"Wildcarded-IMPU,omitempty"`
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
	UserData          string                  `avp:"User-Data,omitempty"`
	ExpiryTime        time.Time               `avp:"Expiry-Time,omitempty"`
}

// PNR is the Push-Notification-Request, TS 29.329 6.1.7.
type PNR struct {
	msg.RequestHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
	UserIdentity      UserIdentity            `avp:"User-Identity"`
	WildcardedPSI     string                  `avp:"Wildcarded-PSI,omitempty"`
	WildcardedIMPU    string                  `avp:"Wildcarded-IMPU,omitempty"`
	UserName          string                  `avp:"User-Name,omitempty"`
	UserData          string                  `avp:"User-Data"`
}

// PNA is the Push-Notification-Answer, TS 29.329 6.1.8.
type PNA struct {
	msg.AnswerHeader
	SupportedFeatures []msg.SupportedFeatures `avp:"Supported-Features"`
}

// Message builds the request; see msg.NewRequest.
func (r *UDR) Message() (*diam.Message, error) { return msg.NewRequest(CmdUserData, dict.AppSh, r) }

// Message builds the request; see msg.NewRequest.
func (r *PUR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdProfileUpdate, dict.AppSh, r)
}

// Message builds the request; see msg.NewRequest.
func (r *SNR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdSubscribeNotifications, dict.AppSh, r)
}

// Message builds the request; see msg.NewRequest.
func (r *PNR) Message() (*diam.Message, error) {
	return msg.NewRequest(CmdPushNotification, dict.AppSh, r)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *UDA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *PUA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *SNA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}

// Message builds the answer to req; see msg.AnswerFor.
func (a *PNA) Message(req *diam.Message, id msg.Identity) (*diam.Message, error) {
	return msg.AnswerFor(req, id, a)
}
