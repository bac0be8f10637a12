package aka

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SQN is a 48-bit AKA sequence number (TS 33.102 6.3.2), kept in the low 48 bits.
// It is split as SQN = SEQ || IND (TS 33.102 C.1.1.1), the split being set by an SQNPolicy.
type SQN uint64

// MaxSQN is the largest 48-bit sequence number.
const MaxSQN SQN = 1<<48 - 1

// ParseSQN reads the 6-octet big-endian form used in AUTN and AUTS.
func ParseSQN(b []byte) (SQN, error) {
	if len(b) != 6 {
		return 0, invalid("sqn", "%d octets, want 6", len(b))
	}
	var s SQN
	for _, o := range b {
		s = s<<8 | SQN(o)
	}
	return s, nil
}

// Bytes returns the 6-octet big-endian form.
func (s SQN) Bytes() [6]byte {
	var b8 [8]byte
	binary.BigEndian.PutUint64(b8[:], uint64(s&MaxSQN))
	var b [6]byte
	copy(b[:], b8[2:])
	return b
}

// String is the 12-hex-digit form, as in the TS 35.208 tables.
func (s SQN) String() string { return fmt.Sprintf("%012x", uint64(s&MaxSQN)) }

// Defaults of SQNPolicy.
const (
	// DefaultIndBits: TS 33.102 C.3.2 (profile 2) and C.3.4 use an IND of 5 bits, a = 32.
	DefaultIndBits = 5
	// DefaultDelta is Δ, the largest SEQ step the USIM accepts (TS 33.102 C.2.1, C.3.2: 2^28).
	DefaultDelta = 1 << 28
	// MaxIndBits bounds IND so SEQ keeps at least 32 bits.
	MaxIndBits = 16
)

// SQNPolicy is the HSS's sequence number scheme, TS 33.102 Annex C: SQN = SEQ || IND with
// IND the low IndBits bits. Every method is a pure function of its arguments, so the HSS can
// compute the next SQN from the stored one and persist it with a compare-and-swap.
type SQNPolicy struct {
	// IndBits is the length of IND in bits (0 disables the IND array).
	IndBits uint
	// Delta is Δ: a USIM rejects a SQN whose SEQ is more than Delta above its highest SEQ.
	Delta uint64
}

// DefaultSQNPolicy is the C.3.2 profile: IND of 5 bits, Δ = 2^28.
func DefaultSQNPolicy() SQNPolicy {
	return SQNPolicy{IndBits: DefaultIndBits, Delta: DefaultDelta}
}

// Validate reports every problem with the policy at once.
func (p SQNPolicy) Validate() error {
	var errs []error
	if p.IndBits > MaxIndBits {
		errs = append(errs, invalid("ind_bits", "%d, want 0..%d", p.IndBits, MaxIndBits))
	}
	if p.Delta == 0 {
		errs = append(errs, invalid("delta", "must be positive"))
	}
	return errors.Join(errs...)
}

func (p SQNPolicy) indMask() uint64 { return 1<<p.IndBits - 1 }

// maxSEQ is the largest SEQ that fits next to IND in 48 bits.
func (p SQNPolicy) maxSEQ() uint64 { return uint64(MaxSQN) >> p.IndBits }

// Split returns SEQ and IND of s.
func (p SQNPolicy) Split(s SQN) (seq, ind uint64) {
	v := uint64(s & MaxSQN)
	return v >> p.IndBits, v & p.indMask()
}

// Join builds SEQ || IND; bits of seq or ind beyond their widths are dropped.
func (p SQNPolicy) Join(seq, ind uint64) SQN {
	return SQN((seq&p.maxSEQ())<<p.IndBits | ind&p.indMask())
}

// Next returns the SQN of the next authentication vector after stored: SEQ is incremented by
// one per vector (TS 33.102 C.1.1.2, C.3.2) and IND steps cyclically through its 2^IndBits
// values, so the vectors of one batch land in different slots of the USIM's array (C.1.2).
// When SEQ cannot grow any more it returns ErrSQNExhausted rather than wrap and reuse a SQN.
func (p SQNPolicy) Next(stored SQN) (SQN, error) {
	seq, ind := p.Split(stored)
	if seq >= p.maxSEQ() {
		return 0, fmt.Errorf("%w: SEQ %d at maximum", ErrSQNExhausted, seq)
	}
	return p.Join(seq+1, ind+1), nil
}

// Fresh reports whether a USIM whose highest accepted sequence number is sqnMS accepts sqn:
// its SEQ must be above SEQ_MS, and by no more than Δ (TS 33.102 C.2.1, C.2.2). Being above
// the highest SEQ makes it fresh for every slot of the IND array.
func (p SQNPolicy) Fresh(sqnMS, sqn SQN) bool {
	seqMS, _ := p.Split(sqnMS)
	seq, _ := p.Split(sqn)
	return seq > seqMS && seq-seqMS <= p.Delta
}
