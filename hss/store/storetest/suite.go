// Package storetest is the test suite every store.Store implementation runs, and the helper that
// gives a test its own PostgreSQL schema.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/imscore/imscore/hss/store"
)

// Open returns a new, empty store migrated to the current schema; the test closes it.
type Open func(t *testing.T) store.Store

// RunSuite runs every store test against stores made by open.
func RunSuite(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateAndLookup", testCreateAndLookup},
		{"CreateRejectsInvalid", testCreateRejectsInvalid},
		{"Duplicates", testDuplicates},
		{"BatchAllOrNothing", testBatchAllOrNothing},
		{"UnknownReferences", testUnknownReferences},
		{"UpdateKeepsSecretsAndState", testUpdateKeepsSecretsAndState},
		{"UpdateReplacesIMS", testUpdateReplacesIMS},
		{"UpdateFailureChangesNothing", testUpdateFailureChangesNothing},
		{"Delete", testDelete},
		{"List", testList},
		{"ReserveSQN", testReserveSQN},
		{"ReserveSQNConcurrent", testReserveSQNConcurrent},
		{"AuthByIMPI", testAuthByIMPI},
		{"AuthFollowsWrites", testAuthFollowsWrites},
		{"AuthByIMSI", testAuthByIMSI},
		{"IMSByIMPI", testIMSByIMPI},
		{"IMSByIMPUFollowsWrites", testIMSByIMPUFollowsWrites},
		{"SCSCFHosts", testSCSCFHosts},
		{"Registration", testRegistration},
		{"RegistrationAllOrNothing", testRegistrationAllOrNothing},
		{"RegistrationRepeats", testRegistrationRepeats},
		{"ServingMME", testServingMME},
		{"IFCSets", testIFCSets},
		{"APNs", testAPNs},
		{"CapabilitySets", testCapabilitySets},
		{"Defaults", testDefaults},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.fn(t, s)
		})
	}
}

var ctx = context.Background()

const realm = "ims.mnc001.mcc001.3gppnetwork.org"

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }

// subscriber builds a valid Milenage subscriber numbered n, with the APNs and iFC set the
// migrations seed.
func subscriber(n int) *store.Subscriber {
	imsi := fmt.Sprintf("0010100000%05d", n)
	return &store.Subscriber{
		IMSI: imsi, MSISDN: fmt.Sprintf("1555%04d", n), Enabled: true,
		Auth:   store.Auth{K: key(0x11), OP: key(0x22), AMF: []byte{0x80, 0x00}, Algorithm: store.AlgorithmMilenage},
		APNs:   []string{"internet", "ims"},
		AMBRUL: 50000000, AMBRDL: 100000000,
		IMS: &store.IMS{
			IMPI:   imsi + "@" + realm,
			IMPUs:  []store.IMPU{{URI: "sip:" + imsi + "@" + realm}, {URI: fmt.Sprintf("tel:+1555%04d", n)}},
			IFCSet: "default",
		},
	}
}

func mustCreate(t *testing.T, s store.Store, subs ...*store.Subscriber) {
	t.Helper()
	if err := s.CreateSubscribers(ctx, subs...); err != nil {
		t.Fatalf("CreateSubscribers: %v", err)
	}
}

func mustGet(t *testing.T, s store.Store, imsi string) *store.Subscriber {
	t.Helper()
	got, err := s.Subscriber(ctx, imsi)
	if err != nil {
		t.Fatalf("Subscriber(%s): %v", imsi, err)
	}
	return got
}

func wantErr(t *testing.T, err, kind error, field string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want %v", err, kind)
	}
	if field == "" {
		return
	}
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Fatalf("error %v: want field %q", err, field)
	}
}

