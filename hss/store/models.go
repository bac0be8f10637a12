package store

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// The gorm rows, one per table of migrate.go. Keys are stored as lower-case hex so that one
// column type (VARCHAR) serves the three databases.

type subscriberRow struct {
	IMSI      string    `gorm:"column:imsi;primaryKey"`
	MSISDN    *string   `gorm:"column:msisdn"`
	Enabled   bool      `gorm:"column:enabled"`
	AMBRUL    int64     `gorm:"column:ambr_ul"`
	AMBRDL    int64     `gorm:"column:ambr_dl"`
	MMEHost   string    `gorm:"column:mme_host"`
	MMERealm  string    `gorm:"column:mme_realm"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (subscriberRow) TableName() string { return "subscribers" }

type authRow struct {
	IMSI      string `gorm:"column:imsi;primaryKey"`
	K         string `gorm:"column:k"`
	OP        string `gorm:"column:op"`
	OPc       string `gorm:"column:opc"`
	AMF       string `gorm:"column:amf"`
	SQN       int64  `gorm:"column:sqn"`
	Algorithm string `gorm:"column:algorithm"`
	Password  string `gorm:"column:password"`
}

func (authRow) TableName() string { return "auth_data" }

type subscriberAPNRow struct {
	IMSI string `gorm:"column:imsi;primaryKey"`
	APN  string `gorm:"column:apn;primaryKey"`
	Ord  int    `gorm:"column:ord"`
}

func (subscriberAPNRow) TableName() string { return "subscriber_apns" }

type imsRow struct {
	IMPI          string  `gorm:"column:impi;primaryKey"`
	IMSI          string  `gorm:"column:imsi"`
	IFCSet        *string `gorm:"column:ifc_set"`
	CapabilitySet *string `gorm:"column:capability_set"`
	CCFPrimary    string  `gorm:"column:ccf_primary"`
	CCFSecondary  string  `gorm:"column:ccf_secondary"`
	ECFPrimary    string  `gorm:"column:ecf_primary"`
	ECFSecondary  string  `gorm:"column:ecf_secondary"`
	SCSCFName     string  `gorm:"column:scscf_name"`
}

func (imsRow) TableName() string { return "ims_subscriptions" }

type impuRow struct {
	URI       string `gorm:"column:uri;primaryKey"`
	IMPI      string `gorm:"column:impi"`
	Ord       int    `gorm:"column:ord"`
	Barred    bool   `gorm:"column:barred"`
	IRS       string `gorm:"column:irs_id"`
	Default   bool   `gorm:"column:is_default"`
	State     string `gorm:"column:reg_state"`
	SCSCFName string `gorm:"column:scscf_name"`
}

func (impuRow) TableName() string { return "impus" }

type ifcSetRow struct {
	Name        string    `gorm:"column:name;primaryKey"`
	Description string    `gorm:"column:description"`
	XML         string    `gorm:"column:ifc_xml"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

func (ifcSetRow) TableName() string { return "ifc_sets" }

type apnRow struct {
	Name                    string `gorm:"column:name;primaryKey"`
	QCI                     int    `gorm:"column:qci"`
	ARPPriority             int    `gorm:"column:arp_priority"`
	PreemptionCapability    bool   `gorm:"column:preemption_capability"`
	PreemptionVulnerability bool   `gorm:"column:preemption_vulnerability"`
	AMBRUL                  int64  `gorm:"column:ambr_ul"`
	AMBRDL                  int64  `gorm:"column:ambr_dl"`
	PDNType                 string `gorm:"column:pdn_type"`
}

func (apnRow) TableName() string { return "apn_profiles" }

type capabilitySetRow struct {
	Name        string `gorm:"column:name;primaryKey"`
	Mandatory   string `gorm:"column:mandatory_caps"`
	Optional    string `gorm:"column:optional_caps"`
	ServerNames string `gorm:"column:server_names"`
}

func (capabilitySetRow) TableName() string { return "scscf_capability_sets" }

type scscfHostRow struct {
	ServerName string    `gorm:"column:server_name;primaryKey"`
	OriginHost string    `gorm:"column:origin_host"`
	UpdatedAt  time.Time `gorm:"column:updated_at"`
}

func (scscfHostRow) TableName() string { return "scscf_hosts" }

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// bytesOf reads a stored key; the empty string is an absent key.
func bytesOf(s string) []byte {
	if s == "" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		// Only this package writes the column, always through hexOf.
		return nil
	}
	return b
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func joinUints(v []uint32) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.FormatUint(uint64(n), 10)
	}
	return strings.Join(parts, ",")
}

func splitUints(s string) []uint32 {
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		if n, err := strconv.ParseUint(part, 10, 32); err == nil {
			out = append(out, uint32(n))
		}
	}
	return out
}

func (r *authRow) auth() Auth {
	return Auth{K: bytesOf(r.K), OP: bytesOf(r.OP), OPc: bytesOf(r.OPc), AMF: bytesOf(r.AMF),
		SQN: uint64(r.SQN), Algorithm: Algorithm(r.Algorithm), Password: r.Password}
}

// ims is the subscription of the row, without its public identities.
func (r *imsRow) ims() *IMS {
	return &IMS{IMPI: r.IMPI, IFCSet: deref(r.IFCSet), CapabilitySet: deref(r.CapabilitySet),
		Charging: Charging{CCFPrimary: r.CCFPrimary, CCFSecondary: r.CCFSecondary,
			ECFPrimary: r.ECFPrimary, ECFSecondary: r.ECFSecondary},
		SCSCFName: r.SCSCFName}
}

func (r *apnRow) profile() *APNProfile {
	return &APNProfile{Name: r.Name, QCI: uint8(r.QCI), ARPPriority: uint8(r.ARPPriority),
		PreemptionCapability: r.PreemptionCapability, PreemptionVulnerability: r.PreemptionVulnerability,
		AMBRUL: uint64(r.AMBRUL), AMBRDL: uint64(r.AMBRDL), PDNType: PDNType(r.PDNType)}
}

func apnRowOf(p *APNProfile) apnRow {
	return apnRow{Name: p.Name, QCI: int(p.QCI), ARPPriority: int(p.ARPPriority),
		PreemptionCapability: p.PreemptionCapability, PreemptionVulnerability: p.PreemptionVulnerability,
		AMBRUL: int64(p.AMBRUL), AMBRDL: int64(p.AMBRDL), PDNType: string(p.PDNType)}
}

func (r *capabilitySetRow) set() *CapabilitySet {
	return &CapabilitySet{Name: r.Name, Mandatory: splitUints(r.Mandatory), Optional: splitUints(r.Optional),
		ServerNames: strings.Fields(r.ServerNames)}
}

func capabilitySetRowOf(c *CapabilitySet) capabilitySetRow {
	return capabilitySetRow{Name: c.Name, Mandatory: joinUints(c.Mandatory), Optional: joinUints(c.Optional),
		ServerNames: strings.Join(c.ServerNames, " ")}
}

func (r *ifcSetRow) set() *IFCSet {
	return &IFCSet{Name: r.Name, Description: r.Description, XML: r.XML, UpdatedAt: r.UpdatedAt}
}
