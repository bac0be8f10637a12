// Package hsstest holds the fixtures the HSS tests share: a provisioned SQLite store, the
// subscribers in it, and an AKA check computed with github.com/wmnsk/milenage directly, apart
// from pkg/aka.
package hsstest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/wmnsk/milenage"

	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/diameter/dict"
)

// The home network.
const (
	Realm     = "ims.mnc001.mcc001.3gppnetwork.org"
	SCSCF     = "sip:scscf.ims.mnc001.mcc001.3gppnetwork.org:6060"
	SCSCFHost = "scscf.ims.mnc001.mcc001.3gppnetwork.org"
)

// Alice is an AKA subscriber with two public identities in one implicit registration set, a
// barred one, the "default" iFC set and the "caps" S-CSCF capabilities. K and OPc are those of
// TS 35.208 test set 1.
const (
	AliceIMSI   = "001010000000001"
	AliceMSISDN = "15550001"
	AliceIMPI   = AliceIMSI + "@" + Realm
	AliceIMPU   = "sip:" + AliceIMSI + "@" + Realm
	AliceTel    = "tel:+15550001"
	AliceBarred = "sip:alice-barred@" + Realm
	K           = "465b5ce8b199b49faa5f0a2ee238a6bc"
	OPc         = "cd63cb71954a9f4e48a5994e37a02baf"
	AMF         = "8000"
)

// Bob is a SIP Digest subscriber without iFCs (so no services when unregistered).
const (
	BobIMSI     = "001010000000002"
	BobIMPI     = "bob@" + Realm
	BobIMPU     = "sip:bob@" + Realm
	BobPassword = "bob-secret"
)

// IFCSet is the "default" iFC set: an MMTel AS for INVITEs in both states and a logger only
// while registered.
const IFCSet = `<InitialFilterCriteriaSet>
  <InitialFilterCriteria>
    <Priority>1</Priority>
    <TriggerPoint>
      <ConditionTypeCNF>0</ConditionTypeCNF>
      <SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><Method>INVITE</Method></SPT>
    </TriggerPoint>
    <ApplicationServer><ServerName>sip:mmtel.` + Realm + `</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer>
  </InitialFilterCriteria>
  <InitialFilterCriteria>
    <Priority>2</Priority>
    <ApplicationServer><ServerName>sip:logger.` + Realm + `</ServerName></ApplicationServer>
    <ProfilePartIndicator>0</ProfilePartIndicator>
  </InitialFilterCriteria>
</InitialFilterCriteriaSet>`

// Store opens an empty SQLite store in a temporary directory.
func Store(t testing.TB) *store.DB {
	t.Helper()
	st, err := store.Open(store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(t.TempDir(), "hss.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Provision writes the APNs "internet" (QCI 9) and "ims" (QCI 5), the "default" iFC set, the
// "caps" capability set, Alice and Bob into st.
func Provision(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, apn := range []*store.APNProfile{
		{Name: "internet", QCI: 9, ARPPriority: 8, AMBRUL: 50_000_000, AMBRDL: 100_000_000, PDNType: store.PDNTypeIPv4v6},
		{Name: "ims", QCI: 5, ARPPriority: 1, PDNType: store.PDNTypeIPv4v6},
	} {
		err := st.CreateAPN(ctx, apn)
		if errors.Is(err, store.ErrConflict) {
			err = st.UpdateAPN(ctx, apn) // the schema seeds both
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	set := &store.IFCSet{Name: "default", XML: IFCSet}
	err := st.CreateIFCSet(ctx, set)
	if errors.Is(err, store.ErrConflict) {
		err = st.UpdateIFCSet(ctx, set) // the schema seeds an empty one
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCapabilitySet(ctx, &store.CapabilitySet{Name: "caps", Mandatory: []uint32{1}, Optional: []uint32{2},
		ServerNames: []string{SCSCF}}); err != nil {
		t.Fatal(err)
	}
	alice := &store.Subscriber{IMSI: AliceIMSI, MSISDN: AliceMSISDN, Enabled: true,
		Auth:   store.Auth{K: unhex(t, K), OPc: unhex(t, OPc), AMF: unhex(t, AMF), Algorithm: store.AlgorithmMilenage},
		APNs:   []string{"internet", "ims"},
		AMBRUL: 100_000_000, AMBRDL: 200_000_000,
		IMS: &store.IMS{IMPI: AliceIMPI, IFCSet: "default", CapabilitySet: "caps",
			Charging: store.Charging{CCFPrimary: "aaa://ccf." + Realm},
			IMPUs: []store.IMPU{
				{URI: AliceIMPU, IRS: "1", Default: true},
				{URI: AliceTel, IRS: "1"},
				{URI: AliceBarred, IRS: "2", Barred: true},
			}}}
	bob := &store.Subscriber{IMSI: BobIMSI, Enabled: true,
		Auth: store.Auth{AMF: unhex(t, AMF), Algorithm: store.AlgorithmDigest, Password: BobPassword},
		IMS:  &store.IMS{IMPI: BobIMPI, IMPUs: []store.IMPU{{URI: BobIMPU, Default: true}}}}
	if err := st.CreateSubscribers(ctx, alice, bob); err != nil {
		t.Fatal(err)
	}
}

// CheckAKA verifies a vector made for Alice's K/OPc/AMF with wmnsk/milenage: AUTN = SQN ⊕ AK ||
// AMF || MAC-A and XRES = f2(RAND). It returns the SQN the AUTN carries.
func CheckAKA(t testing.TB, rand, autn, xres []byte) uint64 {
	t.Helper()
	if len(rand) != 16 || len(autn) != 16 {
		t.Fatalf("RAND %d octets, AUTN %d octets; want 16 and 16", len(rand), len(autn))
	}
	k, opc := unhex(t, K), unhex(t, OPc)
	m := milenage.NewWithOPc(k, opc, rand, 0, 0x8000)
	res, _, _, ak, err := m.F2345()
	if err != nil {
		t.Fatal(err)
	}
	var sqnBytes [8]byte
	for i := range 6 {
		sqnBytes[2+i] = autn[i] ^ ak[i]
	}
	var sqn uint64
	for _, b := range sqnBytes {
		sqn = sqn<<8 | uint64(b)
	}
	m = milenage.NewWithOPc(k, opc, rand, sqn, 0x8000)
	mac, err := m.F1()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(autn[6:8], unhex(t, AMF)) || !bytes.Equal(autn[8:], mac) {
		t.Fatalf("AUTN %x does not verify: want AMF %s and MAC-A %x", autn, AMF, mac)
	}
	if !bytes.Equal(xres, res) {
		t.Fatalf("XRES %x, want %x", xres, res)
	}
	return sqn
}

// AUTS is what Alice's USIM sends after a synchronisation failure on rand when its highest
// accepted sequence number is sqnMS (TS 33.102 6.3.3), computed with wmnsk/milenage.
func AUTS(t testing.TB, rand []byte, sqnMS uint64) []byte {
	t.Helper()
	m := milenage.NewWithOPc(unhex(t, K), unhex(t, OPc), rand, sqnMS, 0x8000)
	auts, err := m.GenerateAUTS()
	if err != nil {
		t.Fatal(err)
	}
	return auts
}

// Wire encodes m and decodes it again, as a peer would receive it.
func Wire(t testing.TB, m *diam.Message) *diam.Message {
	t.Helper()
	b, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	out, err := diam.ReadMessage(bytes.NewReader(b), dict.Default())
	if err != nil {
		t.Fatal(err)
	}
	return out
}