func wantCount(t *testing.T, s store.Store, n int64) {
	t.Helper()
	_, total, err := s.ListSubscribers(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if total != n {
		t.Fatalf("%d subscribers stored, want %d", total, n)
	}
}

func testCreateAndLookup(t *testing.T, s store.Store) {
	in := subscriber(1)
	in.IMS.Charging = store.Charging{CCFPrimary: "aaa://ccf." + realm}
	mustCreate(t, s, in)
	lookups := map[string]func() (*store.Subscriber, error){
		"imsi":   func() (*store.Subscriber, error) { return s.Subscriber(ctx, in.IMSI) },
		"impi":   func() (*store.Subscriber, error) { return s.SubscriberByIMPI(ctx, in.IMS.IMPI) },
		"impu":   func() (*store.Subscriber, error) { return s.SubscriberByIMPU(ctx, "tel:+15550001") },
		"msisdn": func() (*store.Subscriber, error) { return s.SubscriberByMSISDN(ctx, in.MSISDN) },
	}
	for name, lookup := range lookups {
		got, err := lookup()
		if err != nil {
			t.Fatalf("by %s: %v", name, err)
		}
		if got.IMSI != in.IMSI || got.MSISDN != in.MSISDN || !got.Enabled || got.AMBRUL != in.AMBRUL || got.AMBRDL != in.AMBRDL {
			t.Fatalf("by %s: got %+v", name, got)
		}
		a := got.Auth
		if !bytes.Equal(a.K, in.Auth.K) || !bytes.Equal(a.OP, in.Auth.OP) || a.OPc != nil ||
			!bytes.Equal(a.AMF, in.Auth.AMF) || a.SQN != 0 || a.Algorithm != store.AlgorithmMilenage {
			t.Fatalf("by %s: auth %+v", name, a)
		}
		if !slices.Equal(got.APNs, in.APNs) {
			t.Fatalf("by %s: APNs %v", name, got.APNs)
		}
		ims := got.IMS
		if ims == nil || ims.IMPI != in.IMS.IMPI || ims.IFCSet != "default" || ims.Charging != in.IMS.Charging || len(ims.IMPUs) != 2 {
			t.Fatalf("by %s: IMS %+v", name, ims)
		}
		// Defaults: one implicit registration set, the first identity its default.
		want := []store.IMPU{
			{URI: in.IMS.IMPUs[0].URI, IRS: "1", Default: true, State: store.StateNotRegistered},
			{URI: in.IMS.IMPUs[1].URI, IRS: "1", State: store.StateNotRegistered},
		}
		if !slices.Equal(ims.IMPUs, want) {
			t.Fatalf("by %s: IMPUs %+v, want %+v", name, ims.IMPUs, want)
		}
		if got.CreatedAt.IsZero() {
			t.Fatalf("by %s: no creation time", name)
		}
	}
	for _, err := range []error{
		func() error { _, err := s.Subscriber(ctx, "001019999999999"); return err }(),
		func() error { _, err := s.SubscriberByIMPI(ctx, "nobody@"+realm); return err }(),
		func() error { _, err := s.SubscriberByIMPU(ctx, "sip:nobody@"+realm); return err }(),
		func() error { _, err := s.SubscriberByMSISDN(ctx, "999"); return err }(),
	} {
		wantErr(t, err, store.ErrNotFound, "")
	}
	// A subscriber without IMS and with a digest password.
	digest := &store.Subscriber{IMSI: "00101", Auth: store.Auth{AMF: []byte{0, 0}, Algorithm: store.AlgorithmDigest, Password: "secret"}}
	mustCreate(t, s, digest)
	got := mustGet(t, s, "00101")
	if got.IMS != nil || got.Auth.Password != "secret" || got.Auth.K != nil || got.MSISDN != "" || len(got.APNs) != 0 {
		t.Fatalf("digest subscriber: %+v", got)
	}
}

func testCreateRejectsInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		name   string
		modify func(*store.Subscriber)
		field  string
	}{
		{"short imsi", func(x *store.Subscriber) { x.IMSI = "1234" }, "imsi"},
		{"imsi letters", func(x *store.Subscriber) { x.IMSI = "00101000000000a" }, "imsi"},
		{"long imsi", func(x *store.Subscriber) { x.IMSI = "0010100000000001" }, "imsi"},
		{"msisdn letters", func(x *store.Subscriber) { x.MSISDN = "+1555" }, "msisdn"},
		{"short k", func(x *store.Subscriber) { x.Auth.K = key(1)[:15] }, "auth.k"},
		{"no k", func(x *store.Subscriber) { x.Auth.K = nil }, "auth.k"},
		{"op and opc", func(x *store.Subscriber) { x.Auth.OPc = key(3) }, "auth.opc"},
		{"no op", func(x *store.Subscriber) { x.Auth.OP = nil }, "auth.op"},
		{"amf", func(x *store.Subscriber) { x.Auth.AMF = []byte{1} }, "auth.amf"},
		{"sqn", func(x *store.Subscriber) { x.Auth.SQN = store.MaxSQN + 1 }, "auth.sqn"},
		{"algorithm", func(x *store.Subscriber) { x.Auth.Algorithm = "xor" }, "auth.algorithm"},
		{"digest without password", func(x *store.Subscriber) { x.Auth.Algorithm = store.AlgorithmDigest }, "auth.password"},
		{"apn twice", func(x *store.Subscriber) { x.APNs = []string{"ims", "ims"} }, "apns[1]"},
		{"impi not a NAI", func(x *store.Subscriber) { x.IMS.IMPI = "alice" }, "ims.impi"},
		{"no impus", func(x *store.Subscriber) { x.IMS.IMPUs = nil }, "ims.impus"},
		{"impu scheme", func(x *store.Subscriber) { x.IMS.IMPUs[1].URI = "mailto:a@b" }, "ims.impus[1]"},
		{"impu twice", func(x *store.Subscriber) { x.IMS.IMPUs[1].URI = x.IMS.IMPUs[0].URI }, "ims.impus[1]"},
		{"two defaults", func(x *store.Subscriber) {
			x.IMS.IMPUs[0].Default, x.IMS.IMPUs[1].Default = true, true
		}, "ims.impus[1].default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := subscriber(1)
			tc.modify(in)
			wantErr(t, s.CreateSubscribers(ctx, in), store.ErrInvalid, tc.field)
			wantCount(t, s, 0)
		})
	}
}

func testDuplicates(t *testing.T, s store.Store) {
	first := subscriber(1)
	mustCreate(t, s, first)
	tests := []struct {
		name   string
		modify func(*store.Subscriber)
		field  string
	}{
		{"imsi", func(x *store.Subscriber) { x.IMSI = first.IMSI }, "imsi"},
		{"msisdn", func(x *store.Subscriber) { x.MSISDN = first.MSISDN }, "msisdn"},
		{"impi", func(x *store.Subscriber) { x.IMS.IMPI = first.IMS.IMPI }, "ims.impi"},
		{"impu", func(x *store.Subscriber) { x.IMS.IMPUs[1].URI = first.IMS.IMPUs[1].URI }, "ims.impus[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := subscriber(2)
			tc.modify(in)
			wantErr(t, s.CreateSubscribers(ctx, in), store.ErrConflict, tc.field)
			wantCount(t, s, 1)
			if _, err := s.SubscriberByIMPI(ctx, subscriber(2).IMS.IMPI); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("half-written subscriber: %v", err)
			}
		})
	}
}

func testBatchAllOrNothing(t *testing.T, s store.Store) {
	mustCreate(t, s, subscriber(1))
	err := s.CreateSubscribers(ctx, subscriber(2), subscriber(3), subscriber(1))
	var be *store.BatchError
	if !errors.As(err, &be) || be.Index != 2 || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("error %v, want a conflict of subscriber 2", err)
	}
	wantCount(t, s, 1)
	// Two new subscribers that collide with each other.
	dup := subscriber(5)
	dup.IMS.IMPUs[0].URI = subscriber(4).IMS.IMPUs[0].URI
	err = s.CreateSubscribers(ctx, subscriber(4), dup)
	if !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("error %v, want subscriber 1 rejected", err)
	}
	wantCount(t, s, 1)
	mustCreate(t, s, subscriber(2), subscriber(3))
	wantCount(t, s, 3)
}

func testUnknownReferences(t *testing.T, s store.Store) {
	tests := []struct {
		name   string
		modify func(*store.Subscriber)
		field  string
	}{
		{"apn", func(x *store.Subscriber) { x.APNs = []string{"internet", "nope"} }, "apns[1]"},
		{"ifc set", func(x *store.Subscriber) { x.IMS.IFCSet = "nope" }, "ims.ifc_set"},
		{"capability set", func(x *store.Subscriber) { x.IMS.CapabilitySet = "nope" }, "ims.capability_set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := subscriber(1)
			tc.modify(in)
			wantErr(t, s.CreateSubscribers(ctx, in), store.ErrInvalid, tc.field)
			wantCount(t, s, 0)
		})
	}
}

