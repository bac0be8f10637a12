// Package store is the HSS subscriber store: authentication data, subscribers and their IMS
// subscriptions (TS 29.228), iFC sets, APN profiles and S-CSCF capability sets, kept in SQLite
// (embedded default), PostgreSQL or MySQL through gorm. gorm types never leave this package.
package store

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Algorithm is how a subscriber authenticates.
type Algorithm string

const (
	// AlgorithmMilenage is IMS AKA / EPS AKA with the Milenage functions (TS 35.206).
	AlgorithmMilenage Algorithm = "milenage"
	// AlgorithmDigest is SIP Digest (TS 33.203 Annex N, RFC 2617) with a password.
	AlgorithmDigest Algorithm = "digest"
)

// RegistrationState is the HSS's view of a public identity (TS 29.228 Table 8.1 "IMS User
// State" and 6.1.2: registered, unregistered (S-CSCF assigned for unregistered services) or not
// registered).
type RegistrationState string

const (
	StateNotRegistered RegistrationState = "NOT_REGISTERED"
	StateRegistered    RegistrationState = "REGISTERED"
	StateUnregistered  RegistrationState = "UNREGISTERED"
)

// PDNType is the IP version of a PDN connection (TS 29.272 7.3.62 PDN-Type).
type PDNType string

const (
	PDNTypeIPv4       PDNType = "ipv4"
	PDNTypeIPv6       PDNType = "ipv6"
	PDNTypeIPv4v6     PDNType = "ipv4v6"
	PDNTypeIPv4OrIPv6 PDNType = "ipv4_or_ipv6"
)

// MaxSQN is the largest sequence number: SQN is 48 bits (TS 33.102 6.3.2); it wraps to 0.
const MaxSQN = 1<<48 - 1

// Auth is a subscriber's authentication data. K, OP and OPc are 16 bytes, AMF 2 bytes
// (TS 33.102 6.3.2). Exactly one of OP and OPc is set for Milenage.
type Auth struct {
	K   []byte
	OP  []byte
	OPc []byte
	AMF []byte
	// SQN is the last sequence number handed out (or the one accepted on resynchronisation,
	// TS 33.102 6.3.5); the next authentication vector uses SQN+1.
	SQN       uint64
	Algorithm Algorithm
	// Password is the SIP Digest password (AlgorithmDigest only).
	Password string
}

// IMPU is one public user identity of an IMS subscription with its registration state.
type IMPU struct {
	URI string
	// Barred public identities cannot originate or receive sessions (TS 29.228 6.5.2.1).
	Barred bool
	// IRS names the implicit registration set (TS 29.228 6.5.2.1.1): identities with the same IRS
	// are registered together.
	IRS string
	// Default is the default public identity of its implicit registration set.
	Default bool
	State   RegistrationState
	// SCSCFName is the S-CSCF serving this identity, empty when none is assigned.
	SCSCFName string
}

// Charging holds the charging function addresses of a subscription (TS 29.229 6.3.19
// Charging-Information).
type Charging struct {
	CCFPrimary   string
	CCFSecondary string
	ECFPrimary   string
	ECFSecondary string
}

// IMS is a subscriber's IMS subscription: one private identity and its public identities.
type IMS struct {
	IMPI  string
	IMPUs []IMPU
	// IFCSet names the iFC set of the service profile; empty for none.
	IFCSet string
	// CapabilitySet names the S-CSCF capabilities the I-CSCF selects with; empty for none.
	CapabilitySet string
	Charging      Charging
	// SCSCFName is the S-CSCF assigned to the private identity (TS 29.228 6.1.2), empty when
	// none is.
	SCSCFName string
}

// IMPU returns the public identity uri of the subscription, nil when it has none such.
func (ims *IMS) IMPU(uri string) *IMPU {
	for i := range ims.IMPUs {
		if ims.IMPUs[i].URI == uri {
			return &ims.IMPUs[i]
		}
	}
	return nil
}

