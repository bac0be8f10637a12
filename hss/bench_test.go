package hss_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/hss/internal/hsstest"
	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/hss/store/storetest"
	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/diameter/cx"
	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
)

// benchSubscribers spreads the load: MARs of one subscriber serialise on its SQN row.
const benchSubscribers = 64

func benchIMPI(i int) string { return fmt.Sprintf("00101%010d@%s", i, hsstest.Realm) }
func benchIMPU(i int) string { return fmt.Sprintf("sip:00101%010d@%s", i, hsstest.Realm) }

// startNode runs the HSS in this process on loopback port 0 with the store sc, provisions the
// benchmark subscribers over REST and returns it with its addresses.
func startNode(b *testing.B, sc store.Config) *hssProcess {
	b.Helper()
	var cfg hss.Config
	cfg.Defaults()
	cfg.DataDir = b.TempDir()
	cfg.Store = sc
	cfg.APIToken = apiToken
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Diameter.Listen = []config.Endpoint{{Network: config.NetworkTCP, Addr: "127.0.0.1:0"}}
	node, err := hss.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	admin, err := node.Admin().Listen()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { node.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	var diameter net.Addr
	for diameter == nil {
		diameter = node.Diameter().ListenAddrs()["tcp"]
		time.Sleep(10 * time.Millisecond)
	}
	h := &hssProcess{diameter: diameter.String(), api: "http://" + admin.String() + "/api/v1"}
	for i := range benchSubscribers {
		h.mustREST(b, http.MethodPost, "/subscribers", map[string]any{
			"imsi": fmt.Sprintf("00101%010d", i),
			"auth": map[string]any{"k": hsstest.K, "opc": hsstest.OPc, "amf": hsstest.AMF},
			"ims":  map[string]any{"impi": benchIMPI(i), "impus": []string{benchIMPU(i)}, "ifc_set": "default"},
		}, http.StatusCreated)
	}
	return h
}

// benchCx sends b.N requests made by build over one TCP connection, from many goroutines, and
// reports answers per second and the 99th percentile latency.
func benchCx(b *testing.B, sc store.Config, build func(i int, p *testPeer) interface {
	Message() (*diam.Message, error)
}) {
	h := startNode(b, sc)
	scscf := connect(b, h, hsstest.SCSCFHost, hsstest.Realm, dict.AppCx)
	var (
		next atomic.Int64
		mu   sync.Mutex
		lat  []time.Duration
	)
	b.SetParallelism(4) // 4 × GOMAXPROCS requests in flight (8 on 2 cores), as a busy S-CSCF would
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := int(next.Add(1)) % benchSubscribers
			m, err := build(i, scscf).Message()
			if err != nil {
				b.Error(err)
				return
			}
			t0 := time.Now()
			a, err := scscf.node.Request(context.Background(), m)
			mine = append(mine, time.Since(t0))
			if err != nil {
				b.Error(err)
				return
			}
			var ans msg.AnswerHeader
			if err := msg.Unmarshal(a, &ans); err != nil || !success(&ans) {
				b.Errorf("answer %+v: %v", ans, err)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "answers/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	}
}

// success reports a 2xxx Result-Code, or a 2xxx Experimental-Result (UAA's first
// registration, TS 29.229 6.2.1.1).
func success(a *msg.AnswerHeader) bool {
	if a.ExperimentalResult != nil {
		return a.ExperimentalResult.Code/1000 == 2
	}
	return a.ResultCode == msg.ResultSuccess
}

func marRequest(i int, p *testPeer) interface{ Message() (*diam.Message, error) } {
	return &cx.MAR{RequestHeader: p.header(), UserName: benchIMPI(i), PublicIdentity: benchIMPU(i),
		SIPAuthDataItem: cx.SIPAuthDataItem{SIPAuthenticationScheme: cx.SchemeDigestAKAv1MD5}, SIPNumberAuthItems: 1,
		ServerName: hsstest.SCSCF}
}

func sarRequest(i int, p *testPeer) interface{ Message() (*diam.Message, error) } {
	return &cx.SAR{RequestHeader: p.header(), UserName: benchIMPI(i), PublicIdentity: []string{benchIMPU(i)},
		ServerName: hsstest.SCSCF, ServerAssignmentType: cx.ServerAssignmentTypeReRegistration}
}

// uarRequest is the I-CSCF's UAR of a REGISTER: a registration from the home network.
func uarRequest(i int, p *testPeer) interface{ Message() (*diam.Message, error) } {
	return &cx.UAR{RequestHeader: p.header(), UserName: benchIMPI(i), PublicIdentity: benchIMPU(i),
		VisitedNetworkIdentifier: hsstest.Realm}
}

func sqlite(b *testing.B) store.Config {
	return store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(b.TempDir(), "hss.db")}
}

func postgres(b *testing.B) store.Config {
	return store.Config{Driver: store.DriverPostgres, DSN: storetest.PostgresDSN(b)}
}

func BenchmarkMARSQLite(b *testing.B)   { benchCx(b, sqlite(b), marRequest) }
func BenchmarkSARSQLite(b *testing.B)   { benchCx(b, sqlite(b), sarRequest) }
func BenchmarkUARSQLite(b *testing.B)   { benchCx(b, sqlite(b), uarRequest) }
func BenchmarkMARPostgres(b *testing.B) { benchCx(b, postgres(b), marRequest) }
func BenchmarkSARPostgres(b *testing.B) { benchCx(b, postgres(b), sarRequest) }
func BenchmarkUARPostgres(b *testing.B) { benchCx(b, postgres(b), uarRequest) }