func testUpdateKeepsSecretsAndState(t *testing.T, s store.Store) {
	in := subscriber(1)
	mustCreate(t, s, in)
	if _, err := s.ReserveSQN(ctx, in.IMSI, 5); err != nil {
		t.Fatal(err)
	}
	reg := store.Registration{IMPI: in.IMS.IMPI, IMPUs: []string{in.IMS.IMPUs[0].URI}, State: store.StateRegistered, SCSCFName: "sip:scscf"}
	if err := s.SetRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if err := s.SetServingMME(ctx, in.IMSI, "mme.example", "example"); err != nil {
		t.Fatal(err)
	}
	up := subscriber(1)
	up.MSISDN, up.Enabled, up.APNs = "4477", false, []string{"ims"}
	up.Auth = store.Auth{AMF: []byte{0x90, 0x01}, Algorithm: store.AlgorithmMilenage, SQN: 999}
	up.IMS.IMPUs = []store.IMPU{up.IMS.IMPUs[0], {URI: "sip:new@" + realm, Barred: true}}
	if err := s.UpdateSubscriber(ctx, up, false); err != nil {
		t.Fatalf("UpdateSubscriber: %v", err)
	}
	got := mustGet(t, s, in.IMSI)
	if got.MSISDN != "4477" || got.Enabled || !slices.Equal(got.APNs, []string{"ims"}) {
		t.Fatalf("provisioned data not replaced: %+v", got)
	}
	if !bytes.Equal(got.Auth.K, in.Auth.K) || !bytes.Equal(got.Auth.OP, in.Auth.OP) || !bytes.Equal(got.Auth.AMF, []byte{0x90, 0x01}) {
		t.Fatalf("secrets not kept or AMF not replaced: %+v", got.Auth)
	}
	if got.Auth.SQN != 5 {
		t.Fatalf("SQN %d: an update without setSQN changed it", got.Auth.SQN)
	}
	if got.MMEHost != "mme.example" || got.IMS.SCSCFName != "sip:scscf" {
		t.Fatalf("serving nodes lost: %+v %+v", got, got.IMS)
	}
	u := got.IMS.IMPUs
	if len(u) != 2 || u[0].State != store.StateRegistered || u[0].SCSCFName != "sip:scscf" ||
		u[1].URI != "sip:new@"+realm || !u[1].Barred || u[1].State != store.StateNotRegistered {
		t.Fatalf("IMPUs %+v", u)
	}
	if _, err := s.SubscriberByIMPU(ctx, "tel:+15550001"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed IMPU still found: %v", err)
	}
	// OPc replaces OP; setSQN writes the SQN.
	up.Auth.OPc = key(0x33)
	if err := s.UpdateSubscriber(ctx, up, true); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, s, in.IMSI)
	if got.Auth.OP != nil || !bytes.Equal(got.Auth.OPc, key(0x33)) || got.Auth.SQN != 999 {
		t.Fatalf("auth %+v", got.Auth)
	}
	wantErr(t, s.UpdateSubscriber(ctx, subscriber(7), false), store.ErrNotFound, "")
}

func testUpdateReplacesIMS(t *testing.T, s store.Store) {
	in := subscriber(1)
	mustCreate(t, s, in)
	up := subscriber(1)
	up.IMS.IMPI = "other@" + realm
	if err := s.UpdateSubscriber(ctx, up, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubscriberByIMPI(ctx, in.IMS.IMPI); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old IMPI still found: %v", err)
	}
	if got, err := s.SubscriberByIMPI(ctx, up.IMS.IMPI); err != nil || got.IMSI != in.IMSI {
		t.Fatalf("new IMPI: %v %v", got, err)
	}
	up.IMS = nil
	if err := s.UpdateSubscriber(ctx, up, false); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, in.IMSI); got.IMS != nil {
		t.Fatalf("IMS not removed: %+v", got.IMS)
	}
}

func testUpdateFailureChangesNothing(t *testing.T, s store.Store) {
	a, b := subscriber(1), subscriber(2)
	mustCreate(t, s, a, b)
	before := mustGet(t, s, a.IMSI)
	tests := []struct {
		name   string
		modify func(*store.Subscriber)
		kind   error
		field  string
	}{
		{"msisdn of another", func(x *store.Subscriber) { x.MSISDN = b.MSISDN }, store.ErrConflict, "msisdn"},
		{"impu of another", func(x *store.Subscriber) { x.IMS.IMPUs[1].URI = b.IMS.IMPUs[0].URI }, store.ErrConflict, "ims.impus[1]"},
		{"impi of another", func(x *store.Subscriber) { x.IMS.IMPI = b.IMS.IMPI }, store.ErrConflict, "ims.impi"},
		{"unknown ifc set", func(x *store.Subscriber) { x.IMS.IFCSet = "nope" }, store.ErrInvalid, "ims.ifc_set"},
		{"digest without stored password", func(x *store.Subscriber) { x.Auth.Algorithm = store.AlgorithmDigest }, store.ErrInvalid, "auth.password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := subscriber(1)
			up.Enabled, up.APNs = false, nil
			tc.modify(up)
			wantErr(t, s.UpdateSubscriber(ctx, up, true), tc.kind, tc.field)
			after := mustGet(t, s, a.IMSI)
			if after.Enabled != before.Enabled || !slices.Equal(after.APNs, before.APNs) ||
				after.IMS.IMPI != before.IMS.IMPI || !slices.Equal(after.IMS.IMPUs, before.IMS.IMPUs) {
				t.Fatalf("a failed update changed the subscriber: %+v", after)
			}
		})
	}
}

func testDelete(t *testing.T, s store.Store) {
	in := subscriber(1)
	mustCreate(t, s, in)
	if err := s.DeleteSubscriber(ctx, in.IMSI); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteSubscriber(ctx, in.IMSI), store.ErrNotFound, "")
	if _, err := s.SubscriberByIMPU(ctx, in.IMS.IMPUs[0].URI); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("IMPU outlived its subscriber: %v", err)
	}
	// Everything went with it: the same identities can be provisioned again.
	mustCreate(t, s, subscriber(1))
}

