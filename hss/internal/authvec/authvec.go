// Package authvec issues AKA authentication vectors against the subscriber store, for Cx MAR
// (IMS AKA, TS 33.203) and S6a AIR (EPS AKA, TS 33.401): it reserves the sequence numbers,
// computes the vectors and handles re-synchronisation.
package authvec

import (
	"context"
	"fmt"
	"sync"

	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/aka"
)

// Store is what vector issuing needs from the subscriber store.
type Store interface {
	ReserveSQN(ctx context.Context, imsi string, n uint64) (store.Auth, error)
	SetSQN(ctx context.Context, imsi string, sqn uint64) error
}

// BlockSize is how many sequence numbers one store write reserves for a subscriber. The
// Issuer hands them out from memory, so a MAR or AIR rarely writes; a restart skips what was
// left of a block, far less than the Δ a USIM tolerates (TS 33.102 C.2.1, 2^28). The request
// that reserves waits for a durable write (an fsync on SQLite): with one in 128 requests
// doing so, fewer than 1% of them wait, and the write stays out of the 99th percentile.
const BlockSize = 128

// Issuer makes vectors for subscribers of a store.
type Issuer struct {
	store Store
	// gen follows the store's sequence numbers: Store.ReserveSQN hands them out one by one, so
	// the policy has no IND bits (SQN = SEQ, one step per vector), which every USIM accepts
	// whatever its IND length (TS 33.102 C.1.2: each step is fresh for its slot).
	gen aka.Generator

	mu     sync.Mutex
	blocks map[string]*block // reserved, not yet used sequence numbers by IMSI
}

// block is a run of reserved sequence numbers [next, end]; next > end when used up.
type block struct {
	mu        sync.Mutex
	next, end uint64
}

// New returns an Issuer over st.
func New(st Store) *Issuer {
	return &Issuer{store: st, gen: aka.Generator{Policy: aka.SQNPolicy{IndBits: 0, Delta: aka.DefaultDelta}},
		blocks: map[string]*block{}}
}

func (i *Issuer) block(imsi string) *block {
	i.mu.Lock()
	defer i.mu.Unlock()
	b := i.blocks[imsi]
	if b == nil {
		b = &block{next: 1}
		i.blocks[imsi] = b
	}
	return b
}

// reserve returns the first of n consecutive sequence numbers no one else got, from the
// subscriber's block or, when it has fewer than n left, from a new block reserved in the store.
func (i *Issuer) reserve(ctx context.Context, imsi string, n int) (uint64, error) {
	b := i.block(imsi)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next+uint64(n)-1 > b.end || b.next > b.end {
		size := max(n, BlockSize)
		reserved, err := i.store.ReserveSQN(ctx, imsi, uint64(size))
		if err != nil {
			return 0, fmt.Errorf("reserve SQN: %w", err)
		}
		b.next, b.end = reserved.SQN, reserved.SQN+uint64(size)-1
	}
	first := b.next
	b.next += uint64(n)
	return first, nil
}

// Credentials reads the Milenage parameters of a.
func Credentials(a store.Auth) (aka.Credentials, error) {
	var c aka.Credentials
	if len(a.K) != 16 || len(a.AMF) != 2 {
		return c, fmt.Errorf("authentication data: K or AMF missing")
	}
	copy(c.K[:], a.K)
	copy(c.AMF[:], a.AMF)
	switch {
	case len(a.OPc) == 16:
		copy(c.OPc[:], a.OPc)
	case len(a.OP) == 16:
		var op [16]byte
		copy(op[:], a.OP)
		opc, err := aka.OPcFromOP(c.K, op)
		if err != nil {
			return c, err
		}
		c.OPc = opc
	default:
		return c, fmt.Errorf("authentication data: neither OP nor OPc")
	}
	return c, nil
}

// Vectors reserves n sequence numbers of subscriber imsi (whose authentication data is a) and
// returns the n vectors made with them, oldest first.
func (i *Issuer) Vectors(ctx context.Context, imsi string, a store.Auth, n int) ([]aka.Vector, error) {
	c, err := Credentials(a)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > aka.MaxVectors {
		return nil, fmt.Errorf("authvec: %d vectors, want 1..%d", n, aka.MaxVectors)
	}
	first, err := i.reserve(ctx, imsi, n)
	if err != nil {
		return nil, err
	}
	// Vectors starts after "stored".
	vs, _, err := i.gen.Vectors(c, aka.SQN(first-1)&aka.MaxSQN, n)
	return vs, err
}

// Resync verifies AUTS against RAND (TS 33.102 6.3.5) for subscriber imsi and stores the
// sequence number to continue from, so the next Vectors are fresh for the USIM. A bad MAC-S
// is aka.ErrMACSMismatch and changes nothing. The stored SQN (a.SQN) is the end of the
// reserved block, so the USIM's SQN_MS is judged against every number handed out.
func (i *Issuer) Resync(ctx context.Context, imsi string, a store.Auth, rand, auts []byte) error {
	c, err := Credentials(a)
	if err != nil {
		return err
	}
	b := i.block(imsi)
	b.mu.Lock()
	defer b.mu.Unlock()
	next, err := i.gen.Resync(c, aka.SQN(a.SQN), rand, auts)
	if err != nil {
		return err
	}
	if err := i.store.SetSQN(ctx, imsi, uint64(next)); err != nil {
		return err
	}
	b.next, b.end = 1, 0 // used up: the next vector reserves from the new SQN
	return nil
}
