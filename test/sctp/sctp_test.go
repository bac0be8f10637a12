// Package sctp is the smoke test of the qemu harness in run.sh: it proves that the booted kernel
// carries SCTP between two sockets on 127.0.0.1, independently of the Diameter peer layer.
package sctp

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/ishidawataru/sctp"

	"github.com/imscore/imscore/pkg/testutil"
)

// ppidDiameter is the SCTP payload protocol identifier of Diameter (RFC 6733 2.1, IANA "SCTP Payload
// Protocol Identifiers": 46 for Diameter, 47 for Diameter over DTLS).
const ppidDiameter = 46

// message is what one side read from the association.
type message struct {
	payload []byte
	ppid    uint32
	stream  uint16
	err     error
}

// read waits for one data message on c, with its SCTP_SNDRCV ancillary data.
func read(c *sctp.SCTPConn) message {
	buf := make([]byte, 4096)
	n, info, err := c.SCTPRead(buf)
	if err != nil {
		return message{err: err}
	}
	if info == nil {
		return message{payload: buf[:n]}
	}
	return message{payload: buf[:n], ppid: info.PPID, stream: info.Stream}
}

// await returns the message from ch, or fails the test after a few seconds: the library's reads are
// blocking system calls that no deadline interrupts.
func await(t *testing.T, what string, ch <-chan message) message {
	t.Helper()
	select {
	case m := <-ch:
		if m.err != nil {
			t.Fatalf("%s: %v", what, m.err)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing after 10s", what)
		return message{}
	}
}

func TestSCTPLoopbackPPID(t *testing.T) {
	testutil.NeedSCTP(t)

	loopback := []net.IPAddr{{IP: net.IPv4(127, 0, 0, 1)}}
	ln, err := sctp.ListenSCTP("sctp4", &sctp.SCTPAddr{IPAddrs: loopback})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	laddr, ok := ln.Addr().(*sctp.SCTPAddr)
	if !ok || laddr.Port == 0 {
		t.Fatalf("listener address %v: no port", ln.Addr())
	}

	request := []byte("CER from the smoke test")
	answer := []byte("CEA from the smoke test")
	received := make(chan message, 1)
	go func() {
		c, err := ln.AcceptSCTP()
		if err != nil {
			received <- message{err: err}
			return
		}
		defer c.Close()
		if err := c.SubscribeEvents(sctp.SCTP_EVENT_DATA_IO); err != nil {
			received <- message{err: err}
			return
		}
		m := read(c)
		received <- m
		if m.err == nil {
			// Answer on the stream the request came in on, as a Diameter peer would.
			c.SCTPWrite(answer, &sctp.SndRcvInfo{Stream: m.stream, PPID: ppidDiameter})
		}
		// Keep the association until the client has read the answer and closes it.
		read(c)
	}()

	client, err := sctp.DialSCTP("sctp4", nil, &sctp.SCTPAddr{IPAddrs: loopback, Port: laddr.Port})
	if err != nil {
		t.Fatalf("dial %v: %v", laddr, err)
	}
	defer client.Close()
	if err := client.SubscribeEvents(sctp.SCTP_EVENT_DATA_IO); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if _, err := client.SCTPWrite(request, &sctp.SndRcvInfo{Stream: 0, PPID: ppidDiameter}); err != nil {
		t.Fatalf("write: %v", err)
	}

	got := await(t, "server read", received)
	if !bytes.Equal(got.payload, request) {
		t.Errorf("server got payload %q, want %q", got.payload, request)
	}
	if got.ppid != ppidDiameter {
		t.Errorf("server got PPID %d, want %d", got.ppid, ppidDiameter)
	}

	replies := make(chan message, 1)
	go func() { replies <- read(client) }()
	reply := await(t, "client read", replies)
	if !bytes.Equal(reply.payload, answer) {
		t.Errorf("client got payload %q, want %q", reply.payload, answer)
	}
	if reply.ppid != ppidDiameter {
		t.Errorf("client got PPID %d, want %d", reply.ppid, ppidDiameter)
	}
}