func testList(t *testing.T, s store.Store) {
	for n := 5; n >= 1; n-- {
		mustCreate(t, s, subscriber(n))
	}
	page, total, err := s.ListSubscribers(ctx, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 || len(page) != 2 || page[0].IMSI != subscriber(2).IMSI || page[1].IMSI != subscriber(3).IMSI {
		t.Fatalf("page %v total %d", page, total)
	}
	if page[1].IMS == nil || len(page[1].IMS.IMPUs) != 2 || len(page[1].APNs) != 2 || page[1].Auth.K == nil {
		t.Fatalf("listed subscriber not complete: %+v", page[1])
	}
	page, _, err = s.ListSubscribers(ctx, 10, 2)
	if err != nil || len(page) != 0 {
		t.Fatalf("past the end: %v %v", page, err)
	}
}

func testReserveSQN(t *testing.T, s store.Store) {
	in := subscriber(1)
	mustCreate(t, s, in)
	for _, step := range []struct{ n, first, stored uint64 }{{1, 1, 1}, {3, 2, 4}, {1, 5, 5}} {
		a, err := s.ReserveSQN(ctx, in.IMSI, step.n)
		if err != nil {
			t.Fatal(err)
		}
		if a.SQN != step.first || !bytes.Equal(a.K, in.Auth.K) {
			t.Fatalf("reserve %d: first %d, want %d", step.n, a.SQN, step.first)
		}
		if got := mustGet(t, s, in.IMSI).Auth.SQN; got != step.stored {
			t.Fatalf("stored SQN %d, want %d", got, step.stored)
		}
	}
	// SQN is 48 bits and wraps (TS 33.102 C.3.2 leaves wrap handling to the USIM's limit).
	if err := s.SetSQN(ctx, in.IMSI, store.MaxSQN-1); err != nil {
		t.Fatal(err)
	}
	a, err := s.ReserveSQN(ctx, in.IMSI, 3)
	if err != nil || a.SQN != store.MaxSQN || mustGet(t, s, in.IMSI).Auth.SQN != 1 {
		t.Fatalf("wrap: %v %d", err, a.SQN)
	}
	wantErr(t, s.SetSQN(ctx, in.IMSI, store.MaxSQN+1), store.ErrInvalid, "sqn")
	_, err = s.ReserveSQN(ctx, "001019999999999", 1)
	wantErr(t, err, store.ErrNotFound, "")
	wantErr(t, s.SetSQN(ctx, "001019999999999", 1), store.ErrNotFound, "")
	_, err = s.ReserveSQN(ctx, in.IMSI, 0)
	wantErr(t, err, store.ErrInvalid, "n")
}

// testReserveSQNConcurrent checks that concurrent MARs never get the same SQN.
func testReserveSQNConcurrent(t *testing.T, s store.Store) {
	in := subscriber(1)
	mustCreate(t, s, in)
	const workers, each = 6, 15
	var mu sync.Mutex
	seen := map[uint64]bool{}
	twice := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := uint64(1 + (w+i)%3)
				a, err := s.ReserveSQN(ctx, in.IMSI, n)
				if err != nil {
					t.Errorf("ReserveSQN: %v", err)
					return
				}
				mu.Lock()
				for sqn := a.SQN; sqn < a.SQN+n; sqn++ {
					if seen[sqn] {
						twice++
					}
					seen[sqn] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if twice > 0 {
		t.Fatalf("%d SQNs handed out twice", twice)
	}
	if got := mustGet(t, s, in.IMSI).Auth.SQN; got != uint64(len(seen)) {
		t.Fatalf("stored SQN %d after %d handed out", got, len(seen))
	}
}

func testRegistration(t *testing.T, s store.Store) {
	a, b := subscriber(1), subscriber(2)
	mustCreate(t, s, a, b)
	reg := store.Registration{IMPI: a.IMS.IMPI, IMPUs: []string{a.IMS.IMPUs[0].URI, a.IMS.IMPUs[1].URI},
		State: store.StateRegistered, SCSCFName: "sip:127.0.0.1:6060"}
	if err := s.SetRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, a.IMSI).IMS
	if got.SCSCFName != reg.SCSCFName || got.IMPUs[1].State != store.StateRegistered || got.IMPUs[1].SCSCFName != reg.SCSCFName {
		t.Fatalf("registration not recorded: %+v", got)
	}
	impis, err := s.AssignedIMPIs(ctx, "default")
	if err != nil || !slices.Equal(impis, []string{a.IMS.IMPI}) {
		t.Fatalf("AssignedIMPIs %v %v", impis, err)
	}
	// An IMPU of another IMPI: nothing changes, not even the IMPI's S-CSCF.
	bad := store.Registration{IMPI: b.IMS.IMPI, IMPUs: []string{b.IMS.IMPUs[0].URI, a.IMS.IMPUs[0].URI},
		State: store.StateUnregistered, SCSCFName: "sip:other"}
	wantErr(t, s.SetRegistration(ctx, bad), store.ErrNotFound, "")
	if got := mustGet(t, s, b.IMSI).IMS; got.SCSCFName != "" || got.IMPUs[0].State != store.StateNotRegistered {
		t.Fatalf("failed registration half-written: %+v", got)
	}
	wantErr(t, s.SetRegistration(ctx, store.Registration{IMPI: "nobody@x", State: store.StateRegistered}), store.ErrNotFound, "")
	wantErr(t, s.SetRegistration(ctx, store.Registration{IMPI: a.IMS.IMPI, State: "BOGUS"}), store.ErrInvalid, "state")
	reg.State, reg.SCSCFName = store.StateNotRegistered, ""
	if err := s.SetRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if impis, _ := s.AssignedIMPIs(ctx, "default"); len(impis) != 0 {
		t.Fatalf("de-registered IMPI still assigned: %v", impis)
	}
}

// testRegistrationAllOrNothing: a registration naming an unknown IMPU among known ones fails with
// ErrNotFound naming it and changes nothing, neither in the database nor in what the Cx reads
// return (a store may keep them in memory).
func testRegistrationAllOrNothing(t *testing.T, s store.Store) {
	in := subscriber(1)
	in.IMS.IMPUs = append(in.IMS.IMPUs, store.IMPU{URI: "sip:work@" + realm})
	mustCreate(t, s, in)
	before := mustGet(t, s, in.IMSI).IMS
	if _, err := s.IMSByIMPI(ctx, in.IMS.IMPI); err != nil { // cached before the failed write
		t.Fatal(err)
	}
	unknown := "sip:unknown@" + realm
	bad := store.Registration{IMPI: in.IMS.IMPI, State: store.StateRegistered, SCSCFName: "sip:127.0.0.1:6060",
		IMPUs: []string{in.IMS.IMPUs[0].URI, in.IMS.IMPUs[1].URI, unknown, in.IMS.IMPUs[2].URI}}
	err := s.SetRegistration(ctx, bad)
	wantErr(t, err, store.ErrNotFound, "")
	if want := "IMPU " + unknown + " of " + in.IMS.IMPI; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
	if got := mustGet(t, s, in.IMSI).IMS; !reflect.DeepEqual(got, before) {
		t.Fatalf("failed registration half-written\n got %+v\nwant %+v", got, before)
	}
	if got, err := s.IMSByIMPI(ctx, in.IMS.IMPI); err != nil || !reflect.DeepEqual(got, before) {
		t.Fatalf("IMSByIMPI after a failed registration\n got %+v, %v\nwant %+v", got, err, before)
	}
	err = s.SetRegistration(ctx, store.Registration{IMPI: "nobody@" + realm, IMPUs: []string{in.IMS.IMPUs[0].URI},
		State: store.StateRegistered})
	wantErr(t, err, store.ErrNotFound, "")
	if want := "IMPI nobody@" + realm; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
}

// testRegistrationRepeats: an IMPU named twice in a registration, or a registration that changes
// nothing (the S-CSCF repeats its SAR), is found and succeeds.
func testRegistrationRepeats(t *testing.T, s store.Store) {
	in := subscriber(1)
	mustCreate(t, s, in)
	u0, u1 := in.IMS.IMPUs[0].URI, in.IMS.IMPUs[1].URI
	reg := store.Registration{IMPI: in.IMS.IMPI, IMPUs: []string{u0, u1, u0}, State: store.StateRegistered,
		SCSCFName: "sip:127.0.0.1:6060"}
	for range 2 {
		if err := s.SetRegistration(ctx, reg); err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, s, in.IMSI).IMS
		for _, u := range got.IMPUs {
			if u.State != store.StateRegistered || u.SCSCFName != reg.SCSCFName {
				t.Fatalf("registration not recorded: %+v", got)
			}
		}
		if ims, err := s.IMSByIMPI(ctx, in.IMS.IMPI); err != nil || !reflect.DeepEqual(ims, got) {
			t.Fatalf("IMSByIMPI\n got %+v, %v\nwant %+v", ims, err, got)
		}
	}
}

