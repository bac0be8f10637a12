package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/imscore/imscore/hss/store"
)

// TestDemoKeysSuitSIPp pins what SIPp needs of the keys it is given as aka_K and aka_OP: no 0x00
// byte (the end of a C string) and no 0x5b ('[', the start of a keyword).
func TestDemoKeysSuitSIPp(t *testing.T) {
	for _, s := range demoSubscribers {
		for name, h := range map[string]string{"K": s.K, "OP": s.OP} {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != 16 {
				t.Errorf("%s %s = %q: not 16 bytes of hex", s.IMSI, name, h)
			}
			// SIPp 3.6 reads the keys of its [authentication] keyword as C strings inside the
			// scenario text: NUL, line ends and brackets break them.
			if i := slices.IndexFunc(b, func(c byte) bool { return slices.Contains([]byte{0x00, 0x0a, 0x0d, 0x5b, 0x5d}, c) }); i >= 0 {
				t.Errorf("%s %s has byte %#02x at %d, which SIPp mishandles", s.IMSI, name, b[i], i)
			}
		}
		if s.AMF != "8000" {
			t.Errorf("%s AMF = %s, want 8000", s.IMSI, s.AMF)
		}
		sub, err := s.subscriber()
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.Validate(false); err != nil {
			t.Errorf("%s does not validate: %v", s.IMSI, err)
		}
	}
}

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(dir, "hss.db")})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestProvision: the first start creates both subscribers as CONTRACT.md gives them, a second
// start on the same database keeps what the operator changed and does not fail, and a demo
// subscriber whose MSISDN the operator gave to someone else is skipped with a warning.
func TestProvision(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	db := openStore(t, dir)
	if err := provision(ctx, db, demoSubscribers, log); err != nil {
		t.Fatalf("first provision: %v", err)
	}
	for _, d := range demoSubscribers {
		s, err := db.Subscriber(ctx, d.IMSI)
		if err != nil {
			t.Fatalf("%s: %v", d.IMSI, err)
		}
		var uris []string
		for _, u := range s.IMS.IMPUs {
			uris = append(uris, u.URI)
		}
		if s.MSISDN != d.MSISDN || hex.EncodeToString(s.Auth.K) != d.K || hex.EncodeToString(s.Auth.OP) != d.OP ||
			hex.EncodeToString(s.Auth.AMF) != "8000" || s.Auth.Algorithm != store.AlgorithmMilenage ||
			s.IMS.IMPI != d.IMSI+"@ims.mnc001.mcc001.3gppnetwork.org" || s.IMS.IFCSet != "default" ||
			!slices.Equal(uris, []string{"sip:" + d.IMSI + "@ims.mnc001.mcc001.3gppnetwork.org", "tel:+" + d.MSISDN}) ||
			!slices.Equal(s.APNs, []string{"internet", "ims"}) {
			t.Errorf("%s provisioned as %+v / %+v", d.IMSI, s, s.IMS)
		}
	}

	// The operator raises the SQN of the first (as authentications do) and deletes the second,
	// then gives its MSISDN to a new subscriber.
	if err := db.SetSQN(ctx, demoSubscribers[0].IMSI, 4242); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSubscriber(ctx, demoSubscribers[1].IMSI); err != nil {
		t.Fatal(err)
	}
	other, err := demoSubscriber{IMSI: "001019999999999", MSISDN: demoSubscribers[1].MSISDN,
		K: demoSubscribers[1].K, OP: demoSubscribers[1].OP, AMF: "8000"}.subscriber()
	if err != nil {
		t.Fatal(err)
	}
	other.IMS = nil
	if err := db.CreateSubscribers(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openStore(t, dir)
	defer db.Close()
	if err := provision(ctx, db, demoSubscribers, log); err != nil {
		t.Fatalf("second provision: %v", err)
	}
	if s, err := db.Subscriber(ctx, demoSubscribers[0].IMSI); err != nil || s.Auth.SQN != 4242 {
		t.Errorf("kept subscriber: %+v, %v; want SQN 4242", s, err)
	}
	if _, err := db.Subscriber(ctx, demoSubscribers[1].IMSI); err == nil {
		t.Error("demo subscriber created although its MSISDN belongs to another")
	}
	if !bytes.Contains(logs.Bytes(), []byte(`msg="demo subscriber not provisioned" imsi=001010000000002`)) {
		t.Errorf("no warning for the skipped subscriber:\n%s", logs.String())
	}
}
