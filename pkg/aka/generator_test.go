package aka

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wmnsk/milenage"
)

func testCredentials(t testing.TB) Credentials {
	t.Helper()
	c, err := ParseCredentials("465b5ce8b199b49faa5f0a2ee238a6bc", "cdc202d5123e20f62b6d676ac72cb318", "", "8000")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// usimAUTS builds AUTS the way a USIM does on a synchronisation failure (TS 33.102 6.3.3),
// with the Milenage library directly rather than this package's code.
func usimAUTS(t testing.TB, c Credentials, rand []byte, sqnMS SQN) []byte {
	t.Helper()
	m := milenage.NewWithOPc(c.K[:], c.OPc[:], rand, uint64(sqnMS), 0x8000)
	auts, err := m.GenerateAUTS()
	if err != nil {
		t.Fatal(err)
	}
	return auts
}

func TestVerifyAUTSRoundTrip(t *testing.T) {
	c := testCredentials(t)
	rand := bytes.Repeat([]byte{0x5a}, 16)
	for _, sqnMS := range []SQN{0, 1, 0x1cb7, 0xff9bb4d0b607, MaxSQN} {
		auts := usimAUTS(t, c, rand, sqnMS)
		got, err := VerifyAUTS(c, rand, auts)
		if err != nil || got != sqnMS {
			t.Errorf("VerifyAUTS(SQN_MS %v) = %v, %v", sqnMS, got, err)
		}
	}
}

func TestVerifyAUTSRejects(t *testing.T) {
	c := testCredentials(t)
	rand := bytes.Repeat([]byte{0x5a}, 16)
	auts := usimAUTS(t, c, rand, 0x1234)
	otherK := c
	otherK.K[0] ^= 1
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name       string
		c          Credentials
		rand, auts []byte
		want       error
	}{
		{"MAC-S bit flipped", c, rand, flip(auts, 13), ErrMACSMismatch},
		{"concealed SQN bit flipped", c, rand, flip(auts, 0), ErrMACSMismatch},
		{"other RAND", c, flip(rand, 3), auts, ErrMACSMismatch},
		{"other K", otherK, rand, auts, ErrMACSMismatch},
		{"short AUTS", c, rand, auts[:13], ErrInvalidInput},
		{"short RAND", c, rand[:15], auts, ErrInvalidInput},
		{"nil", c, nil, nil, ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := VerifyAUTS(tt.c, tt.rand, tt.auts); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// AUTS made with the subscriber's AMF instead of the dummy 0x0000 must not verify: TS 33.102
// 6.3.3 fixes AMF to zero in f1*.
func TestVerifyAUTSRequiresZeroAMF(t *testing.T) {
	c := testCredentials(t)
	rand := bytes.Repeat([]byte{0x11}, 16)
	sqnMS := SQN(0x4242)
	m := milenage.NewWithOPc(c.K[:], c.OPc[:], rand, uint64(sqnMS), 0x8000)
	akStar, err := f5Star(m)
	if err != nil {
		t.Fatal(err)
	}
	macS, err := f1Star(m, sqnMS.Bytes(), c.AMF)
	if err != nil {
		t.Fatal(err)
	}
	b := sqnMS.Bytes()
	auts := append(xor6(b[:], akStar[:]), macS[:]...)
	if _, err := VerifyAUTS(c, rand, auts); !errors.Is(err, ErrMACSMismatch) {
		t.Errorf("AUTS with AMF 8000 in f1*: err = %v, want ErrMACSMismatch", err)
	}
}

func TestSplitResyncInfo(t *testing.T) {
	info := make([]byte, 30)
	for i := range info {
		info[i] = byte(i)
	}
	r, a, err := SplitResyncInfo(info)
	if err != nil || !bytes.Equal(r, info[:16]) || !bytes.Equal(a, info[16:]) {
		t.Errorf("SplitResyncInfo = %x, %x, %v", r, a, err)
	}
	if _, _, err := SplitResyncInfo(info[:29]); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("29 octets: err = %v, want ErrInvalidInput", err)
	}
}

func TestResync(t *testing.T) {
	c := testCredentials(t)
	p := SQNPolicy{IndBits: 5, Delta: 1000}
	g := Generator{Policy: p}
	rand := bytes.Repeat([]byte{0x77}, 16)
	tests := []struct {
		name   string
		stored SQN
		sqnMS  SQN
		want   SQN
	}{
		{"HSS behind USIM: continue from SQN_MS", p.Join(10, 3), p.Join(500, 9), p.Join(500, 9)},
		{"HSS equal to USIM: continue from SQN_MS", p.Join(500, 9), p.Join(500, 9), p.Join(500, 9)},
		{"HSS ahead within Δ: keep", p.Join(900, 2), p.Join(500, 9), p.Join(900, 2)},
		{"next SQN exactly Δ ahead: keep", p.Join(1499, 0), p.Join(500, 0), p.Join(1499, 0)},
		{"HSS ahead beyond Δ: continue from SQN_MS", p.Join(1500, 0), p.Join(500, 0), p.Join(500, 0)},
		{"HSS exhausted: continue from SQN_MS", MaxSQN, p.Join(500, 0), p.Join(500, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.Resync(c, tt.stored, rand, usimAUTS(t, c, rand, tt.sqnMS))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Resync = %v, want %v", got, tt.want)
			}
			// Whatever was decided, the next vector must be one the USIM accepts.
			next, err := p.Next(got)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Fresh(tt.sqnMS, next) {
				t.Errorf("next SQN %v after resync is not fresh for SQN_MS %v", next, tt.sqnMS)
			}
		})
	}
	bad := usimAUTS(t, c, rand, 5)
	bad[13] ^= 0xff
	stored := p.Join(42, 1)
	got, err := g.Resync(c, stored, rand, bad)
	if !errors.Is(err, ErrMACSMismatch) || got != stored {
		t.Errorf("bad MAC-S: Resync = %v, %v; want stored %v and ErrMACSMismatch", got, err, stored)
	}
}

// countingReader yields 0, 1, 2, ... so RANDs are predictable and distinct.
type countingReader struct{ n byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

func TestGeneratorVectors(t *testing.T) {
	c := testCredentials(t)
	g := Generator{Rand: &countingReader{}}
	p := DefaultSQNPolicy()
	stored := p.Join(100, 30)
	vs, last, err := g.Vectors(c, stored, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []SQN{p.Join(101, 31), p.Join(102, 0), p.Join(103, 1)}
	if len(vs) != 3 || last != want[2] {
		t.Fatalf("got %d vectors, last %v; want 3, %v", len(vs), last, want[2])
	}
	for i, v := range vs {
		if v.SQN != want[i] {
			t.Errorf("vector %d SQN = %v, want %v", i, v.SQN, want[i])
		}
		if v.RAND[0] != byte(16*i) {
			t.Errorf("vector %d RAND = %x, want from the reader", i, v.RAND)
		}
		again, err := Generate(c, v.SQN, v.RAND)
		if err != nil || again != v {
			t.Errorf("vector %d differs from Generate(SQN, RAND): %v", i, err)
		}
		// A USIM that accepted the previous vector accepts this one.
		prev := stored
		if i > 0 {
			prev = vs[i-1].SQN
		}
		if !p.Fresh(prev, v.SQN) {
			t.Errorf("vector %d SQN %v not fresh after %v", i, v.SQN, prev)
		}
	}

	for _, n := range []int{0, -1, MaxVectors + 1} {
		if _, got, err := g.Vectors(c, stored, n); !errors.Is(err, ErrInvalidInput) || got != stored {
			t.Errorf("Vectors(n=%d) = %v, %v; want stored and ErrInvalidInput", n, got, err)
		}
	}
	if _, got, err := g.Vectors(c, p.Join(1<<43-2, 0), 2); !errors.Is(err, ErrSQNExhausted) || got != p.Join(1<<43-2, 0) {
		t.Errorf("Vectors past the last SEQ = %v, %v; want stored and ErrSQNExhausted", got, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestGeneratorRandFailure(t *testing.T) {
	g := Generator{Rand: failingReader{}}
	if _, got, err := g.Vectors(testCredentials(t), 7, 1); !errors.Is(err, ErrCrypto) || got != 7 {
		t.Errorf("Vectors = %v, %v; want stored and ErrCrypto", got, err)
	}
}

func TestGeneratorZeroValueUsesCryptoRand(t *testing.T) {
	vs, last, err := Generator{}.Vectors(testCredentials(t), 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if vs[0].RAND == vs[1].RAND {
		t.Error("two vectors share a RAND")
	}
	if want, _ := DefaultSQNPolicy().Next(vs[0].SQN); last != want {
		t.Errorf("last = %v, want %v", last, want)
	}
}

func BenchmarkGenerate(b *testing.B) {
	c := testCredentials(b)
	var r [16]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Generate(c, SQN(i), r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEUTRANVector(b *testing.B) {
	c := testCredentials(b)
	sn, _ := NewPLMN("001", "01")
	var r [16]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		v, err := Generate(c, SQN(i), r)
		if err != nil {
			b.Fatal(err)
		}
		_ = v.EUTRAN(sn)
	}
}

func BenchmarkGeneratorVectors5(b *testing.B) {
	c := testCredentials(b)
	g := Generator{}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := g.Vectors(c, 0, 5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResync(b *testing.B) {
	c := testCredentials(b)
	rand := bytes.Repeat([]byte{0x77}, 16)
	auts := usimAUTS(b, c, rand, 1000)
	g := Generator{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Resync(c, 0, rand, auts); err != nil {
			b.Fatal(err)
		}
	}
}