func testServingMME(t *testing.T, s store.Store) {
	in := subscriber(1)
	mustCreate(t, s, in)
	if err := s.SetServingMME(ctx, in.IMSI, "mme1.epc", "epc"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, in.IMSI); got.MMEHost != "mme1.epc" || got.MMERealm != "epc" {
		t.Fatalf("MME %q %q", got.MMEHost, got.MMERealm)
	}
	wantErr(t, s.SetServingMME(ctx, "001019999999999", "a", "b"), store.ErrNotFound, "")
}

// IFCXML is a valid iFC set: one iFC sending originating INVITEs to an AS (TS 29.228 Annex B).
const IFCXML = `<?xml version="1.0" encoding="UTF-8"?>
<InitialFilterCriteriaSet>
  <InitialFilterCriteria>
    <Priority>10</Priority>
    <TriggerPoint>
      <ConditionTypeCNF>1</ConditionTypeCNF>
      <SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><Method>INVITE</Method></SPT>
      <SPT><ConditionNegated>0</ConditionNegated><Group>1</Group><SessionCase>0</SessionCase></SPT>
    </TriggerPoint>
    <ApplicationServer><ServerName>sip:as.example:5070</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer>
  </InitialFilterCriteria>
</InitialFilterCriteriaSet>`

func testIFCSets(t *testing.T, s store.Store) {
	set := &store.IFCSet{Name: "mmtel", Description: "MMTel AS", XML: IFCXML}
	if err := s.CreateIFCSet(ctx, set); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.CreateIFCSet(ctx, set), store.ErrConflict, "name")
	got, err := s.IFCSet(ctx, "mmtel")
	if err != nil || got.XML != IFCXML || got.Description != "MMTel AS" || got.UpdatedAt.IsZero() {
		t.Fatalf("IFCSet: %+v %v", got, err)
	}
	set.XML = "<InitialFilterCriteria><Priority>1</Priority><ApplicationServer><ServerName>sip:b</ServerName></ApplicationServer></InitialFilterCriteria>"
	set.Description = ""
	if err := s.UpdateIFCSet(ctx, set); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.IFCSet(ctx, "mmtel"); got.XML != set.XML || got.Description != "" {
		t.Fatalf("update lost: %+v", got)
	}
	bad := []string{
		"<ServiceProfile>",
		"not xml",
		"<A/><B/>",
		"<S><InitialFilterCriteria><ApplicationServer><ServerName>sip:a</ServerName></ApplicationServer></InitialFilterCriteria></S>",
		"<S><InitialFilterCriteria><Priority>1</Priority></InitialFilterCriteria></S>",
		"<S><InitialFilterCriteria><Priority>1</Priority><ApplicationServer><ServerName>http://a</ServerName></ApplicationServer></InitialFilterCriteria></S>",
		"<S><InitialFilterCriteria><Priority>1</Priority><TriggerPoint><ConditionTypeCNF>1</ConditionTypeCNF></TriggerPoint><ApplicationServer><ServerName>sip:a</ServerName></ApplicationServer></InitialFilterCriteria></S>",
		"<S><InitialFilterCriteria><Priority>1</Priority><TriggerPoint><ConditionTypeCNF>1</ConditionTypeCNF><SPT><Group>0</Group></SPT></TriggerPoint><ApplicationServer><ServerName>sip:a</ServerName></ApplicationServer></InitialFilterCriteria></S>",
		"<S><InitialFilterCriteria><Priority>1</Priority><ApplicationServer><ServerName>sip:a</ServerName></ApplicationServer></InitialFilterCriteria><InitialFilterCriteria><Priority>1</Priority><ApplicationServer><ServerName>sip:b</ServerName></ApplicationServer></InitialFilterCriteria></S>",
	}
	for _, doc := range bad {
		wantErr(t, s.UpdateIFCSet(ctx, &store.IFCSet{Name: "mmtel", XML: doc}), store.ErrInvalid, "xml")
	}
	if got, _ := s.IFCSet(ctx, "mmtel"); got.XML != set.XML {
		t.Fatal("a rejected update changed the set")
	}
	wantErr(t, s.UpdateIFCSet(ctx, &store.IFCSet{Name: "nope", XML: IFCXML}), store.ErrNotFound, "")
	wantErr(t, s.CreateIFCSet(ctx, &store.IFCSet{Name: "a/b", XML: IFCXML}), store.ErrInvalid, "name")

	in := subscriber(1)
	in.IMS.IFCSet = "mmtel"
	mustCreate(t, s, in)
	wantErr(t, s.DeleteIFCSet(ctx, "mmtel"), store.ErrInUse, "")
	if err := s.DeleteSubscriber(ctx, in.IMSI); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIFCSet(ctx, "mmtel"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteIFCSet(ctx, "mmtel"), store.ErrNotFound, "")
	_, err = s.IFCSet(ctx, "mmtel")
	wantErr(t, err, store.ErrNotFound, "")
	sets, err := s.ListIFCSets(ctx)
	if err != nil || len(sets) != 1 || sets[0].Name != "default" {
		t.Fatalf("ListIFCSets %v %v", sets, err)
	}
}

