package dra

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/testutil"
)

const fdHost = "fd.ims.example.org"

// freeDiameter is a freeDiameterd process configured as a relay agent in t.TempDir().
type freeDiameter struct {
	cmd *exec.Cmd
	out *testutil.Buffer
}

// fdPeer is a peer freeDiameterd dials.
type fdPeer struct{ host, addr string }

// startFreeDiameter runs freeDiameterd listening on listen (TCP, no TLS, no SCTP) with Tw tw,
// dialling peers; extensions maps .fdx files of the Debian package to load (rt_default makes it
// a routing relay) to their configuration ("" for none).
func startFreeDiameter(t testing.TB, listen string, tw time.Duration, peers []fdPeer, extensions map[string]string) *freeDiameter {
	t.Helper()
	bin := testutil.NeedTool(t, "freeDiameterd")
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, fdHost)
	_, port, _ := net.SplitHostPort(listen)
	var conf bytes.Buffer
	fmt.Fprintf(&conf, "Identity = %q;\nRealm = %q;\nPort = %s;\nSecPort = 0;\nNo_SCTP;\nNo_IPv6;\n", fdHost, testRealm, port)
	fmt.Fprintf(&conf, "ListenOn = \"127.0.0.1\";\nTwTimer = %d;\n", int(tw.Seconds()))
	// freeDiameter insists on TLS credentials even when every peer is No_TLS.
	fmt.Fprintf(&conf, "TLS_Cred = %q, %q;\nTLS_CA = %q;\n", cert, key, cert)
	for ext, extConf := range extensions {
		path := filepath.Join("/usr/lib/freeDiameter", ext)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("freeDiameter extension %s not installed: %v", ext, err)
		}
		if extConf == "" {
			fmt.Fprintf(&conf, "LoadExtension = %q;\n", path)
			continue
		}
		extPath := filepath.Join(dir, ext+".conf")
		if err := os.WriteFile(extPath, []byte(extConf), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "LoadExtension = %q : %q;\n", path, extPath)
	}
	for _, p := range peers {
		host, pport, _ := net.SplitHostPort(p.addr)
		fmt.Fprintf(&conf, "ConnectPeer = %q { ConnectTo = %q; Port = %s; No_TLS; };\n", p.host, host, pport)
	}
	confPath := filepath.Join(dir, "freeDiameter.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	fd := &freeDiameter{cmd: exec.Command(bin, "-c", confPath), out: &testutil.Buffer{}}
	fd.cmd.Stdout, fd.cmd.Stderr = fd.out, fd.out
	if err := fd.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { fd.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		fd.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			fd.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("freeDiameterd output:\n%s", fd.out.String())
		}
	})
	return fd
}

// selfSigned writes a throwaway certificate and key for host into dir.
func selfSigned(t testing.TB, dir, host string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// TestFreeDiameter has a freeDiameterd peer connect to the DRA: the capabilities exchange
// succeeds (the DRA lists it OKAY), its DWR is answered and the connection stays OKAY, and a
// Cx request a client sends through freeDiameterd is relayed by the DRA to a server and the
// answer comes back the same way: client -> freeDiameterd -> DRA -> server.
func TestFreeDiameter(t *testing.T) {
	testutil.NeedTool(t, "freeDiameterd")
	srv := startServer(t, hss1, transport.TCP, nil)
	peers := []config.Peer{{Host: hss1, Realm: testRealm, Endpoint: config.Endpoint{Network: transport.TCP, Addr: srv.addr(t, transport.TCP)}}}
	cfg := draConfig(transport.TCP, peers, []Route{{Realm: testRealm, Peers: []RoutePeer{{Host: hss1}}}})
	// A long Tw on the DRA: freeDiameterd (Tw 6s) is the one that sends DWRs on an idle link.
	cfg.Diameter.Watchdog = config.Duration(time.Minute)
	dra := startDRA(t, cfg)
	// The client only listens: freeDiameterd dials it, as it dials the DRA.
	client := listeningClient(t)
	startFreeDiameter(t, deadAddr(t), config.MinWatchdog, []fdPeer{
		{draHost, listenAddr(t, dra.diam, transport.TCP)},
		{clientHost, listenAddr(t, client, transport.TCP)},
	}, nil)
	waitState(t, dra.diam, fdHost, "OKAY")
	waitState(t, dra.diam, hss1, "OKAY")
	waitState(t, client, fdHost, "OKAY")

	// freeDiameterd opens its side of a connection a moment after ours reads OKAY, and answers
	// 3002 itself until then: retry that one case for a short while.
	var rc uint32
	var by string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ans, err := client.Request(context.Background(), uar(t, testRealm, "", "alice"))
		if err != nil {
			t.Fatal(err)
		}
		rc, by = answered(t, ans)
		if rc != msg.ResultUnableToDeliver || by != fdHost || time.Now().After(deadline) {
			break
		}
	}
	if rc != msg.ResultSuccess || by != hss1 {
		t.Fatalf("Result-Code %d from %s, want 2001 from %s", rc, by, hss1)
	}
	if n := counter(t, dra, "ims_dra_requests_total", nil); n != 1 {
		t.Errorf("the DRA relayed %v requests, want 1", n)
	}

	dwr := map[string]string{"cmd": "DWR", "peer": fdHost, "dir": "in"}
	deadline := time.Now().Add(3 * config.MinWatchdog)
	for counter(t, dra, "ims_diameter_requests_total", dwr) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no DWR from freeDiameterd")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // freeDiameterd would drop a peer whose DWA it rejects
	waitState(t, dra.diam, fdHost, "OKAY")
}
