package aka

import (
	"errors"
	"fmt"
)

// The errors this package returns. The HSS maps them to Diameter result codes in one place;
// test them with errors.Is, every error returned here wraps exactly one of them.
var (
	// ErrInvalidInput: a key, OP/OPc, AMF, RAND, AUTS, PLMN or count has the wrong size or
	// format. Returned as a *FieldError naming the offending field.
	ErrInvalidInput = errors.New("aka: invalid input")
	// ErrMACSMismatch: the MAC-S in an AUTS does not verify (TS 33.102 6.3.5): the
	// re-synchronisation request is not from the subscriber's USIM, or RAND does not belong to it.
	ErrMACSMismatch = errors.New("aka: AUTS MAC-S mismatch")
	// ErrSQNExhausted: SEQ has reached its maximum and cannot be incremented (TS 33.102 C.1.1.2).
	ErrSQNExhausted = errors.New("aka: SQN exhausted")
	// ErrCrypto: the random source failed, or the Milenage library did (it cannot with the
	// fixed-size inputs used here, so that would be a bug rather than bad input).
	ErrCrypto = errors.New("aka: crypto failure")
)

// FieldError is an ErrInvalidInput about one named input, so the REST layer can report the
// field ("k", "op", "opc", "amf", ...).
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("aka: invalid %s: %s", e.Field, e.Reason) }

// Is makes errors.Is(err, ErrInvalidInput) true for every FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidInput }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
