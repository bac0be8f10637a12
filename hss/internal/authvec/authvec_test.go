package authvec

import (
	"context"
	"sync"
	"testing"

	"github.com/imscore/imscore/hss/internal/hsstest"
	"github.com/imscore/imscore/pkg/aka"
)

// TestNoSQNTwice: vectors from concurrent requests, and from a new Issuer over the same store
// (a restart), never share a sequence number, and the SQNs of one batch follow each other.
func TestNoSQNTwice(t *testing.T) {
	st := hsstest.Store(t)
	hsstest.Provision(t, st)
	ctx := context.Background()
	sub, err := st.Subscriber(ctx, hsstest.AliceIMSI)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		batches [][]aka.Vector
		wg      sync.WaitGroup
	)
	for range 2 { // the second Issuer is the HSS after a restart
		iss := New(st)
		for range 8 {
			wg.Go(func() {
				for n := 1; n <= 5; n++ {
					vs, err := iss.Vectors(ctx, sub.IMSI, sub.Auth, n)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					batches = append(batches, vs)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	seen := map[uint64]bool{}
	for _, vs := range batches {
		for i, v := range vs {
			sqn := hsstest.CheckAKA(t, v.RAND[:], v.AUTN[:], v.XRES[:])
			if seen[sqn] {
				t.Fatalf("SQN %d handed out twice", sqn)
			}
			if i > 0 && sqn != uint64(vs[i-1].SQN)+1 {
				t.Fatalf("batch SQNs %d then %d", vs[i-1].SQN, sqn)
			}
			seen[sqn] = true
		}
	}
	if len(seen) != 2*8*15 {
		t.Fatalf("%d distinct SQNs, want %d", len(seen), 2*8*15)
	}
}
