// Package ifc holds the initial Filter Criteria model of TS 29.228 Annex B, its XML form
// (the Cx-User-Data IMSSubscription document of TS 29.228 Annex E) and the evaluator the
// S-CSCF runs on initial requests (TS 29.228 Annex C, TS 24.229 5.4.3.2 / 5.4.3.3).
//
// The package does no I/O and knows nothing of SIP stacks or Diameter: the HSS parses and
// validates iFC sets and builds the User-Data AVP with it, the S-CSCF fills a Request from its
// SIP message and asks Evaluate for the next Application Server.
package ifc

import (
	"regexp"
	"strconv"
)

// IMSSubscription is the Cx-User-Data document (TS 29.228 Annex B.2.1, tIMSSubscription).
type IMSSubscription struct {
	PrivateID       string
	ServiceProfiles []ServiceProfile
}

// ServiceProfile is one tServiceProfile: the identities sharing it and their filter criteria.
type ServiceProfile struct {
	PublicIdentities                 []PublicIdentity
	CoreNetworkServicesAuthorization *CoreNetworkServicesAuthorization
	InitialFilterCriteria            []InitialFilterCriteria
	// SharedIFCSetIDs are carried in the ServiceProfile Extension (TS 29.228 B.2.1, Rel-7+).
	SharedIFCSetIDs []int
}

// PublicIdentity is one tPublicIdentity. IdentityType, WildcardedPSI (Extension) and
// DisplayName (Extension/Extension) are flattened here; the codec puts them where the XSD wants.
type PublicIdentity struct {
	Identity          string
	BarringIndication bool
	// IdentityType is nil when the element is absent, which means a public user identity.
	IdentityType  *IdentityType
	WildcardedPSI string
	DisplayName   string
}

// CoreNetworkServicesAuthorization is tCoreNetworkServicesAuthorization.
type CoreNetworkServicesAuthorization struct {
	// SubscribedMediaProfileID is nil when absent; 0 is a valid profile.
	SubscribedMediaProfileID *int
}

// InitialFilterCriteria is one tInitialFilterCriteria.
type InitialFilterCriteria struct {
	// Priority orders the iFCs of a profile, lowest first. The parsers set it to -1 when the
	// element is missing so that Validate can report it.
	Priority int
	// TriggerPoint nil means the AS is invoked unconditionally (TS 29.228 B.2.2).
	TriggerPoint      *TriggerPoint
	ApplicationServer ApplicationServer
	// ProfilePartIndicator nil means the iFC applies in registered and unregistered state.
	ProfilePartIndicator *ProfilePartIndicator
}

// TriggerPoint is tTrigger: the SPTs and how their Groups combine.
type TriggerPoint struct {
	// ConditionTypeCNF true: the trigger is an AND of groups, each group an OR of its SPTs
	// (conjunctive normal form). False: an OR of groups, each an AND (disjunctive normal form).
	ConditionTypeCNF bool
	SPT              []SPT
}

// SPT is one Service Point Trigger (tSePoTri). Exactly one of RequestURI, Method, SIPHeader,
// SessionCase and SessionDescription is set. RegistrationType (carried in the SPT Extension)
// narrows a Method SPT of "REGISTER".
type SPT struct {
	ConditionNegated bool
	// Group lists the groups this SPT belongs to; an SPT may sit in several.
	Group []int

	// RequestURI is a regular expression matched against the Request-URI.
	RequestURI string
	// Method is compared with the request method, ignoring case.
	Method string
	// SIPHeader matches a header by name, and its values by regular expression when Content is set.
	SIPHeader   *SIPHeader
	SessionCase *SessionCase
	// SessionDescription matches SDP lines of one type, and their values by regular expression.
	SessionDescription *SessionDescription
	RegistrationType   []RegistrationType

	// re caches the compiled form of RequestURI or the Content of SIPHeader or
	// SessionDescription; reSrc is the pattern it was compiled from, so a pattern changed after
	// Compile is never matched with a stale regexp.
	re    *regexp.Regexp
	reSrc string
	// hdrKey caches headerKey(SIPHeader.Header) for hdrSrc, the name it was made from.
	hdrKey, hdrSrc string
}

// SIPHeader is tHeader. An empty Content means "the header is present".
type SIPHeader struct {
	Header  string
	Content string
}

// SessionDescription is tSessionDescription: Line is the SDP line type ("m", "c", "a", ...).
// An empty Content means "a line of that type is present".
type SessionDescription struct {
	Line    string
	Content string
}

