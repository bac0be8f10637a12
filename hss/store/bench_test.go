package store

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAuthByIMPI measures the read of the authentication path (Cx MAR) on SQLite, from
// as many goroutines as a busy Diameter server runs; after the first read of each IMPI it is
// the cache's (see BenchmarkMARSQLite in ../bench_test.go for the whole MAR).
func BenchmarkAuthByIMPI(b *testing.B) {
	ctx := context.Background()
	s, err := Open(Config{Driver: DriverSQLite, DSN: filepath.Join(b.TempDir(), "hss.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 64
	for i := range n {
		imsi := fmt.Sprintf("00101%010d", i)
		sub := &Subscriber{IMSI: imsi, Enabled: true, Auth: Auth{K: make([]byte, 16), OPc: make([]byte, 16),
			AMF: []byte{0x80, 0}, Algorithm: AlgorithmMilenage},
			IMS: &IMS{IMPI: imsi + "@ims.example", IMPUs: []IMPU{{URI: "sip:" + imsi + "@ims.example"}}}}
		if err := s.CreateSubscribers(ctx, sub); err != nil {
			b.Fatal(err)
		}
	}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			imsi := fmt.Sprintf("00101%010d", i%n)
			i++
			a, err := s.AuthByIMPI(ctx, imsi+"@ims.example", "sip:"+imsi+"@ims.example")
			if err != nil || a.IMPU == nil {
				b.Errorf("AuthByIMPI: %+v %v", a, err)
				return
			}
		}
	})
}

// BenchmarkFirstRead measures the first Cx read (UAR) of each of 2,000 subscribers, as after an
// HSS restart (warmUp) or an import (warmIMPIs): cold, each is one query; warmed, the warm-up's
// queries are counted in. ns/subscriber is the cost of one subscriber's first read.
func BenchmarkFirstRead(b *testing.B) {
	const n = 2000
	ctx := context.Background()
	s := openWarm(b, b.TempDir(), n)
	impis := make([]string, n)
	for i := range impis {
		impis[i] = testSubscriber(i).IMS.IMPI
	}
	for _, bc := range []struct {
		name string
		warm func() error
	}{
		{"cold", func() error { return nil }},
		{"warmUp", func() error { return s.warmUp(ctx) }},
		{"warmIMPIs", func() error { return s.warmIMPIs(ctx, impis) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				s.cache = newReadCache()
				if err := bc.warm(); err != nil {
					b.Fatal(err)
				}
				for _, impi := range impis {
					if _, err := s.AuthorizationByIMPI(ctx, impi); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/subscriber")
		})
	}
}

// benchWrites opens an SQLite store with n subscribers of three public identities each, and the
// context the writes run with: cancellable, as the Diameter server's (its Run context).
func benchWrites(b *testing.B, n int) (*DB, context.Context, []*Subscriber) {
	s, err := Open(Config{Driver: DriverSQLite, DSN: filepath.Join(b.TempDir(), "hss.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	subs := make([]*Subscriber, n)
	for i := range subs {
		subs[i] = testSubscriber(i)
		subs[i].IMS.IMPUs = append(subs[i].IMS.IMPUs, IMPU{URI: fmt.Sprintf("sip:+1555%07d@ims.example", i)})
	}
	if err := s.CreateSubscribers(context.Background(), subs...); err != nil {
		b.Fatal(err)
	}
	s.warming.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	return s, ctx, subs
}

// reportCPU reports the CPU time of the process per operation from when it is called to the end
// of b: with synchronous=FULL, each write waits for an fsync that ns/op counts but the HSS's
// CPU does not.
func reportCPU(b *testing.B) {
	start := cpuTime(b)
	b.Cleanup(func() {
		b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSetRegistration measures the write of every SAR, naming one public identity or all
// three of an IMPI; the state alternates so that every call changes the rows.
func BenchmarkSetRegistration(b *testing.B) {
	const n = 64
	s, ctx, subs := benchWrites(b, n)
	for _, impus := range []int{1, 3} {
		b.Run(fmt.Sprintf("impus=%d", impus), func(b *testing.B) {
			reportCPU(b)
			i := 0
			for b.Loop() {
				ims := subs[i%n].IMS
				r := Registration{IMPI: ims.IMPI, State: StateRegistered, SCSCFName: "sip:scscf.ims.example"}
				if i/n%2 == 1 {
					r.State, r.SCSCFName = StateNotRegistered, ""
				}
				for _, u := range ims.IMPUs[:impus] {
					r.IMPUs = append(r.IMPUs, u.URI)
				}
				i++
				if err := s.SetRegistration(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReserveSQN measures the SQN reservation of every MAR and AIR.
func BenchmarkReserveSQN(b *testing.B) {
	const n = 64
	s, ctx, subs := benchWrites(b, n)
	reportCPU(b)
	i := 0
	for b.Loop() {
		if _, err := s.ReserveSQN(ctx, subs[i%n].IMSI, 1); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
