package testutil

import (
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// udpPeer is a UDP socket on 127.0.0.1 that receives what the test sends through the capture.
func udpPeer(t *testing.T) (*net.UDPConn, int) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, conn.LocalAddr().(*net.UDPAddr).Port
}

// sendUDP sends each payload to port and waits until the peer has read it, so that it was on the wire.
func sendUDP(t *testing.T, peer *net.UDPConn, port int, payloads ...[]byte) {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	buf := make([]byte, 65535)
	for _, p := range payloads {
		if _, err := c.Write(p); err != nil {
			t.Fatalf("send: %v", err)
		}
		peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := peer.ReadFromUDP(buf); err != nil {
			t.Fatalf("receive: %v", err)
		}
	}
}

const sipOptions = "OPTIONS sip:127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-capture-test\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:tester@ims.mnc001.mcc001.3gppnetwork.org>;tag=1\r\n" +
	"To: <sip:127.0.0.1>\r\n" +
	"Call-ID: capture-test-call@127.0.0.1\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestCaptureDecodeSIP(t *testing.T) {
	artifacts := t.TempDir()
	t.Setenv(ArtifactsEnv, artifacts)
	peer, port := udpPeer(t)

	c := StartCapture(t, "lo", fmt.Sprintf("udp port %d", port))
	sendUDP(t, peer, port, []byte(sipOptions))
	pcap := c.Stop()
	if again := c.Stop(); again != pcap {
		t.Errorf("second Stop returned %q, want %q", again, pcap)
	}

	d := Dissector{DecodeAs: []string{fmt.Sprintf("udp.port==%d,sip", port)}}
	rows := d.Decode(t, pcap, "sip.Method", "frame.number", "sip.Method", "sip.Call-ID", "sip.CSeq.seq")
	want := []string{"1", "OPTIONS", "capture-test-call@127.0.0.1", "1"}
	if len(rows) != 1 || strings.Join(rows[0], "|") != strings.Join(want, "|") {
		t.Errorf("decoded %q, want one row %q", rows, want)
	}
	d.AssertClean(t, pcap)

	kept := filepath.Join(artifacts, "TestCaptureDecodeSIP.pcap")
	if rows := Decode(t, kept, "sip.Method == \"OPTIONS\"", "sip.Call-ID"); len(rows) != 1 {
		t.Errorf("artefact %s: %d OPTIONS, want 1", kept, len(rows))
	}
}

// recorder stands in for the test to see what AssertClean reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAssertClean(t *testing.T) {
	peer, port := udpPeer(t)
	c := StartCapture(t, "lo", fmt.Sprintf("udp port %d", port))
	// Frame 1 is a DNS query (RFC 1035 4.1) for example.org, frame 2 four bytes, too short for a DNS
	// header (12 octets). On a random port tshark shows both as plain data.
	query := []byte{
		0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ID, RD, QDCOUNT 1
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, // QNAME
		0x00, 0x01, 0x00, 0x01, // QTYPE A, QCLASS IN
	}
	sendUDP(t, peer, port, query, []byte{0xde, 0xad, 0xbe, 0xef})
	pcap := c.Stop()
	asDNS := Dissector{DecodeAs: []string{fmt.Sprintf("udp.port==%d,dns", port)}}

	tests := []struct {
		name string
		d    Dissector
		opts []CleanOption
		want string // the error AssertClean reports, "" for none
	}{
		{name: "standard ports: data, clean", d: Dissector{}},
		{name: "decoded as DNS: frame 2 malformed", d: asDNS, want: "1 frame(s) malformed or with expert warnings/errors:\n  frame 2 DNS: Malformed Packet"},
		{name: "malformed frame excluded by number", d: asDNS, opts: []CleanOption{ExcludeFrames(2)}},
		{name: "only the good frame excluded", d: asDNS, opts: []CleanOption{ExcludeFrames(1)}, want: "1 frame(s) malformed or with expert warnings/errors:\n  frame 2 DNS"},
		{name: "malformed frame excluded by filter", d: asDNS, opts: []CleanOption{ExcludeFilter("udp.length == 12")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			tt.d.AssertClean(r, pcap, tt.opts...)
			got := strings.Join(r.errors, "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) || len(r.errors) > 1 {
				t.Errorf("AssertClean reported %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAssertCleanDSACK: a pure ACK reporting a duplicate segment (D-SACK, RFC 2883), which
// tshark flags as a warning, is not a problem of the protocol under test.
func TestAssertCleanDSACK(t *testing.T) {
	NeedTool(t, "tshark")
	r := &recorder{TB: t}
	Dissector{}.AssertClean(r, filepath.Join("testdata", "dsack.pcap"))
	if len(r.errors) > 0 {
		t.Errorf("AssertClean reported %q for a D-SACK ACK", r.errors)
	}
}

func TestStartCaptureBadFilter(t *testing.T) {
	NeedTool(t, "tshark")
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		StartCapture(r, "lo", "this is not bpf")
	}()
	<-done
	if !strings.Contains(r.fatal, "exited before capturing") {
		t.Errorf("StartCapture with a bad filter: got %q, want it to fail before capturing", r.fatal)
	}
}

// fatalRecorder records the first Fatalf and ends the goroutine, as testing.T does.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