func testAPNs(t *testing.T, s store.Store) {
	apn := &store.APNProfile{Name: "corp.example", QCI: 6, ARPPriority: 2, PreemptionCapability: true,
		AMBRUL: 1000, AMBRDL: 2000, PDNType: store.PDNTypeIPv4}
	if err := s.CreateAPN(ctx, apn); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.CreateAPN(ctx, apn), store.ErrConflict, "name")
	if got, err := s.APN(ctx, apn.Name); err != nil || *got != *apn {
		t.Fatalf("APN %+v %v", got, err)
	}
	apn.PreemptionCapability, apn.QCI = false, 9
	if err := s.UpdateAPN(ctx, apn); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APN(ctx, apn.Name); *got != *apn {
		t.Fatalf("update: %+v", got)
	}
	for _, tc := range []struct {
		modify func(*store.APNProfile)
		field  string
	}{
		{func(p *store.APNProfile) { p.QCI = 0 }, "qci"},
		{func(p *store.APNProfile) { p.ARPPriority = 16 }, "arp_priority"},
		{func(p *store.APNProfile) { p.PDNType = "ipx" }, "pdn_type"},
		{func(p *store.APNProfile) { p.Name = "bad name" }, "name"},
	} {
		bad := *apn
		tc.modify(&bad)
		wantErr(t, s.UpdateAPN(ctx, &bad), store.ErrInvalid, tc.field)
	}
	wantErr(t, s.UpdateAPN(ctx, &store.APNProfile{Name: "nope", QCI: 9, ARPPriority: 1, PDNType: store.PDNTypeIPv4}), store.ErrNotFound, "")
	in := subscriber(1)
	in.APNs = []string{apn.Name}
	mustCreate(t, s, in)
	wantErr(t, s.DeleteAPN(ctx, apn.Name), store.ErrInUse, "")
	if err := s.DeleteSubscriber(ctx, in.IMSI); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAPN(ctx, apn.Name); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteAPN(ctx, apn.Name), store.ErrNotFound, "")
	apns, err := s.ListAPNs(ctx)
	if err != nil || len(apns) != 2 || apns[0].Name != "ims" || apns[1].Name != "internet" {
		t.Fatalf("ListAPNs %v %v", apns, err)
	}
}

func testCapabilitySets(t *testing.T, s store.Store) {
	set := &store.CapabilitySet{Name: "gold", Mandatory: []uint32{1, 2}, Optional: []uint32{7},
		ServerNames: []string{"sip:scscf1.example:6060", "sip:scscf2.example"}}
	if err := s.CreateCapabilitySet(ctx, set); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.CreateCapabilitySet(ctx, set), store.ErrConflict, "name")
	got, err := s.CapabilitySet(ctx, "gold")
	if err != nil || !slices.Equal(got.Mandatory, set.Mandatory) || !slices.Equal(got.Optional, set.Optional) ||
		!slices.Equal(got.ServerNames, set.ServerNames) {
		t.Fatalf("CapabilitySet %+v %v", got, err)
	}
	set.Mandatory, set.ServerNames = nil, nil
	if err := s.UpdateCapabilitySet(ctx, set); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CapabilitySet(ctx, "gold"); len(got.Mandatory) != 0 || len(got.ServerNames) != 0 {
		t.Fatalf("update: %+v", got)
	}
	wantErr(t, s.UpdateCapabilitySet(ctx, &store.CapabilitySet{Name: "gold", ServerNames: []string{"x"}}), store.ErrInvalid, "server_names[0]")
	in := subscriber(1)
	in.IMS.CapabilitySet = "gold"
	mustCreate(t, s, in)
	if got := mustGet(t, s, in.IMSI); got.IMS.CapabilitySet != "gold" {
		t.Fatalf("capability set of subscriber: %q", got.IMS.CapabilitySet)
	}
	wantErr(t, s.DeleteCapabilitySet(ctx, "gold"), store.ErrInUse, "")
	if err := s.DeleteSubscriber(ctx, in.IMSI); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCapabilitySet(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteCapabilitySet(ctx, "gold"), store.ErrNotFound, "")
	if sets, err := s.ListCapabilitySets(ctx); err != nil || len(sets) != 0 {
		t.Fatalf("ListCapabilitySets %v %v", sets, err)
	}
}

// testDefaults checks the profiles the first migration seeds, so CONTRACT.md's example
// subscriber can be created on a new database.
func testDefaults(t *testing.T, s store.Store) {
	set, err := s.IFCSet(ctx, "default")
	if err != nil {
		t.Fatalf("default iFC set: %v", err)
	}
	// The seeded XML passes the validation every write gets.
	if err := s.UpdateIFCSet(ctx, set); err != nil {
		t.Fatalf("default iFC set: %v", err)
	}
	for _, name := range []string{"internet", "ims"} {
		if _, err := s.APN(ctx, name); err != nil {
			t.Fatalf("APN %s: %v", name, err)
		}
	}
}

// authOf reads AuthByIMPI of a subscriber made by subscriber() for its identity number impu.
func authOf(t *testing.T, s store.Store, sub *store.Subscriber, impu int) *store.AuthInfo {
	t.Helper()
	a, err := s.AuthByIMPI(ctx, sub.IMS.IMPI, sub.IMS.IMPUs[impu].URI)
	if err != nil {
		t.Fatalf("AuthByIMPI(%s): %v", sub.IMS.IMPI, err)
	}
	if a.IMPU == nil || a.IMPU.URI != sub.IMS.IMPUs[impu].URI {
		t.Fatalf("AuthByIMPI(%s): IMPU %+v, want %s", sub.IMS.IMPI, a.IMPU, sub.IMS.IMPUs[impu].URI)
	}
	return a
}