// Subscriber is one subscriber keyed by IMSI.
type Subscriber struct {
	IMSI    string
	MSISDN  string
	Enabled bool
	Auth    Auth
	// APNs names the APN profiles the subscriber may use, the first being the default (TS 29.272
	// 7.3.34 APN-Configuration-Profile).
	APNs []string
	// AMBRUL and AMBRDL are the subscribed UE-AMBR in bits per second (TS 29.272 7.3.41).
	AMBRUL uint64
	AMBRDL uint64
	// MMEHost and MMERealm identify the serving MME (set by S6a ULR), empty when none.
	MMEHost  string
	MMERealm string
	// IMS is nil for a subscriber without IMS service.
	IMS       *IMS
	CreatedAt time.Time
	UpdatedAt time.Time
}

// IFCSet is a named list of initial filter criteria in the XML of TS 29.228 Annex B, shared by
// every subscription that names it.
type IFCSet struct {
	Name        string
	Description string
	XML         string
	UpdatedAt   time.Time
}

// APNProfile is one APN configuration (TS 29.272 7.3.35 APN-Configuration).
type APNProfile struct {
	Name string
	// QCI is the QoS class identifier (TS 23.203 6.1.7), 1..255.
	QCI uint8
	// ARPPriority is the allocation and retention priority level (TS 29.212 5.3.45), 1..15.
	ARPPriority             uint8
	PreemptionCapability    bool
	PreemptionVulnerability bool
	// AMBRUL and AMBRDL are the APN-AMBR in bits per second.
	AMBRUL  uint64
	AMBRDL  uint64
	PDNType PDNType
}

// CapabilitySet is a set of S-CSCF capabilities (TS 29.228 6.7, TS 29.229 6.3.4
// Server-Capabilities): the I-CSCF picks an S-CSCF that has every mandatory capability, or one of
// the named servers.
type CapabilitySet struct {
	Name        string
	Mandatory   []uint32
	Optional    []uint32
	ServerNames []string
}

// Registration records an S-CSCF assignment or its removal (SAR, TS 29.228 6.1.2).
type Registration struct {
	IMPI string
	// IMPUs are the public identities whose state changes; each must belong to IMPI.
	IMPUs []string
	State RegistrationState
	// SCSCFName is the serving S-CSCF; it is also recorded for the private identity. Empty
	// clears the assignment.
	SCSCFName string
}

