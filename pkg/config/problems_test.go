package config

import (
	"errors"
	"reflect"
	"testing"
)

type validator func() error

func (v validator) Validate() error { return v() }

func TestProblems(t *testing.T) {
	var inner Problems
	inner.Addf("addr", "bad %d", 1)
	inner.Addf("", "whole section")
	innerErr := inner.Err()

	var p Problems
	if p.Err() != nil {
		t.Fatal("empty collector returned an error")
	}
	p.Addf("top", "is %s", "wrong")
	p.Check("diameter", validator(func() error { return innerErr }))
	p.Check("peers", validator(func() error {
		var q Problems
		q.Merge("[2]", innerErr)
		return q.Err()
	}))
	p.Merge("plain", errors.New("oops"))
	p.Check("fine", validator(func() error { return nil }))

	var ve *ValidationError
	if !errors.As(p.Err(), &ve) {
		t.Fatalf("Err() = %T, want *ValidationError", p.Err())
	}
	want := []Problem{
		{"top", "is wrong"},
		{"diameter.addr", "bad 1"},
		{"diameter", "whole section"},
		{"peers[2].addr", "bad 1"},
		{"peers[2]", "whole section"},
		{"plain", "oops"},
	}
	if !reflect.DeepEqual(ve.Problems, want) {
		t.Errorf("problems = %q\nwant %q", ve.Problems, want)
	}
	wantText := "top: is wrong\ndiameter.addr: bad 1\ndiameter: whole section\npeers[2].addr: bad 1\npeers[2]: whole section\nplain: oops"
	if ve.Error() != wantText {
		t.Errorf("Error() = %q, want %q", ve.Error(), wantText)
	}
}