func testAuthByIMPI(t *testing.T, s store.Store) {
	a, b := subscriber(1), subscriber(2)
	a.IMS.IMPUs[1].Barred = true
	digest := subscriber(3)
	digest.Auth = store.Auth{Algorithm: store.AlgorithmDigest, Password: "secret", AMF: []byte{0x80, 0}}
	mustCreate(t, s, a, b, digest)
	got := authOf(t, s, a, 0)
	if got.IMSI != a.IMSI || !got.Enabled || !bytes.Equal(got.Auth.K, a.Auth.K) || !bytes.Equal(got.Auth.OP, a.Auth.OP) ||
		got.Auth.OPc != nil || !bytes.Equal(got.Auth.AMF, a.Auth.AMF) || got.Auth.Algorithm != store.AlgorithmMilenage ||
		got.IMPU.State != store.StateNotRegistered || got.IMPU.Barred {
		t.Fatalf("AuthByIMPI %+v %+v", got, got.IMPU)
	}
	if u := authOf(t, s, a, 1).IMPU; !u.Barred || u.URI != a.IMS.IMPUs[1].URI {
		t.Fatalf("second IMPU %+v", u)
	}
	if d := authOf(t, s, digest, 0); d.Auth.Algorithm != store.AlgorithmDigest || d.Auth.Password != "secret" {
		t.Fatalf("digest subscriber %+v", d.Auth)
	}
	// An IMPU of another IMPI, an unknown one and none: the IMPI is found, the IMPU is not.
	for _, impu := range []string{b.IMS.IMPUs[0].URI, "sip:nobody@" + realm, ""} {
		got, err := s.AuthByIMPI(ctx, a.IMS.IMPI, impu)
		if err != nil || got.IMSI != a.IMSI || got.IMPU != nil {
			t.Fatalf("AuthByIMPI(%s, %q) = %+v, %v; want the subscriber without IMPU", a.IMS.IMPI, impu, got, err)
		}
	}
	_, err := s.AuthByIMPI(ctx, "nobody@"+realm, a.IMS.IMPUs[0].URI)
	wantErr(t, err, store.ErrNotFound, "")
}

// testAuthFollowsWrites: what AuthByIMPI returns changes with every write that changes it, as
// often as it is read in between (a store may keep it in memory).
func testAuthFollowsWrites(t *testing.T, s store.Store) {
	in := subscriber(1)
	mustCreate(t, s, in)
	authOf(t, s, in, 0)

	reg := store.Registration{IMPI: in.IMS.IMPI, IMPUs: []string{in.IMS.IMPUs[0].URI}, State: store.StateRegistered,
		SCSCFName: "sip:127.0.0.1:6060"}
	if err := s.SetRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if u := authOf(t, s, in, 0).IMPU; u.State != store.StateRegistered || u.SCSCFName != reg.SCSCFName {
		t.Fatalf("after SetRegistration: %+v", u)
	}
	if ims, err := s.IMSByIMPI(ctx, in.IMS.IMPI); err != nil || ims.SCSCFName != reg.SCSCFName ||
		ims.IMPUs[0].State != store.StateRegistered {
		t.Fatalf("IMSByIMPI after SetRegistration: %+v, %v", ims, err)
	}

	if _, err := s.ReserveSQN(ctx, in.IMSI, 32); err != nil {
		t.Fatal(err)
	}
	if got := authOf(t, s, in, 0).Auth.SQN; got != 32 {
		t.Fatalf("after ReserveSQN: stored SQN %d, want 32", got)
	}
	if err := s.SetSQN(ctx, in.IMSI, 7); err != nil {
		t.Fatal(err)
	}
	if got := authOf(t, s, in, 0).Auth.SQN; got != 7 {
		t.Fatalf("after SetSQN: stored SQN %d, want 7", got)
	}

	up := subscriber(1)
	up.Enabled = false
	up.Auth.K, up.Auth.OP = key(0x33), nil
	up.Auth.OPc = key(0x44)
	up.IMS.IMPUs = up.IMS.IMPUs[:1]
	up.IMS.Charging.CCFPrimary = "aaa://ccf." + realm
	if err := s.UpdateSubscriber(ctx, up, false); err != nil {
		t.Fatal(err)
	}
	if ims, err := s.IMSByIMPI(ctx, in.IMS.IMPI); err != nil || len(ims.IMPUs) != 1 || ims.Charging.CCFPrimary != up.IMS.Charging.CCFPrimary {
		t.Fatalf("IMSByIMPI after UpdateSubscriber: %+v, %v", ims, err)
	}
	got := authOf(t, s, in, 0)
	if got.Enabled || !bytes.Equal(got.Auth.K, key(0x33)) || !bytes.Equal(got.Auth.OPc, key(0x44)) || got.Auth.OP != nil ||
		got.Auth.SQN != 7 || got.IMPU.State != store.StateRegistered {
		t.Fatalf("after UpdateSubscriber: %+v %+v", got, got.IMPU)
	}
	if got, err := s.AuthByIMPI(ctx, in.IMS.IMPI, in.IMS.IMPUs[1].URI); err != nil || got.IMPU != nil {
		t.Fatalf("removed IMPU still found: %+v %v", got, err)
	}

	if err := s.DeleteSubscriber(ctx, in.IMSI); err != nil {
		t.Fatal(err)
	}
	_, err := s.AuthByIMPI(ctx, in.IMS.IMPI, in.IMS.IMPUs[0].URI)
	wantErr(t, err, store.ErrNotFound, "")
	_, err = s.IMSByIMPI(ctx, in.IMS.IMPI)
	wantErr(t, err, store.ErrNotFound, "")
}

func testAuthByIMSI(t *testing.T, s store.Store) {
	in := subscriber(1)
	in.IMS = nil
	mustCreate(t, s, in)
	got, err := s.AuthByIMSI(ctx, in.IMSI)
	if err != nil || got.IMSI != in.IMSI || !got.Enabled || !bytes.Equal(got.Auth.K, in.Auth.K) ||
		!bytes.Equal(got.Auth.OP, in.Auth.OP) || got.Auth.SQN != 0 || got.IMPU != nil {
		t.Fatalf("AuthByIMSI %+v, %v", got, err)
	}
	if _, err := s.ReserveSQN(ctx, in.IMSI, 5); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AuthByIMSI(ctx, in.IMSI); err != nil || got.Auth.SQN != 5 {
		t.Fatalf("after ReserveSQN: %+v, %v", got, err)
	}
	_, err = s.AuthByIMSI(ctx, "001019999999999")
	wantErr(t, err, store.ErrNotFound, "")
}

func testSCSCFHosts(t *testing.T, s store.Store) {
	const name = "sip:127.0.0.1:6060"
	_, err := s.SCSCFHost(ctx, name)
	wantErr(t, err, store.ErrNotFound, "")
	for _, host := range []string{"scscf1." + realm, "scscf2." + realm} { // the second replaces the first
		if err := s.SetSCSCFHost(ctx, name, host); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SCSCFHost(ctx, name); err != nil || got != host {
			t.Fatalf("SCSCFHost = %q, %v; want %q", got, err, host)
		}
	}
	if err := s.SetSCSCFHost(ctx, "sip:other", "scscf3."+realm); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SCSCFHost(ctx, name); got != "scscf2."+realm {
		t.Fatalf("another S-CSCF changed %s: %q", name, got)
	}
	wantErr(t, s.SetSCSCFHost(ctx, "", "h"), store.ErrInvalid, "server_name")
	wantErr(t, s.SetSCSCFHost(ctx, name, ""), store.ErrInvalid, "origin_host")
}

