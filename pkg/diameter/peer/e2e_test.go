package peer

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/diameter/wire"
	"github.com/imscore/imscore/pkg/testutil"
)

const (
	serverHost = "hss.ims.example.org"
	clientHost = "scscf.ims.example.org"
	rawHost    = "raw.ims.example.org"
	// malformedHopByHop marks the deliberately malformed request (and its answer) so the
	// Wireshark check can exclude them; missingHopByHop the request missing an AVP, whose
	// answer carries the empty Grouped payload RFC 6733 §7.5 allows in Failed-AVP.
	malformedHopByHop = 0x0badf00d
	missingHopByHop   = 0x0badf00e
)

func TestEndToEnd(t *testing.T) {
	for _, network := range []string{transport.TCP, transport.SCTP} {
		t.Run(network, func(t *testing.T) {
			if network == transport.SCTP {
				testutil.NeedSCTP(t)
			}
			runEndToEnd(t, network, nil)
		})
	}
}

// runEndToEnd runs two nodes through the life of a connection. beforeClient, when set, is
// called with the server's port before any traffic.
func runEndToEnd(t *testing.T, network string, beforeClient func(port string)) {
	scfg := baseConfig(serverHost)
	scfg.Listen = []Endpoint{{Network: network, Addr: "127.0.0.1:0"}}
	scfg.Peers = []PeerConfig{{Host: clientHost, Realm: realm}, {Host: rawHost, Realm: realm}}
	server := startNode(t, scfg, func(n *Node) { n.Handle(dict.AppCx, cmdUAR, okHandler(n, nil)) })
	addr := server.addr(t, network)
	if beforeClient != nil {
		_, port, _ := net.SplitHostPort(addr)
		beforeClient(port)
	}

	ccfg := baseConfig(clientHost)
	ccfg.Peers = []PeerConfig{{Host: serverHost, Realm: realm, Endpoint: Endpoint{network, addr}}}
	client := startNode(t, ccfg, nil)

	t.Run("capabilities exchange", func(t *testing.T) {
		client.waitState(t, serverHost, stateOkay)
		server.waitState(t, clientHost, stateOkay)
		for _, p := range client.Peers() {
			if p.Host == serverHost && (len(p.Apps) != 1 || p.Apps[0].ID != dict.AppCx || p.Network != network) {
				t.Fatalf("client sees %+v, want Cx over %s", p, network)
			}
		}
	})

	ctx := context.Background()
	t.Run("request answer", func(t *testing.T) {
		ans, err := client.Request(ctx, uar(t, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		if rc := resultOf(t, ans); rc != msg.ResultSuccess {
			t.Fatalf("Result-Code %d", rc)
		}
		if sn, err := ans.FindAVP(avp.ServerName, dict.Vendor3GPP); err != nil || string(sn.Data.(datatype.UTF8String)) != "sip:"+serverHost {
			t.Fatalf("Server-Name %v %v", sn, err)
		}
	})

	t.Run("unsupported command keeps the connection", func(t *testing.T) {
		mar, err := msg.NewRequest(cmdMAR, dict.AppCx, &struct {
			SessionID string `avp:"Session-Id"`
		}{msg.NewSessionID(clientHost)})
		if err != nil {
			t.Fatal(err)
		}
		ans, err := client.Request(ctx, mar)
		if err != nil {
			t.Fatal(err)
		}
		if rc := resultOf(t, ans); rc != msg.ResultCommandUnsupported || ans.Header.CommandFlags&diam.ErrorFlag == 0 {
			t.Fatalf("Result-Code %d flags %#x, want 3001 with E", rc, ans.Header.CommandFlags)
		}
		if _, err := client.Request(ctx, uar(t, "bob")); err != nil {
			t.Fatalf("request after 3001: %v", err)
		}
	})

	t.Run("raw peer", func(t *testing.T) { rawPeer(t, server, network, addr) })

	t.Run("watchdog", func(t *testing.T) {
		// Silence for a few Tw: DWRs flow and the connection stays OKAY (RFC 3539 §3.4.1).
		// Whichever side's timer fires first sends the DWR, and the other side's timer restarts
		// on receiving it; that the server sends DWRs on its own is checked with the raw peer.
		time.Sleep(4 * testTw)
		in := client.counter(t, "ims_diameter_answers_total", map[string]string{"cmd": "DWA", "dir": "in"}) +
			server.counter(t, "ims_diameter_answers_total", map[string]string{"cmd": "DWA", "dir": "in"})
		if in < 2 {
			t.Errorf("%v DWA exchanged in 4×Tw, want at least 2", in)
		}
		client.waitState(t, serverHost, stateOkay)
		server.waitState(t, clientHost, stateOkay)
	})

	t.Run("metrics", func(t *testing.T) {
		if got := client.counter(t, "ims_diameter_requests_total", map[string]string{"cmd": "UAR", "dir": "out", "peer": serverHost}); got != 2 {
			t.Errorf("client sent %v UAR, want 2", got)
		}
		if got := server.counter(t, "ims_diameter_answers_total", map[string]string{"cmd": "UAA", "result_code": "2001", "dir": "out"}); got != 3 {
			t.Errorf("server sent %v UAA 2001, want 3 (2 to the client, 1 to the raw peer)", got)
		}
		if got := client.counter(t, "ims_diameter_request_duration_seconds", map[string]string{"cmd": "UAR"}); got != 2 {
			t.Errorf("client observed %v UAR durations, want 2", got)
		}
		if got := client.counter(t, "ims_diameter_peer_state", map[string]string{"peer": serverHost}); got != float64(stateOkay) {
			t.Errorf("peer_state %v, want %d", got, stateOkay)
		}
	})

	t.Run("disconnect on shutdown", func(t *testing.T) {
		client.stop()
		if got := server.counter(t, "ims_diameter_requests_total", map[string]string{"cmd": "DPR", "dir": "in", "peer": clientHost}); got != 1 {
			t.Fatalf("server received %v DPR, want 1", got)
		}
		if got := server.counter(t, "ims_diameter_answers_total", map[string]string{"cmd": "DPA", "dir": "out"}); got != 1 {
			t.Fatalf("server sent %v DPA, want 1", got)
		}
		deadline := time.Now().Add(waitFor)
		for server.connFor(clientHost) != nil {
			if time.Now().After(deadline) {
				t.Fatal("server kept the connection after DPR")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// rawPeer talks to the server over a hand-driven connection to send what a Node never sends.
func rawPeer(t *testing.T, server *testNode, network, addr string) {
	me, err := New(baseConfig(rawHost), testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := transport.Dial(context.Background(), network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	exchangeRaw := func(t *testing.T, frame []byte) []byte {
		t.Helper()
		if _, err := nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		for {
			b, err := wire.ReadFrame(nc, DefaultMaxMessage)
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := wire.ParseHeader(b); !h.IsRequest() { // skip the server's DWRs
				return b
			}
		}
	}
	exchange := func(t *testing.T, frame []byte) *diam.Message {
		t.Helper()
		m, err := me.decode(exchangeRaw(t, frame))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	serialize := func(m *diam.Message) []byte {
		b, err := m.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cea := exchange(t, serialize(me.newCER(nc.LocalAddr())))
	if rc := resultOf(t, cea); rc != msg.ResultSuccess {
		t.Fatalf("CEA %d", rc)
	}

	withOrigin := func(m *diam.Message) *diam.Message {
		m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(rawHost))
		m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(realm))
		return m
	}
	malformed := serialize(withOrigin(uar(t, "mallory")))
	// Origin-State-Id is an Unsigned32: two bytes is an invalid length (5014).
	malformed = wire.AddAVP(malformed, wire.AppendAVP(nil, avp.OriginStateID, wire.AVPFlagMandatory, 0, []byte{1, 2}))
	wire.SetHopByHop(malformed, malformedHopByHop)

	unknownCmd := serialize(withOrigin(uar(t, "eve")))
	unknownCmd[5], unknownCmd[6], unknownCmd[7] = 0, 0x27, 0x0f // command 9999

	otherApp := serialize(withOrigin(uar(t, "trudy")))
	binary.BigEndian.PutUint32(otherApp[8:12], dict.AppSh)

	missing := withOrigin(diam.NewRequest(cmdUAR, dict.AppCx, dict.Default()))
	missing.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("raw;1;1"))

	missingFrame := serialize(missing)
	wire.SetHopByHop(missingFrame, missingHopByHop)

	tests := []struct {
		name   string
		frame  []byte
		code   uint32
		eBit   bool
		failed uint32
	}{
		{"invalid AVP length", malformed, msg.ResultInvalidAVPLength, false, avp.OriginStateID},
		{"unknown command", unknownCmd, msg.ResultCommandUnsupported, true, 0},
		{"application not served", otherApp, msg.ResultApplicationUnsupported, true, 0},
		{"missing AVP", missingFrame, msg.ResultMissingAVP, false, avp.VendorSpecificApplicationID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Checked raw: a dictionary cannot decode answers to unknown commands.
			ans := exchangeRaw(t, tt.frame)
			if rc := answerCode(ans); rc != tt.code {
				t.Fatalf("Result-Code %d, want %d", rc, tt.code)
			}
			if got := ans[4]&wire.FlagError != 0; got != tt.eBit {
				t.Fatalf("E bit %v, want %v", got, tt.eBit)
			}
			sid, _ := wire.SessionID(tt.frame)
			if first, _, err := wire.NextAVP(ans[wire.HeaderLen:]); err != nil || first.Code != avp.SessionID || string(first.Data) != sid {
				t.Fatalf("Session-Id not first or not copied: %+v %v", first, err)
			}
			fa, ok := wire.Find(ans, avp.FailedAVP, 0)
			if tt.failed == 0 {
				if ok {
					t.Fatalf("unexpected Failed-AVP")
				}
				return
			}
			if inner, _, err := wire.NextAVP(fa.Data); !ok || err != nil || inner.Code != tt.failed {
				t.Fatalf("Failed-AVP holds %+v (%v), want AVP %d", inner, err, tt.failed)
			}
		})
	}

	t.Run("server sends DWR", func(t *testing.T) {
		// We send nothing: the server's watchdog must probe us (RFC 3539 §3.4.1).
		deadline := time.Now().Add(4 * testTw)
		for time.Now().Before(deadline) {
			b, err := wire.ReadFrame(nc, DefaultMaxMessage)
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := wire.ParseHeader(b); h.IsRequest() && h.Cmd == diam.DeviceWatchdog {
				req, err := me.decode(b)
				if err != nil {
					t.Fatal(err)
				}
				dwa := withOrigin(req.Answer(msg.ResultSuccess))
				if _, err := nc.Write(serialize(dwa)); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatal("no DWR from the server")
	})

	t.Run("connection still up", func(t *testing.T) {
		dwr := diam.NewMessage(diam.DeviceWatchdog, diam.RequestFlag, 0, 7, 7, dict.Default())
		dwa := exchange(t, serialize(withOrigin(dwr)))
		if rc := resultOf(t, dwa); dwa.Header.CommandCode != diam.DeviceWatchdog || rc != msg.ResultSuccess {
			t.Fatalf("DWA %v", dwa)
		}
		ans := exchange(t, serialize(withOrigin(uar(t, "carol"))))
		if rc := resultOf(t, ans); rc != msg.ResultSuccess {
			t.Fatalf("UAR after errors: %d", rc)
		}
	})
}

func TestCapabilitiesRejected(t *testing.T) {
	scfg := baseConfig(serverHost)
	scfg.Listen = []Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}}
	scfg.Peers = []PeerConfig{{Host: clientHost, Realm: realm}}
	server := startNode(t, scfg, nil)
	addr := server.addr(t, transport.TCP)

	tests := []struct {
		name string
		host string
		apps []App
		code uint32
	}{
		{"unknown peer", "stranger.example.org", []App{cx}, msg.ResultUnknownPeer},
		{"no common application", clientHost, []App{{ID: dict.AppSh, Vendor: dict.Vendor3GPP}}, msg.ResultNoCommonApplication},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(tt.host)
			cfg.Apps = tt.apps
			me, err := New(cfg, testLogger(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := me.newCER(nc.LocalAddr()).WriteTo(nc); err != nil {
				t.Fatal(err)
			}
			b, err := wire.ReadFrame(nc, DefaultMaxMessage)
			if err != nil {
				t.Fatal(err)
			}
			cea, _ := me.decode(b)
			if rc := resultOf(t, cea); rc != tt.code {
				t.Fatalf("CEA Result-Code %d, want %d", rc, tt.code)
			}
			nc.SetReadDeadline(time.Now().Add(waitFor))
			if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, errTimeout) {
				t.Fatalf("connection not closed after a rejected CER: %v", err)
			}
		})
	}
}

var errTimeout = errors.New("i/o timeout")

func TestConfigValidate(t *testing.T) {
	err := Config{Watchdog: time.Second, Listen: []Endpoint{{Network: "udp", Addr: "x"}}}.withDefaults().Validate()
	for _, want := range []string{"identity: host", "identity: realm", "apps:", "watchdog:", "listen[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a problem about %q", err, want)
		}
	}
}
