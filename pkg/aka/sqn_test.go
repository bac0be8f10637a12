package aka

import (
	"errors"
	"testing"
)

func TestSQNBytesRoundTrip(t *testing.T) {
	for _, s := range []SQN{0, 1, 0x1cb7, 0xff9bb4d0b607, MaxSQN} {
		b := s.Bytes()
		got, err := ParseSQN(b[:])
		if err != nil || got != s {
			t.Errorf("ParseSQN(%x) = %v, %v; want %v", b, got, err, s)
		}
	}
	if b := SQN(0xff9bb4d0b607).Bytes(); b != [6]byte{0xff, 0x9b, 0xb4, 0xd0, 0xb6, 0x07} {
		t.Errorf("Bytes = %x", b)
	}
	if s := SQN(0x1cb7).String(); s != "000000001cb7" {
		t.Errorf("String = %s", s)
	}
	if _, err := ParseSQN(make([]byte, 5)); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("ParseSQN(5 octets) err = %v, want ErrInvalidInput", err)
	}
}

func TestSQNPolicyNext(t *testing.T) {
	def := DefaultSQNPolicy()
	tests := []struct {
		name     string
		p        SQNPolicy
		stored   SQN
		wantSEQ  uint64
		wantIND  uint64
		wantErr  error
		wantSQN  SQN
		checkSQN bool
	}{
		{name: "first vector", p: def, stored: 0, wantSEQ: 1, wantIND: 1, wantSQN: 0x21, checkSQN: true},
		{name: "SEQ and IND step", p: def, stored: def.Join(7, 3), wantSEQ: 8, wantIND: 4},
		{name: "IND wraps, SEQ still steps", p: def, stored: def.Join(7, 31), wantSEQ: 8, wantIND: 0, wantSQN: 8 << 5, checkSQN: true},
		{name: "IND of 3 bits wraps at 8", p: SQNPolicy{IndBits: 3, Delta: DefaultDelta}, stored: 7, wantSEQ: 1, wantIND: 0, wantSQN: 8, checkSQN: true},
		{name: "no IND", p: SQNPolicy{IndBits: 0, Delta: DefaultDelta}, stored: 41, wantSEQ: 42, wantIND: 0, wantSQN: 42, checkSQN: true},
		{name: "last SEQ", p: def, stored: def.Join(1<<43-2, 0), wantSEQ: 1<<43 - 1, wantIND: 1},
		{name: "exhausted", p: def, stored: MaxSQN, wantErr: ErrSQNExhausted},
		{name: "exhausted whatever IND", p: def, stored: def.Join(1<<43-1, 4), wantErr: ErrSQNExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Next(tt.stored)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Next(%v) err = %v, want %v", tt.stored, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			seq, ind := tt.p.Split(got)
			if seq != tt.wantSEQ || ind != tt.wantIND {
				t.Errorf("Next(%v) = SEQ %d IND %d, want SEQ %d IND %d", tt.stored, seq, ind, tt.wantSEQ, tt.wantIND)
			}
			if tt.checkSQN && got != tt.wantSQN {
				t.Errorf("Next(%v) = %v, want %v", tt.stored, got, tt.wantSQN)
			}
			if got <= tt.stored && got>>tt.p.IndBits <= tt.stored>>tt.p.IndBits {
				t.Errorf("Next(%v) = %v does not advance SEQ", tt.stored, got)
			}
		})
	}
}

// TestSQNNextIsPure: the same stored SQN always yields the same next one, so the store can
// persist it atomically and a restart continues without reuse.
func TestSQNNextIsPure(t *testing.T) {
	p := DefaultSQNPolicy()
	seen := map[SQN]bool{}
	s := SQN(0)
	for range 100 {
		a, err := p.Next(s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := p.Next(s)
		if a != b {
			t.Fatalf("Next(%v) not deterministic: %v vs %v", s, a, b)
		}
		if seen[a] {
			t.Fatalf("SQN %v reused", a)
		}
		seen[a] = true
		s = a
	}
}

func TestSQNPolicyFresh(t *testing.T) {
	p := SQNPolicy{IndBits: 5, Delta: 100}
	ms := p.Join(1000, 7)
	tests := []struct {
		name string
		sqn  SQN
		want bool
	}{
		{"next SEQ", p.Join(1001, 0), true},
		{"SEQ+Δ", p.Join(1100, 31), true},
		{"beyond Δ", p.Join(1101, 0), false},
		{"same SEQ other IND", p.Join(1000, 8), false},
		{"older SEQ", p.Join(999, 31), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Fresh(ms, tt.sqn); got != tt.want {
				t.Errorf("Fresh(%v, %v) = %v, want %v", ms, tt.sqn, got, tt.want)
			}
		})
	}
}

func TestSQNPolicyValidate(t *testing.T) {
	if err := DefaultSQNPolicy().Validate(); err != nil {
		t.Errorf("default policy: %v", err)
	}
	err := SQNPolicy{IndBits: 17, Delta: 0}.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if errors.As(e, &fe) {
			fields = append(fields, fe.Field)
		}
	}
	if len(fields) != 2 || fields[0] != "ind_bits" || fields[1] != "delta" {
		t.Errorf("Validate reported %v, want both ind_bits and delta", fields)
	}
	if !errors.Is(err, ErrInvalidInput) {
		t.Errorf("errors.Is(%v, ErrInvalidInput) = false", err)
	}
}
