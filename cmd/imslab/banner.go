package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/pcscf"
	"github.com/imscore/imscore/pkg/config"
)

// printBanner tells the operator where every node listens, how to reach the HSS REST API,
// which subscribers can register at once and how to register SIPp or a phone with them.
func printBanner(w io.Writer, members []member, token string, subs []demoSubscriber) {
	fmt.Fprintf(w, "imslab: IMS core on one host, home domain %s (Ctrl-C stops it)\n\n", config.HomeDomain)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  node\tSIP (udp+tcp)\tDiameter\tadmin (/healthz, /metrics)")
	var hssAdmin, pcscfSIP string
	for _, m := range members {
		sip := "-"
		if m.sip != nil {
			sip = m.sip.Listen
		}
		switch m.name {
		case hss.Name:
			hssAdmin = m.admin.Listen
		case pcscf.Name:
			pcscfSIP = sip
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\thttp://%s\n", m.name, sip, describeDiameter(m.diameter), m.admin.Listen)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nHSS REST API: http://%s/api/v1  (Authorization: Bearer %s)\n", hssAdmin, token)
	fmt.Fprintf(w, "  curl -H 'Authorization: Bearer %s' http://%s/api/v1/subscribers\n\n", token, hssAdmin)
	fmt.Fprintln(w, "Demo subscribers (IMS AKA and EPS AKA, Milenage; the keys as first provisioned):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  IMSI\tMSISDN\tIMPI\tK\tOP\tOPc\tAMF")
	for _, s := range subs {
		opc, err := s.OPc()
		if err != nil {
			opc = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.IMSI, s.MSISDN, s.IMPI(), s.K, s.OP, opc, s.AMF)
	}
	tw.Flush()

	if pcscfSIP == "" || len(subs) == 0 {
		return
	}
	s := subs[0]
	fmt.Fprintf(w, "\nRegister with SIPp (AKAv1-MD5) at the P-CSCF %s: answer the 401 with\n", pcscfSIP)
	for _, s := range subs {
		fmt.Fprintf(w, "  [authentication username=%s aka_K=0x%s aka_OP=0x%s aka_AMF=0x%s]\n", s.IMPI(), s.K, s.OP, s.AMF)
	}
	fmt.Fprintf(w, "in the scenario (test/sipp/register_aka.xml already registers %s with these keys):\n", s.IMSI)
	fmt.Fprintf(w, "  sipp -sf test/sipp/register_aka.xml -m 1 -t u1 -i 127.0.0.1 -p 5070 %s\n", pcscfSIP)
	fmt.Fprintf(w, "(-au %s gives the user to an [authentication aka_K=... aka_OP=... aka_AMF=...] without one).\n", s.IMPI())
	fmt.Fprintf(w, "\nRegister a phone: program a test USIM/ISIM with the IMSI, K, OPc (or OP) and AMF above; the\n")
	fmt.Fprintf(w, "phone must reach the P-CSCF, so listen on a LAN address (-config: pcscf.sip.listen) and give\n")
	fmt.Fprintf(w, "that address to the phone (the PCO from your SMF/PGW, or its IMS settings); home domain %s.\n\n", config.HomeDomain)
}

// describeDiameter is "listen tcp 127.0.0.1:3868, sctp 127.0.0.1:3868" for a server and
// "peer tcp 127.0.0.1:3869" for a client.
func describeDiameter(d config.Diameter) string {
	var parts []string
	for _, e := range d.Listen {
		parts = append(parts, e.Net()+" "+e.Addr)
	}
	if len(parts) > 0 {
		return "listen " + strings.Join(parts, ", ")
	}
	for _, p := range d.Peers {
		parts = append(parts, p.Net()+" "+p.Addr)
	}
	if len(parts) > 0 {
		return "peer " + strings.Join(parts, ", ")
	}
	return "-"
}
