package aka

import (
	"crypto/rand"
	"fmt"
	"io"
)

// MaxVectors bounds one request (a peer chooses the count in SIP-Number-Auth-Items or
// Number-Of-Requested-Vectors); the HSS clamps to it. 32 is one full cycle of a 5-bit IND.
const MaxVectors = 32

// Generator is the HSS side of AKA: it makes batches of vectors from a stored SQN and handles
// re-synchronisation. The zero value uses DefaultSQNPolicy and crypto/rand.
//
// The HSS loads the stored SQN, calls Vectors (or Resync then Vectors), and stores the
// returned SQN with a compare-and-swap on the value it loaded, retrying on conflict. Since the
// returned SQN depends only on the stored one, a restart never hands out a SQN twice.
type Generator struct {
	// Policy is the SQN scheme; the zero value means DefaultSQNPolicy.
	Policy SQNPolicy
	// Rand is the source of RAND; nil means crypto/rand.Reader.
	Rand io.Reader
}

func (g Generator) policy() SQNPolicy {
	if g.Policy == (SQNPolicy{}) {
		return DefaultSQNPolicy()
	}
	return g.Policy
}

func (g Generator) rand() io.Reader {
	if g.Rand == nil {
		return rand.Reader
	}
	return g.Rand
}

// Vectors makes n (1..MaxVectors) vectors with the SQNs following stored, each with a fresh
// RAND, and returns the SQN of the last one: the value the HSS must store.
func (g Generator) Vectors(c Credentials, stored SQN, n int) ([]Vector, SQN, error) {
	if n < 1 || n > MaxVectors {
		return nil, stored, invalid("count", "%d vectors, want 1..%d", n, MaxVectors)
	}
	p := g.policy()
	vs := make([]Vector, 0, n)
	sqn := stored
	for range n {
		next, err := p.Next(sqn)
		if err != nil {
			return nil, stored, err
		}
		var r [16]byte
		if _, err := io.ReadFull(g.rand(), r[:]); err != nil {
			return nil, stored, fmt.Errorf("%w: RAND: %v", ErrCrypto, err)
		}
		v, err := Generate(c, next, r)
		if err != nil {
			return nil, stored, err
		}
		vs = append(vs, v)
		sqn = next
	}
	return vs, sqn, nil
}

// Resync handles a synchronisation failure (TS 33.102 6.3.5): it verifies AUTS against RAND
// (VerifyAUTS) and returns the SQN the HSS must store and continue from. If the next SQN after
// stored is fresh for the USIM (SQNPolicy.Fresh) stored is kept; otherwise the HSS continues
// from SQN_MS, so the next vector carries SEQ_MS + 1. On error stored is unchanged.
func (g Generator) Resync(c Credentials, stored SQN, rand, auts []byte) (SQN, error) {
	sqnMS, err := VerifyAUTS(c, rand, auts)
	if err != nil {
		return stored, err
	}
	p := g.policy()
	next, err := p.Next(stored)
	if err == nil && p.Fresh(sqnMS, next) {
		return stored, nil
	}
	return sqnMS, nil
}
