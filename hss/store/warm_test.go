package store

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// testSubscriber is subscriber i: IMPI <imsi>@ims.example with a SIP and a tel identity, in
// that order.
func testSubscriber(i int) *Subscriber {
	imsi := fmt.Sprintf("00101%010d", i)
	return &Subscriber{IMSI: imsi, Enabled: true, Auth: Auth{K: make([]byte, 16), OPc: make([]byte, 16),
		AMF: []byte{0x80, 0}, Algorithm: AlgorithmMilenage},
		IMS: &IMS{IMPI: imsi + "@ims.example", IMPUs: []IMPU{{URI: "sip:" + imsi + "@ims.example"},
			{URI: fmt.Sprintf("tel:+1555%07d", i)}}}}
}

// testWarmPage is warmPage in tests: several pages of few subscribers (creating one costs
// milliseconds with -race).
const testWarmPage = 10

// smallWarmPages sets warmPage to testWarmPage for t; call it before opening a store, so that
// it is restored once the store's Close has stopped the warm-up.
func smallWarmPages(t *testing.T) {
	page := warmPage
	warmPage = testWarmPage
	t.Cleanup(func() { warmPage = page })
}

// openWarm opens an SQLite store in dir holding subscribers 0..n-1 and waits for its warm-up.
func openWarm(tb testing.TB, dir string, n int) *DB {
	tb.Helper()
	s, err := Open(Config{Driver: DriverSQLite, DSN: filepath.Join(dir, "hss.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	s.warming.Wait()
	if n > 0 {
		subs := make([]*Subscriber, n)
		for i := range subs {
			subs[i] = testSubscriber(i)
		}
		if err := s.CreateSubscribers(context.Background(), subs...); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// checkWarm fails unless the Cx reads of subscribers 0..n-1 are answered from the cache: the
// queries that would read them are closed first.
func checkWarm(t *testing.T, s *DB, n int) {
	t.Helper()
	if got := len(s.cache.byIMPI); got != n {
		t.Fatalf("%d identities cached, want %d", got, n)
	}
	s.auth.byIMPI.Close()
	s.auth.byIMPU.Close()
	ctx := context.Background()
	for _, i := range []int{0, warmPage - 1, warmPage, n - 1} {
		want := testSubscriber(i)
		a, err := s.AuthorizationByIMPI(ctx, want.IMS.IMPI) // Cx UAR
		if err != nil || !a.Enabled || a.IMS.IMPI != want.IMS.IMPI || len(a.IMS.IMPUs) != 2 ||
			a.IMS.IMPUs[0].URI != want.IMS.IMPUs[0].URI || a.IMS.IMPUs[1].URI != want.IMS.IMPUs[1].URI {
			t.Fatalf("UAR read of %s: %+v, %v", want.IMS.IMPI, a, err)
		}
		info, err := s.AuthByIMPI(ctx, want.IMS.IMPI, want.IMS.IMPUs[1].URI) // Cx MAR
		if err != nil || info.IMSI != want.IMSI || info.IMPU == nil {
			t.Fatalf("MAR read of %s: %+v, %v", want.IMS.IMPI, info, err)
		}
		if ims, err := s.IMSByIMPU(ctx, want.IMS.IMPUs[1].URI); err != nil || ims.IMPI != want.IMS.IMPI {
			t.Fatalf("read by IMPU %s: %+v, %v", want.IMS.IMPUs[1].URI, ims, err)
		}
	}
}

// TestWarmUp: after an import, and after the store is opened again, every subscriber's first
// Cx read costs no query; pages of warmPage identities are read whole and in order.
func TestWarmUp(t *testing.T) {
	smallWarmPages(t)
	const n = 2*testWarmPage + 5
	dir := t.TempDir()
	s := openWarm(t, dir, n)
	t.Run("import", func(t *testing.T) { checkWarm(t, s, n) })
	s.Close()
	s = openWarm(t, dir, 0)
	t.Run("open", func(t *testing.T) { checkWarm(t, s, n) })
}

// TestWarmUpRefusesStaleRead: what a write changed while a warm-up read is not cached, and the
// warm-up still caches the other subscribers it read.
func TestWarmUpRefusesStaleRead(t *testing.T) {
	ctx := context.Background()
	alice, bob := testSubscriber(0), testSubscriber(1)
	for _, write := range []struct {
		name  string
		fn    func(s *DB) error
		check func(s *DB) error
	}{
		{"SetRegistration", func(s *DB) error {
			return s.SetRegistration(ctx, Registration{IMPI: alice.IMS.IMPI, IMPUs: []string{alice.IMS.IMPUs[0].URI},
				State: StateRegistered, SCSCFName: "sip:scscf.ims.example"})
		}, func(s *DB) error {
			ims, err := s.IMSByIMPI(ctx, alice.IMS.IMPI)
			if err == nil && ims.IMPUs[0].State != StateRegistered {
				err = fmt.Errorf("state %s", ims.IMPUs[0].State)
			}
			return err
		}},
		{"SetSQN", func(s *DB) error { return s.SetSQN(ctx, alice.IMSI, 99) }, func(s *DB) error {
			info, err := s.AuthByIMPI(ctx, alice.IMS.IMPI, "")
			if err == nil && info.Auth.SQN != 99 {
				err = fmt.Errorf("SQN %d", info.Auth.SQN)
			}
			return err
		}},
	} {
		t.Run(write.name, func(t *testing.T) {
			smallWarmPages(t)
			s := openWarm(t, t.TempDir(), 2)
			s.cache = newReadCache()
			gen := s.cache.generation() // the warm-up starts
			entries, err := s.loadEntries(ctx, warmAfterQuery, "", warmPage)
			if err != nil || len(entries) != 2 {
				t.Fatalf("loadEntries: %d entries, %v", len(entries), err)
			}
			if err := write.fn(s); err != nil { // a write commits while it runs
				t.Fatal(err)
			}
			s.warmEntries(entries, gen)
			if e, _ := s.cache.get(alice.IMS.IMPI); e != nil {
				t.Fatal("entry read before the write cached")
			}
			if e, _ := s.cache.get(bob.IMS.IMPI); e == nil {
				t.Fatal("entry of another subscriber not cached")
			}
			if err := write.check(s); err != nil {
				t.Fatalf("read after the write: %v", err)
			}
		})
	}
}

// TestWarmUpConcurrentWrites: writes committed while the warm-up runs are all seen by the
// reads after it, whichever of them the warm-up read before or after.
func TestWarmUpConcurrentWrites(t *testing.T) {
	smallWarmPages(t)
	const n, writes = 5 * testWarmPage, 25
	ctx := context.Background()
	s := openWarm(t, t.TempDir(), n)
	s.cache = newReadCache()
	done := make(chan error)
	go func() { done <- s.warmUp(ctx) }()
	for i := range writes {
		if err := s.SetSQN(ctx, testSubscriber(i*n/writes).IMSI, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i := range writes {
		sub := testSubscriber(i * n / writes)
		if info, err := s.AuthByIMPI(ctx, sub.IMS.IMPI, ""); err != nil || info.Auth.SQN != 1000 {
			t.Fatalf("%s after the warm-up: %+v, %v", sub.IMS.IMPI, info, err)
		}
	}
}

// TestWarmUpBound: the warm-up fills the cache up to its bound and does not displace an entry
// read on demand; an import into a full cache adds nothing.
func TestWarmUpBound(t *testing.T) {
	const n, limit = 30, 10
	ctx := context.Background()
	s := openWarm(t, t.TempDir(), n)
	s.cache = newReadCache()
	s.cache.limit = limit
	last := testSubscriber(n - 1).IMS.IMPI
	if _, err := s.AuthorizationByIMPI(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := s.warmUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(s.cache.byIMPI); got != limit {
		t.Fatalf("%d identities cached, want %d", got, limit)
	}
	if e, _ := s.cache.get(last); e == nil {
		t.Fatal("entry read on demand displaced by the warm-up")
	}
	if err := s.CreateSubscribers(ctx, testSubscriber(n)); err != nil {
		t.Fatal(err)
	}
	if got := len(s.cache.byIMPI); got != limit {
		t.Fatalf("%d identities cached after an import, want %d", got, limit)
	}
}

// goroutines is the stack of every goroutine.
func goroutines() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// TestCloseWhileWarming: Close stops the warm-up it interrupts and waits for it, so that the
// warm-up never uses the closed pools (run with -race); the cache no longer changes after it.
func TestCloseWhileWarming(t *testing.T) {
	smallWarmPages(t)
	dir := t.TempDir()
	openWarm(t, dir, 5*testWarmPage).Close()
	for range 5 {
		s, err := Open(Config{Driver: DriverSQLite, DSN: filepath.Join(dir, "hss.db")})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close while warming: %v", err)
		}
		if stacks := goroutines(); strings.Contains(stacks, ".warmUp(") {
			t.Fatalf("warm-up still running after Close:\n%s", stacks)
		}
		s.cache.mu.Lock()
		cached := len(s.cache.byIMPI)
		s.cache.mu.Unlock()
		if err := s.warmUp(context.Background()); err == nil {
			t.Fatal("warm-up ran on a closed store")
		}
		if got := len(s.cache.byIMPI); got != cached {
			t.Fatalf("cache changed after Close: %d -> %d identities", cached, got)
		}
	}
}
