package sip

import (
	"bytes"
	"net"
	"strconv"
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/sip/siptest"
)

// BenchmarkRelayRegister is one REGISTER transaction through the proxy over UDP on loopback,
// as a CSCF relays it: a raw UDP client sends the request, the proxy forwards it statefully,
// a raw UDP UAS answers 200 and the proxy relays the 200 back. Neither peer parses SIP, so the
// CPU and the allocations per op are the proxy's (and the kernel's loopback).
//
//	go test -run '^$' -bench RelayRegister -benchmem -count 5 ./pkg/sip/
func BenchmarkRelayRegister(b *testing.B) {
	uas, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer uas.Close()
	go answer200(uas)
	p := startProxy(b, Config{}, ForwardHandler(Forward{}))
	uac, err := net.DialUDP("udp", nil, p.udp.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer uac.Close()
	target := "sip:scscf@" + uas.LocalAddr().String()
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := uac.Write(benchRegister(target, uac.LocalAddr().String(), i)); err != nil {
			b.Fatal(err)
		}
		n, err := uac.Read(buf)
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200 ")) {
			b.Fatalf("got %q", buf[:n])
		}
	}
}

// answer200 answers every request it reads with its own headers under a 200 status line:
// enough for the proxy's client transaction to match it (top Via branch, CSeq).
func answer200(c *net.UDPConn) {
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg := buf[:n]
		eol := bytes.Index(msg, []byte("\r\n"))
		if eol < 0 {
			continue
		}
		res := append([]byte("SIP/2.0 200 OK"), msg[eol:]...)
		if _, err := c.WriteToUDP(res, from); err != nil {
			return
		}
	}
}

// benchRegister is a re-REGISTER as a UE sends it to the P-CSCF, with its digest credentials.
func benchRegister(target, from string, i int) []byte {
	n := strconv.Itoa(i)
	return []byte("REGISTER " + target + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + from + ";branch=z9hG4bK-bench-" + n + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org>;tag=bench" + n + "\r\n" +
		"To: <sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org>\r\n" +
		"Call-ID: bench-" + n + "@127.0.0.1\r\n" +
		"CSeq: 2 REGISTER\r\n" +
		"Contact: <sip:001010000000001@" + from + ">;expires=600;+sip.instance=\"<urn:gsma:imei:35000000-000000-0>\"\r\n" +
		"Authorization: Digest username=\"001010000000001@ims.mnc001.mcc001.3gppnetwork.org\", " +
		"realm=\"ims.mnc001.mcc001.3gppnetwork.org\", nonce=\"3XpHJ2gFQkKZnF1jKpQ9dXZ0Ym9keUxFbmd0aA==\", " +
		"uri=\"sip:ims.mnc001.mcc001.3gppnetwork.org\", response=\"0123456789abcdef0123456789abcdef\", " +
		"algorithm=AKAv1-MD5, qop=auth, nc=00000002, cnonce=\"abcdef\"\r\n" +
		"Supported: path, gruu\r\n" +
		"Expires: 600\r\n" +
		"User-Agent: bench UE\r\n" +
		"Content-Length: 0\r\n\r\n")
}

// BenchmarkValidate is what the core checks on every request before the chain (RFC 3261 16.3),
// loop detection included.
func BenchmarkValidate(b *testing.B) {
	p, err := New(Config{Listen: "127.0.0.1:0"}, nil, siptest.Logger())
	if err != nil {
		b.Fatal(err)
	}
	defer p.ua.Close()
	p.host, p.port = "127.0.0.1", 5999
	raw := benchRegister("sip:ims.mnc001.mcc001.3gppnetwork.org", "127.0.0.1:5070", 1)
	b.ReportAllocs()
	for b.Loop() {
		m, err := gosip.ParseMessage(raw)
		if err != nil {
			b.Fatal(err)
		}
		r := &Request{Request: m.(*gosip.Request)}
		if code, reason := p.validate(r); code != 0 {
			b.Fatal(code, reason)
		}
	}
}
