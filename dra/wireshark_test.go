package dra

import (
	"net"
	"strings"
	"testing"

	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/testutil"
)

// TestWireshark runs the relay end-to-end test under a capture and has Wireshark's Diameter
// dissector check both sides of the DRA: the requests relayed to the servers carry the
// Route-Record naming the client, and no packet is malformed or raises an expert warning, except
// those of the deliberately unknown application.
func TestWireshark(t *testing.T) {
	testutil.NeedTool(t, "tshark")
	addrs := map[string]string{hss1: deadAddr(t), hss2: deadAddr(t), draHost: deadAddr(t)}
	port := func(host string) string { _, p, _ := net.SplitHostPort(addrs[host]); return p }
	var bpf, decode []string
	for _, host := range []string{hss1, hss2, draHost} {
		bpf = append(bpf, "tcp port "+port(host))
		decode = append(decode, "tcp.port=="+port(host)+",diameter")
	}
	capture := testutil.StartCapture(t, "lo", strings.Join(bpf, " or "))
	lab := startRelayLab(t, transport.TCP, transport.TCP, addrs)
	runRelay(t, lab)
	pcap := capture.Stop()

	d := testutil.Dissector{DecodeAs: decode}
	rows := d.Decode(t, pcap, "diameter.flags.request == 1 && diameter.cmd.code == 300 && (tcp.dstport == "+port(hss1)+" || tcp.dstport == "+port(hss2)+")",
		"frame.number", "diameter.Route-Record")
	if len(rows) < 40 {
		t.Fatalf("%d relayed UARs in the capture, want at least 40", len(rows))
	}
	for _, r := range rows {
		if r[1] != clientHost {
			t.Errorf("frame %s: relayed UAR with Route-Record %q, want %q", r[0], r[1], clientHost)
		}
	}
	// The unknown application (4242, command 9999, an unknown vendor AVP) is unknown to
	// Wireshark too: its frames are expected to raise expert info.
	d.AssertClean(t, pcap, testutil.ExcludeFilter("diameter.applicationId == 4242"))
	t.Logf("%d relayed UARs checked", len(rows))
}
