package regstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "scscf.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	reg := &Registration{IMPU: "sip:a@x", IMPI: "a@x", Implicit: []string{"sip:a@x", "tel:+1"}, UserData: "<IMSSubscription/>",
		Contacts:      []Contact{{URI: "sip:ue@192.0.2.1", Expires: exp, Path: []string{"<sip:p;lr>"}, CallID: "c", CSeq: 7}},
		Subscriptions: []Subscription{{CallID: "s", FromTag: "f", ToTag: "t", Resource: "sip:a@x", Contact: "sip:ue@192.0.2.1", Expires: exp}}}
	if err := s.Put(ctx, reg); err != nil {
		t.Fatal(err)
	}
	reg.Contacts[0].CSeq = 8
	if err := s.Put(ctx, reg); err != nil { // replaces
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, as after a restart.
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err := s.All(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("All: %v %v", all, err)
	}
	got := all[0]
	if got.IMPI != "a@x" || len(got.Implicit) != 2 || got.Contacts[0].CSeq != 8 || !got.Contacts[0].Expires.Equal(exp) ||
		got.Subscriptions[0].ToTag != "t" {
		t.Errorf("restored %+v", got)
	}
	if err := s.Delete(ctx, "sip:a@x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "sip:a@x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if err := s.Delete(ctx, "sip:a@x"); err != nil {
		t.Errorf("Delete of a missing registration: %v", err)
	}
}

// TestApply: a batch of puts and deletes lands in one go; a later batch replaces rows.
func TestApply(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "scscf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var puts []*Registration
	for i := range 1200 { // more than one INSERT batch
		puts = append(puts, &Registration{IMPU: fmt.Sprintf("sip:u%d@x", i), IMPI: fmt.Sprintf("u%d@x", i)})
	}
	if err := s.Apply(ctx, puts, nil); err != nil {
		t.Fatal(err)
	}
	var dels []string
	for i := range 700 {
		dels = append(dels, fmt.Sprintf("sip:u%d@x", i))
	}
	replaced := &Registration{IMPU: "sip:u1000@x", IMPI: "u1000@x", UserData: "new"}
	if err := s.Apply(ctx, []*Registration{replaced}, dels); err != nil {
		t.Fatal(err)
	}
	all, err := s.All(ctx)
	if err != nil || len(all) != 500 {
		t.Fatalf("All: %d registrations, %v; want 500", len(all), err)
	}
	if got, err := s.Get(ctx, "sip:u1000@x"); err != nil || got.UserData != "new" {
		t.Errorf("replaced: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "sip:u0@x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted: %v", err)
	}
}
