package aka

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func TestNewPLMN(t *testing.T) {
	tests := []struct {
		mcc, mnc string
		want     string
		field    string
	}{
		{mcc: "001", mnc: "01", want: "00f110"},
		{mcc: "208", mnc: "95", want: "02f859"},
		{mcc: "310", mnc: "410", want: "130014"},
		{mcc: "262", mnc: "001", want: "621200"},
		{mcc: "01", mnc: "01", field: "mcc"},
		{mcc: "0a1", mnc: "01", field: "mcc"},
		{mcc: "001", mnc: "1", field: "mnc"},
		{mcc: "001", mnc: "0011", field: "mnc"},
		{mcc: "001", mnc: "0x", field: "mnc"},
	}
	for _, tt := range tests {
		t.Run(tt.mcc+"-"+tt.mnc, func(t *testing.T) {
			got, err := NewPLMN(tt.mcc, tt.mnc)
			if tt.field != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.field {
					t.Fatalf("err = %v, want FieldError on %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(got[:]); h != tt.want {
				t.Errorf("NewPLMN(%s, %s) = %s, want %s", tt.mcc, tt.mnc, h, tt.want)
			}
		})
	}
}

// kasmeKAT is a known-answer E-UTRAN vector from testdata/kasme.json.
type kasmeKAT struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	K      string `json:"k"`
	OPc    string `json:"opc"`
	AMF    string `json:"amf"`
	SQN    string `json:"sqn"`
	RAND   string `json:"rand"`
	MCC    string `json:"mcc"`
	MNC    string `json:"mnc"`
	XRES   string `json:"xres"`
	AUTN   string `json:"autn"`
	CK     string `json:"ck"`
	IK     string `json:"ik"`
	KASME  string `json:"kasme"`
}

func TestKASMEKnownAnswer(t *testing.T) {
	raw, err := os.ReadFile("testdata/kasme.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []kasmeKAT `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Vectors) == 0 {
		t.Fatal("no vectors in testdata/kasme.json")
	}
	for _, tt := range doc.Vectors {
		t.Run(tt.Name, func(t *testing.T) {
			c, err := ParseCredentials(tt.K, "", tt.OPc, tt.AMF)
			if err != nil {
				t.Fatal(err)
			}
			sn, err := NewPLMN(tt.MCC, tt.MNC)
			if err != nil {
				t.Fatal(err)
			}
			sqn, err := ParseSQN(mustHex(t, tt.SQN, 6))
			if err != nil {
				t.Fatal(err)
			}
			var r [16]byte
			copy(r[:], mustHex(t, tt.RAND, 16))
			v, err := Generate(c, sqn, r)
			if err != nil {
				t.Fatal(err)
			}
			e := v.EUTRAN(sn)
			checks := []struct{ name, got, want string }{
				{"RAND", hex.EncodeToString(e.RAND[:]), tt.RAND},
				{"XRES", hex.EncodeToString(e.XRES[:]), tt.XRES},
				{"AUTN", hex.EncodeToString(e.AUTN[:]), tt.AUTN},
				{"KASME", hex.EncodeToString(e.KASME[:]), tt.KASME},
			}
			if tt.CK != "" {
				checks = append(checks,
					struct{ name, got, want string }{"CK", hex.EncodeToString(v.CK[:]), tt.CK},
					struct{ name, got, want string }{"IK", hex.EncodeToString(v.IK[:]), tt.IK})
			}
			for _, f := range checks {
				if f.got != f.want {
					t.Errorf("%s = %s, want %s (%s)", f.name, f.got, f.want, tt.Source)
				}
			}
		})
	}
}

// TestKASMEInputs: every input of the A.2 KDF changes the key, so a wrong serving network or a
// SQN that is not the one in AUTN gives a KASME the UE will not share.
func TestKASMEInputs(t *testing.T) {
	var ck, ik [16]byte
	copy(ck[:], mustHex(t, "b40ba9a3c58b2a05bbf0d987b21bf8cb", 16))
	copy(ik[:], mustHex(t, "f769bcd751044604127672711c6d3441", 16))
	sn, _ := NewPLMN("001", "01")
	sqnAK := [6]byte{0x55, 0xf3, 0x28, 0xb4, 0x35, 0x77}
	base := KASME(ck, ik, sn, sqnAK)
	if KASME(ck, ik, sn, sqnAK) != base {
		t.Fatal("KASME not deterministic")
	}
	sn2, _ := NewPLMN("001", "001")
	ck2, ik2, sqn2 := ck, ik, sqnAK
	ck2[0] ^= 1
	ik2[15] ^= 1
	sqn2[5] ^= 1
	for name, k := range map[string][32]byte{
		"3-digit MNC": KASME(ck, ik, sn2, sqnAK),
		"CK":          KASME(ck2, ik, sn, sqnAK),
		"IK":          KASME(ck, ik2, sn, sqnAK),
		"SQN⊕AK":      KASME(ck, ik, sn, sqn2),
	} {
		if k == base {
			t.Errorf("changing %s left KASME unchanged", name)
		}
	}
}
