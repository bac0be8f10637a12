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
