package aka

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/wmnsk/milenage"
)

// ts35208Set is one test set of TS 35.208 4.3, hex as printed in the spec.
type ts35208Set struct {
	Set    int    `json:"set"`
	K      string `json:"k"`
	RAND   string `json:"rand"`
	SQN    string `json:"sqn"`
	AMF    string `json:"amf"`
	OP     string `json:"op"`
	OPc    string `json:"opc"`
	F1     string `json:"f1"`
	F1Star string `json:"f1star"`
	F2     string `json:"f2"`
	F3     string `json:"f3"`
	F4     string `json:"f4"`
	F5     string `json:"f5"`
	F5Star string `json:"f5star"`
}

func loadTS35208(t *testing.T) []ts35208Set {
	t.Helper()
	raw, err := os.ReadFile("testdata/ts35208.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sets []ts35208Set `json:"sets"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Sets) != 20 {
		t.Fatalf("testdata has %d sets, want the 20 of TS 35.208 4.3", len(doc.Sets))
	}
	return doc.Sets
}

func mustHex(t testing.TB, s string, n int) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != n {
		t.Fatalf("bad hex %q (want %d octets): %v", s, n, err)
	}
	return b
}

func xor6(a, b []byte) []byte {
	out := make([]byte, 6)
	for i := range out {
		out[i] = a[i] ^ b[i]
	}
	return out
}

// TestTS35208 checks OPc, f1, f1*, f2, f3, f4, f5 and f5* of every TS 35.208 test set, byte
// for byte, through the code paths the HSS uses.
func TestTS35208(t *testing.T) {
	for _, ts := range loadTS35208(t) {
		t.Run(fmt.Sprintf("set%02d", ts.Set), func(t *testing.T) {
			var k, op [16]byte
			copy(k[:], mustHex(t, ts.K, 16))
			copy(op[:], mustHex(t, ts.OP, 16))

			opc, err := OPcFromOP(k, op)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(opc[:]); got != ts.OPc {
				t.Errorf("OPc = %s, want %s", got, ts.OPc)
			}
			c, err := ParseCredentials(ts.K, ts.OP, "", ts.AMF)
			if err != nil {
				t.Fatal(err)
			}
			if c.OPc != opc {
				t.Errorf("ParseCredentials OPc = %x, want %x", c.OPc, opc)
			}

			sqnBytes := mustHex(t, ts.SQN, 6)
			sqn, err := ParseSQN(sqnBytes)
			if err != nil {
				t.Fatal(err)
			}
			var r [16]byte
			copy(r[:], mustHex(t, ts.RAND, 16))
			v, err := Generate(c, sqn, r)
			if err != nil {
				t.Fatal(err)
			}
			check := func(name string, got []byte, want string) {
				t.Helper()
				if h := hex.EncodeToString(got); h != want {
					t.Errorf("%s = %s, want %s", name, h, want)
				}
			}
			check("f2 (XRES)", v.XRES[:], ts.F2)
			check("f3 (CK)", v.CK[:], ts.F3)
			check("f4 (IK)", v.IK[:], ts.F4)
			check("f5 (AK = SQN⊕AK ⊕ SQN)", xor6(v.AUTN[:6], sqnBytes), ts.F5)
			check("AMF in AUTN", v.AUTN[6:8], ts.AMF)
			check("f1 (MAC-A in AUTN)", v.AUTN[8:], ts.F1)

			m := milenage.NewWithOPc(c.K[:], c.OPc[:], r[:], 0, 0)
			akStar, err := f5Star(m)
			if err != nil {
				t.Fatal(err)
			}
			check("f5*", akStar[:], ts.F5Star)
			var amf [2]byte
			copy(amf[:], mustHex(t, ts.AMF, 2))
			macS, err := f1Star(m, sqn.Bytes(), amf)
			if err != nil {
				t.Fatal(err)
			}
			check("f1*", macS[:], ts.F1Star)
		})
	}
}

func TestParseCredentials(t *testing.T) {
	const k = "465b5ce8b199b49faa5f0a2ee238a6bc"
	const op = "cdc202d5123e20f62b6d676ac72cb318"
	const opc = "cd63cb71954a9f4e48a5994e37a02baf"
	tests := []struct {
		name           string
		k, op, opc     string
		amf            string
		wantField      string
		wantOPc        string
		wantAMF        [2]byte
		wantInvalidErr bool
	}{
		{name: "op", k: k, op: op, amf: "8000", wantOPc: opc, wantAMF: [2]byte{0x80, 0x00}},
		{name: "opc", k: k, opc: opc, amf: "b9b9", wantOPc: opc, wantAMF: [2]byte{0xb9, 0xb9}},
		{name: "upper-case hex", k: "465B5CE8B199B49FAA5F0A2EE238A6BC", opc: opc, amf: "8000", wantOPc: opc, wantAMF: [2]byte{0x80, 0}},
		{name: "both", k: k, op: op, opc: opc, amf: "8000", wantField: "opc"},
		{name: "neither", k: k, amf: "8000", wantField: "op"},
		{name: "short k", k: k[:30], opc: opc, amf: "8000", wantField: "k"},
		{name: "non-hex opc", k: k, opc: "zz" + opc[2:], amf: "8000", wantField: "opc"},
		{name: "long op", k: k, op: op + "00", amf: "8000", wantField: "op"},
		{name: "bad amf", k: k, opc: opc, amf: "80", wantField: "amf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCredentials(tt.k, tt.op, tt.opc, tt.amf)
			if tt.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want FieldError on %q", err, tt.wantField)
				}
				if !errors.Is(err, ErrInvalidInput) {
					t.Errorf("errors.Is(%v, ErrInvalidInput) = false", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(c.OPc[:]); got != tt.wantOPc {
				t.Errorf("OPc = %s, want %s", got, tt.wantOPc)
			}
			if c.AMF != tt.wantAMF {
				t.Errorf("AMF = %x, want %x", c.AMF, tt.wantAMF)
			}
		})
	}
}

func TestSIPAuthenticateAuthorization(t *testing.T) {
	c, err := ParseCredentials("465b5ce8b199b49faa5f0a2ee238a6bc", "", "cd63cb71954a9f4e48a5994e37a02baf", "b9b9")
	if err != nil {
		t.Fatal(err)
	}
	var r [16]byte
	copy(r[:], mustHex(t, "23553cbe9637a89d218ae64dae47bf35", 16))
	v, err := Generate(c, 0xff9bb4d0b607, r)
	if err != nil {
		t.Fatal(err)
	}
	// TS 35.208 set 1: AUTN = SQN⊕AK (ff9bb4d0b607 ⊕ aa689c648370) || AMF || MAC-A.
	want := mustHex(t, "23553cbe9637a89d218ae64dae47bf35"+"55f328b43577"+"b9b9"+"4a9ffac354dfafb3", 32)
	if got := v.SIPAuthenticate(); !bytes.Equal(got, want) {
		t.Errorf("SIP-Authenticate = %x, want %x", got, want)
	}
	if got := v.SIPAuthorization(); hex.EncodeToString(got) != "a54211d5e3ba50bf" {
		t.Errorf("SIP-Authorization = %x, want XRES a54211d5e3ba50bf", got)
	}
}
