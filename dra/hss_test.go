package dra

import (
	"context"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/transport"
)

// TestRealHSS relays a Cx UAR to the real HSS node, on the default home-realm route of the
// DRA's defaults: the HSS (with an empty subscriber store) answers it with Experimental-Result
// 5001 DIAMETER_ERROR_USER_UNKNOWN (TS 29.229 6.2.2.1), and the answer comes back with the
// HSS's Origin-Host.
func TestRealHSS(t *testing.T) {
	var hcfg hss.Config
	hcfg.Defaults()
	hcfg.Admin.Listen = "127.0.0.1:0"
	hcfg.DataDir = t.TempDir()
	hcfg.Diameter.Listen = []config.Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}}
	h, err := hss.New(hcfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Admin().Listen(); err != nil {
		t.Fatal(err)
	}
	run(t, h.Run)

	var cfg Config
	cfg.Defaults() // the home realm routed to the HSS
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Diameter.Listen = []config.Endpoint{{Network: transport.TCP, Addr: "127.0.0.1:0"}}
	cfg.Diameter.Peers[0].Addr = listenAddr(t, h.Diameter(), transport.TCP)
	dra := startDRA(t, cfg)
	hssHost := cfg.Diameter.Peers[0].Host
	waitState(t, dra.diam, hssHost, "OKAY")
	client := startClient(t, transport.TCP, cfg.Diameter.OriginHost, listenAddr(t, dra.diam, transport.TCP))

	ans, err := client.Request(context.Background(), uar(t, config.HomeDomain, "", "nobody@"+config.HomeDomain))
	if err != nil {
		t.Fatal(err)
	}
	if oh, err := ans.FindAVP(avp.OriginHost, 0); err != nil || string(oh.Data.(datatype.DiameterIdentity)) != hssHost {
		t.Errorf("answer Origin-Host %v (%v), want %s", oh, err, hssHost)
	}
	er, err := ans.FindAVP(avp.ExperimentalResultCode, 0)
	if err != nil {
		t.Fatalf("no Experimental-Result-Code: %v\n%v", err, ans)
	}
	if code := uint32(er.Data.(datatype.Unsigned32)); code != 5001 {
		t.Errorf("Experimental-Result-Code %d, want 5001 DIAMETER_ERROR_USER_UNKNOWN", code)
	}
	if n := counter(t, dra, "ims_dra_answers_total", map[string]string{"result_code": "5001"}); n != 1 {
		t.Errorf("ims_dra_answers_total{result_code=5001} = %v, want 1", n)
	}
}