// Store is what the HSS and its REST API need from the subscriber database. Every method is one
// transaction: a failing call changes nothing.
type Store interface {
	// CreateSubscribers adds subscribers in one transaction. When one fails the error is a
	// *BatchError naming it and nothing is written.
	CreateSubscribers(ctx context.Context, subs ...*Subscriber) error
	// UpdateSubscriber replaces the provisioned data of an existing subscriber. A nil Auth.K keeps
	// the stored K, nil Auth.OP and Auth.OPc keep the stored OP/OPc, an empty Auth.Password keeps
	// the stored password; the SQN is written only when setSQN is true (a concurrent MAR must
	// not be rolled back). Registration state, S-CSCF and serving MME are kept for the
	// identities that remain.
	UpdateSubscriber(ctx context.Context, s *Subscriber, setSQN bool) error
	DeleteSubscriber(ctx context.Context, imsi string) error
	Subscriber(ctx context.Context, imsi string) (*Subscriber, error)
	SubscriberByIMPI(ctx context.Context, impi string) (*Subscriber, error)
	SubscriberByIMPU(ctx context.Context, impu string) (*Subscriber, error)
	SubscriberByMSISDN(ctx context.Context, msisdn string) (*Subscriber, error)
	// ListSubscribers returns up to limit subscribers ordered by IMSI from offset, and the total.
	ListSubscribers(ctx context.Context, offset, limit int) ([]*Subscriber, int64, error)

	// AuthByIMPI reads, in one query, the authentication data of the subscriber of the private
	// identity impi and, when impu belongs to impi, that public identity (AuthInfo.IMPU).
	AuthByIMPI(ctx context.Context, impi, impu string) (*AuthInfo, error)
	// AuthByIMSI reads, in one query, the authentication data of subscriber imsi.
	AuthByIMSI(ctx context.Context, imsi string) (*AuthInfo, error)
	// IMSByIMPI reads, in one query, the IMS subscription of the private identity impi (what
	// Cx SAR needs): Subscriber.IMS without the rest of the subscriber.
	IMSByIMPI(ctx context.Context, impi string) (*IMS, error)
	// IMSByIMPU reads, in one query, the IMS subscription that has the public identity impu
	// (what Cx LIR needs).
	IMSByIMPU(ctx context.Context, impu string) (*IMS, error)
	// AuthorizationByIMPI reads, in one query, whether the subscriber of the private identity
	// impi is enabled and its IMS subscription (what Cx UAR needs).
	AuthorizationByIMPI(ctx context.Context, impi string) (*Authorization, error)

	// ReserveSQN atomically hands out n sequence numbers: the returned Auth carries the first,
	// SQN+1 of the stored value, and the store advances to the last, so no SQN is ever given
	// twice, across concurrent calls and restarts.
	ReserveSQN(ctx context.Context, imsi string, n uint64) (Auth, error)
	// SetSQN stores sqn as the last used sequence number (resynchronisation or reset).
	SetSQN(ctx context.Context, imsi string, sqn uint64) error
	SetRegistration(ctx context.Context, r Registration) error
	// SetServingMME records the MME serving the subscriber (TS 29.272 5.2.1.1); empty clears it.
	SetServingMME(ctx context.Context, imsi, host, realm string) error
	// SetSCSCFHost records the Diameter Origin-Host of the S-CSCF whose Server-Name (SIP URI)
	// is serverName, replacing the one recorded, so that the HSS's requests to it (RTR, PPR)
	// carry its Destination-Host after a restart too (TS 29.229 6.1.9, 6.1.11).
	SetSCSCFHost(ctx context.Context, serverName, originHost string) error
	// SCSCFHost is the Origin-Host recorded for serverName; ErrNotFound when none is.
	SCSCFHost(ctx context.Context, serverName string) (string, error)

	CreateIFCSet(ctx context.Context, set *IFCSet) error
	UpdateIFCSet(ctx context.Context, set *IFCSet) error
	DeleteIFCSet(ctx context.Context, name string) error
	IFCSet(ctx context.Context, name string) (*IFCSet, error)
	ListIFCSets(ctx context.Context) ([]*IFCSet, error)
	// AssignedIMPIs lists the private identities that use the iFC set and have an S-CSCF
	// assigned: the ones whose S-CSCF must learn of a change (PPR, TS 29.228 6.2).
	AssignedIMPIs(ctx context.Context, ifcSet string) ([]string, error)

	CreateAPN(ctx context.Context, apn *APNProfile) error
	UpdateAPN(ctx context.Context, apn *APNProfile) error
	DeleteAPN(ctx context.Context, name string) error
	APN(ctx context.Context, name string) (*APNProfile, error)
	ListAPNs(ctx context.Context) ([]*APNProfile, error)

	CreateCapabilitySet(ctx context.Context, set *CapabilitySet) error
	UpdateCapabilitySet(ctx context.Context, set *CapabilitySet) error
	DeleteCapabilitySet(ctx context.Context, name string) error
	CapabilitySet(ctx context.Context, name string) (*CapabilitySet, error)
	ListCapabilitySets(ctx context.Context) ([]*CapabilitySet, error)

	Close() error
}

// Errors the store returns, wrapped; test them with errors.Is.
var (
	// ErrInvalid: the input breaks a rule (a *FieldError names the field).
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: no such subscriber, identity or profile.
	ErrNotFound = errors.New("not found")
	// ErrConflict: an IMSI, MSISDN, IMPI, IMPU or profile name already exists.
	ErrConflict = errors.New("already exists")
	// ErrInUse: the profile is still referenced by a subscriber.
	ErrInUse = errors.New("in use")
)

// FieldError is an error about one field of the input. Field is the dotted path of the REST
// API's JSON ("auth.k", "ims.impus[1]"); Err is ErrInvalid or ErrConflict.
type FieldError struct {
	Field string
	Msg   string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}
func (e *FieldError) Unwrap() error { return e.Err }

// BatchError is the failure of one subscriber of CreateSubscribers; Index is its position.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	return "subscriber " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
}
func (e *BatchError) Unwrap() error { return e.Err }
