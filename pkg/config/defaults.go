package config

import "time"

// The single-host defaults of CONTRACT.md, in one place so that every node's Defaults() and
// imslab agree on the wiring.
const (
	// HomeDomain is the home network domain and Diameter realm (TS 23.003 13.2).
	HomeDomain = "ims.mnc001.mcc001.3gppnetwork.org"
	// DefaultDataDir is where nodes keep their state when run without a config.
	DefaultDataDir = "./data"

	// Diameter endpoints: the CSCFs, ussd and smsip connect to the DRA, whose default route for
	// the home realm is the HSS.
	HSSDiameterAddr = "127.0.0.1:3868"
	DRADiameterAddr = "127.0.0.1:3869"

	// SIP endpoints (UDP and TCP).
	PCSCFSIPAddr = "127.0.0.1:5060"
	ICSCFSIPAddr = "127.0.0.1:4060"
	SCSCFSIPAddr = "127.0.0.1:6060"
	USSDSIPAddr  = "127.0.0.1:5065"
	SMSIPSIPAddr = "127.0.0.1:5066"

	// Admin HTTP servers (/healthz, /metrics; the HSS REST API on the HSS's).
	PCSCFAdminAddr = "127.0.0.1:9060"
	ICSCFAdminAddr = "127.0.0.1:9040"
	SCSCFAdminAddr = "127.0.0.1:9061"
	HSSAdminAddr   = "127.0.0.1:8080"
	DRAAdminAddr   = "127.0.0.1:9869"
	USSDAdminAddr  = "127.0.0.1:9065"
	SMSIPAdminAddr = "127.0.0.1:9066"

	// DefaultWatchdog is Tw (RFC 3539 3.4.1) and MinWatchdog its floor.
	DefaultWatchdog       = 30 * time.Second
	MinWatchdog           = 6 * time.Second
	DefaultRequestTimeout = 5 * time.Second
)

// OriginHost is the Diameter Origin-Host of a node in the home realm: <node>.<HomeDomain>.
func OriginHost(node string) string { return node + "." + HomeDomain }

// DRAPeer is the DRA as a peer of a client node, for the given applications.
func DRAPeer(apps ...string) Peer {
	return Peer{
		Host:     OriginHost("dra"),
		Realm:    HomeDomain,
		Endpoint: Endpoint{Network: NetworkTCP, Addr: DRADiameterAddr},
		Apps:     apps,
	}
}
