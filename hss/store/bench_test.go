package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
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
