package peer

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/msg"
)

// newCER builds our Capabilities-Exchange-Request (RFC 6733 §5.3.1).
func (n *Node) newCER(local net.Addr) *diam.Message {
	m := diam.NewMessage(diam.CapabilitiesExchange, diam.RequestFlag, 0, n.nextHopByHop(), n.nextEndToEnd(), n.dict)
	n.addCapabilities(m, local)
	return m
}

// newCEA answers a CER (RFC 6733 §5.3.2) with code; the capabilities follow the Result-Code.
func (n *Node) newCEA(cer *diam.Message, code uint32, local net.Addr) *diam.Message {
	flags := uint8(0)
	if msg.IsProtocolError(code) {
		flags = diam.ErrorFlag
	}
	m := diam.NewMessage(diam.CapabilitiesExchange, flags, 0, cer.Header.HopByHopID, cer.Header.EndToEndID, n.dict)
	m.NewAVP(avp.ResultCode, avp.Mbit, 0, datatype.Unsigned32(code))
	n.addCapabilities(m, local)
	return m
}

func (n *Node) addCapabilities(m *diam.Message, local net.Addr) {
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(n.cfg.Identity.Host))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(n.cfg.Identity.Realm))
	ips := n.cfg.HostIPAddresses
	if len(ips) == 0 {
		ips = []net.IP{addrIP(local)}
	}
	for _, ip := range ips {
		m.NewAVP(avp.HostIPAddress, avp.Mbit, 0, datatype.Address(ip))
	}
	m.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(n.cfg.VendorID))
	m.NewAVP(avp.ProductName, 0, 0, datatype.UTF8String(n.cfg.ProductName))
	m.NewAVP(avp.OriginStateID, avp.Mbit, 0, datatype.Unsigned32(n.stateID))
	var vendors []uint32
	for _, a := range n.cfg.Apps {
		if a.Vendor != 0 && !slices.Contains(vendors, a.Vendor) {
			vendors = append(vendors, a.Vendor)
			m.NewAVP(avp.SupportedVendorID, avp.Mbit, 0, datatype.Unsigned32(a.Vendor))
		}
	}
	for _, a := range n.cfg.Apps {
		if a.Vendor == 0 {
			m.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(a.ID))
			continue
		}
		m.NewAVP(avp.VendorSpecificApplicationID, avp.Mbit, 0, &diam.GroupedAVP{AVP: []*diam.AVP{
			diam.NewAVP(avp.VendorID, avp.Mbit, 0, datatype.Unsigned32(a.Vendor)),
			diam.NewAVP(avp.AuthApplicationID, avp.Mbit, 0, datatype.Unsigned32(a.ID)),
		}})
	}
}

// advertised returns the applications a CER or CEA lists: Auth- and Acct-Application-Id, at
// the top level or inside Vendor-Specific-Application-Id (RFC 6733 §5.3.1, §6.11).
func advertised(m *diam.Message) []App {
	var apps []App
	add := func(a App) {
		if !slices.ContainsFunc(apps, func(b App) bool { return b.ID == a.ID }) {
			apps = append(apps, a)
		}
	}
	for _, a := range m.AVP {
		switch a.Code {
		case avp.AuthApplicationID, avp.AcctApplicationID:
			if v, ok := a.Data.(datatype.Unsigned32); ok {
				add(App{ID: uint32(v)})
			}
		case avp.VendorSpecificApplicationID:
			g, ok := a.Data.(*diam.GroupedAVP)
			if !ok {
				continue
			}
			var app App
			for _, in := range g.AVP {
				v, ok := in.Data.(datatype.Unsigned32)
				if !ok {
					continue
				}
				switch in.Code {
				case avp.VendorID:
					app.Vendor = uint32(v)
				case avp.AuthApplicationID, avp.AcctApplicationID:
					app.ID = uint32(v)
				}
			}
			add(app)
		}
	}
	return apps
}

// commonApps is what both sides serve (RFC 6733 §5.3: a relay supports every application).
// The base application 0 does not count.
func commonApps(ours, theirs []App) []App {
	isRelay := func(apps []App) bool {
		return slices.ContainsFunc(apps, func(a App) bool { return a.ID == Relay })
	}
	switch {
	case isRelay(theirs):
		return slices.DeleteFunc(slices.Clone(ours), func(a App) bool { return a.ID == 0 })
	case isRelay(ours):
		return slices.DeleteFunc(slices.Clone(theirs), func(a App) bool { return a.ID == 0 })
	}
	var common []App
	for _, a := range ours {
		if a.ID != 0 && slices.ContainsFunc(theirs, func(b App) bool { return b.ID == a.ID }) {
			common = append(common, a)
		}
	}
	return common
}

// identity reads Origin-Host and Origin-Realm.
func identity(m *diam.Message) (host, realm string) {
	for _, a := range m.AVP {
		switch a.Code {
		case avp.OriginHost:
			host = avpString(a)
		case avp.OriginRealm:
			realm = avpString(a)
		}
	}
	return host, realm
}

func resultCode(m *diam.Message) (uint32, error) {
	a, err := m.FindAVP(avp.ResultCode, 0)
	if err != nil {
		return 0, fmt.Errorf("no Result-Code: %w", err)
	}
	v, ok := a.Data.(datatype.Unsigned32)
	if !ok {
		return 0, fmt.Errorf("Result-Code of type %T", a.Data)
	}
	return uint32(v), nil
}

func avpString(a *diam.AVP) string {
	switch v := a.Data.(type) {
	case datatype.DiameterIdentity:
		return string(v)
	case datatype.UTF8String:
		return string(v)
	case datatype.OctetString:
		return string(v)
	}
	return ""
}

func addrIP(a net.Addr) net.IP {
	host, _, err := net.SplitHostPort(addrString(a))
	if err != nil {
		return net.IPv4(127, 0, 0, 1)
	}
	// SCTP addresses may list several: "127.0.0.1/10.0.0.1:3868"; the primary comes first.
	host, _, _ = strings.Cut(host, "/")
	if ip := net.ParseIP(host); ip != nil {
		return ip
	}
	return net.IPv4(127, 0, 0, 1)
}