// ApplicationServer is tApplicationServer; the two Include flags are the Rel-9
// tApplicationServerExtension empty elements (TS 24.229 5.4.1.7 third-party REGISTER body).
type ApplicationServer struct {
	ServerName              string
	DefaultHandling         DefaultHandling
	ServiceInfo             string
	IncludeRegisterRequest  bool
	IncludeRegisterResponse bool
}

// SessionCase is tDirectionOfRequest.
type SessionCase uint8

// TS 29.228 B.2.2 tDirectionOfRequest values.
const (
	SessionCaseOriginating             SessionCase = 0
	SessionCaseTerminatingRegistered   SessionCase = 1
	SessionCaseTerminatingUnregistered SessionCase = 2
	SessionCaseOriginatingUnregistered SessionCase = 3
	SessionCaseOriginatingCDIV         SessionCase = 4
)

func (c SessionCase) String() string {
	switch c {
	case SessionCaseOriginating:
		return "ORIGINATING"
	case SessionCaseTerminatingRegistered:
		return "TERMINATING_REGISTERED"
	case SessionCaseTerminatingUnregistered:
		return "TERMINATING_UNREGISTERED"
	case SessionCaseOriginatingUnregistered:
		return "ORIGINATING_UNREGISTERED"
	case SessionCaseOriginatingCDIV:
		return "ORIGINATING_CDIV"
	}
	return "SessionCase(" + strconv.Itoa(int(c)) + ")"
}

// RegistrationType is tRegistrationType, the kind of REGISTER a Method SPT matches.
type RegistrationType uint8

// TS 29.228 B.2.2 tRegistrationType values.
const (
	RegistrationTypeInitialRegistration RegistrationType = 0
	RegistrationTypeReRegistration      RegistrationType = 1
	RegistrationTypeDeRegistration      RegistrationType = 2
)

func (r RegistrationType) String() string {
	switch r {
	case RegistrationTypeInitialRegistration:
		return "INITIAL_REGISTRATION"
	case RegistrationTypeReRegistration:
		return "RE_REGISTRATION"
	case RegistrationTypeDeRegistration:
		return "DE_REGISTRATION"
	}
	return "RegistrationType(" + strconv.Itoa(int(r)) + ")"
}

// DefaultHandling is tDefaultHandling: what the S-CSCF does when the AS does not answer.
type DefaultHandling uint8

// TS 29.228 B.2.2 tDefaultHandling values.
const (
	DefaultHandlingSessionContinued  DefaultHandling = 0
	DefaultHandlingSessionTerminated DefaultHandling = 1
)

func (d DefaultHandling) String() string {
	switch d {
	case DefaultHandlingSessionContinued:
		return "SESSION_CONTINUED"
	case DefaultHandlingSessionTerminated:
		return "SESSION_TERMINATED"
	}
	return "DefaultHandling(" + strconv.Itoa(int(d)) + ")"
}

// ProfilePartIndicator is tProfilePartIndicator.
type ProfilePartIndicator uint8

// TS 29.228 B.2.2 tProfilePartIndicator values.
const (
	ProfilePartIndicatorRegistered   ProfilePartIndicator = 0
	ProfilePartIndicatorUnregistered ProfilePartIndicator = 1
)

func (p ProfilePartIndicator) String() string {
	switch p {
	case ProfilePartIndicatorRegistered:
		return "REGISTERED"
	case ProfilePartIndicatorUnregistered:
		return "UNREGISTERED"
	}
	return "ProfilePartIndicator(" + strconv.Itoa(int(p)) + ")"
}

// IdentityType is tIdentityType of a PublicIdentity Extension.
type IdentityType uint8

// TS 29.228 B.2.1 tIdentityType values.
const (
	IdentityTypePublicUserIdentity IdentityType = 0
	IdentityTypeDistinctPSI        IdentityType = 1
	IdentityTypeWildcardedPSI      IdentityType = 2
	IdentityTypeWildcardedIMPU     IdentityType = 3
)

func (t IdentityType) String() string {
	switch t {
	case IdentityTypePublicUserIdentity:
		return "PUBLIC_USER_IDENTITY"
	case IdentityTypeDistinctPSI:
		return "DISTINCT_PSI"
	case IdentityTypeWildcardedPSI:
		return "WILDCARDED_PSI"
	case IdentityTypeWildcardedIMPU:
		return "WILDCARDED_IMPU"
	}
	return "IdentityType(" + strconv.Itoa(int(t)) + ")"
}