func testIMSByIMPI(t *testing.T, s store.Store) {
	if err := s.CreateCapabilitySet(ctx, &store.CapabilitySet{Name: "gold", Mandatory: []uint32{1}}); err != nil {
		t.Fatal(err)
	}
	a, bare := subscriber(1), subscriber(2)
	a.IMS.CapabilitySet = "gold"
	a.IMS.Charging = store.Charging{CCFPrimary: "aaa://ccf." + realm, ECFSecondary: "aaa://ecf2." + realm}
	a.IMS.IMPUs = append(a.IMS.IMPUs, store.IMPU{URI: "sip:work@" + realm, IRS: "2", Barred: true})
	bare.IMS.IFCSet = ""
	mustCreate(t, s, a, bare)
	reg := store.Registration{IMPI: a.IMS.IMPI, IMPUs: []string{a.IMS.IMPUs[1].URI}, State: store.StateRegistered,
		SCSCFName: "sip:127.0.0.1:6060"}
	if err := s.SetRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []*store.Subscriber{a, bare} {
		got, err := s.IMSByIMPI(ctx, sub.IMS.IMPI)
		if err != nil {
			t.Fatal(err)
		}
		want := mustGet(t, s, sub.IMSI)
		if !reflect.DeepEqual(got, want.IMS) {
			t.Fatalf("IMSByIMPI(%s)\n got %+v\nwant %+v", sub.IMS.IMPI, got, want.IMS)
		}
		for _, u := range sub.IMS.IMPUs {
			got, err := s.IMSByIMPU(ctx, u.URI)
			if err != nil || !reflect.DeepEqual(got, want.IMS) {
				t.Fatalf("IMSByIMPU(%s)\n got %+v, %v\nwant %+v", u.URI, got, err, want.IMS)
			}
		}
		auth, err := s.AuthorizationByIMPI(ctx, sub.IMS.IMPI)
		if err != nil || auth.Enabled != want.Enabled || !reflect.DeepEqual(&auth.IMS, want.IMS) {
			t.Fatalf("AuthorizationByIMPI(%s)\n got %+v, %v\nwant %v %+v", sub.IMS.IMPI, auth, err, want.Enabled, want.IMS)
		}
	}
	_, err := s.IMSByIMPI(ctx, "nobody@"+realm)
	wantErr(t, err, store.ErrNotFound, "")
	_, err = s.IMSByIMPU(ctx, "sip:nobody@"+realm)
	wantErr(t, err, store.ErrNotFound, "")
	_, err = s.AuthorizationByIMPI(ctx, "nobody@"+realm)
	wantErr(t, err, store.ErrNotFound, "")
}

// testIMSByIMPUFollowsWrites: what IMSByIMPU and AuthorizationByIMPI return changes with every
// write that changes it, a public identity that moves to another subscriber included (a store
// may keep them in memory).
func testIMSByIMPUFollowsWrites(t *testing.T, s store.Store) {
	in, other := subscriber(1), subscriber(2)
	mustCreate(t, s, in, other)
	moved := in.IMS.IMPUs[1].URI
	imsOf := func(impu string) *store.IMS {
		t.Helper()
		ims, err := s.IMSByIMPU(ctx, impu)
		if err != nil {
			t.Fatalf("IMSByIMPU(%s): %v", impu, err)
		}
		return ims
	}
	if got := imsOf(moved); got.IMPI != in.IMS.IMPI {
		t.Fatalf("IMSByIMPU(%s) = %s, want %s", moved, got.IMPI, in.IMS.IMPI)
	}
	if a, err := s.AuthorizationByIMPI(ctx, in.IMS.IMPI); err != nil || !a.Enabled {
		t.Fatalf("AuthorizationByIMPI: %+v, %v", a, err)
	}

	reg := store.Registration{IMPI: in.IMS.IMPI, IMPUs: []string{moved}, State: store.StateRegistered,
		SCSCFName: "sip:127.0.0.1:6060"}
	if err := s.SetRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if u := imsOf(moved).IMPU(moved); u.State != store.StateRegistered || u.SCSCFName != reg.SCSCFName {
		t.Fatalf("IMSByIMPU after SetRegistration: %+v", u)
	}
	if a, err := s.AuthorizationByIMPI(ctx, in.IMS.IMPI); err != nil || a.IMS.SCSCFName != reg.SCSCFName {
		t.Fatalf("AuthorizationByIMPI after SetRegistration: %+v, %v", a, err)
	}

	// The identity leaves in (disabled too) and joins other.
	up := subscriber(1)
	up.Enabled = false
	up.IMS.IMPUs = up.IMS.IMPUs[:1]
	if err := s.UpdateSubscriber(ctx, up, false); err != nil {
		t.Fatal(err)
	}
	_, err := s.IMSByIMPU(ctx, moved)
	wantErr(t, err, store.ErrNotFound, "")
	if a, err := s.AuthorizationByIMPI(ctx, in.IMS.IMPI); err != nil || a.Enabled || len(a.IMS.IMPUs) != 1 {
		t.Fatalf("AuthorizationByIMPI after UpdateSubscriber: %+v, %v", a, err)
	}
	imsOf(other.IMS.IMPUs[0].URI) // cached before it changes
	upOther := subscriber(2)
	upOther.IMS.IMPUs = append(upOther.IMS.IMPUs, store.IMPU{URI: moved, IRS: "9"})
	if err := s.UpdateSubscriber(ctx, upOther, false); err != nil {
		t.Fatal(err)
	}
	if got := imsOf(moved); got.IMPI != other.IMS.IMPI || got.IMPU(moved) == nil {
		t.Fatalf("IMSByIMPU(%s) after the move = %+v, want %s", moved, got, other.IMS.IMPI)
	}
	if got := imsOf(other.IMS.IMPUs[0].URI); len(got.IMPUs) != len(upOther.IMS.IMPUs) {
		t.Fatalf("IMSByIMPU of other after UpdateSubscriber: %+v", got)
	}

	if err := s.DeleteSubscriber(ctx, other.IMSI); err != nil {
		t.Fatal(err)
	}
	_, err = s.IMSByIMPU(ctx, moved)
	wantErr(t, err, store.ErrNotFound, "")
	_, err = s.AuthorizationByIMPI(ctx, other.IMS.IMPI)
	wantErr(t, err, store.ErrNotFound, "")
}
