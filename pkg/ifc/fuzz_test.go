package ifc

import (
	"bytes"
	"reflect"
	"testing"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/ (go test fuzz v1 files); these targets
// also add the testdata documents. Run one with: go test -fuzz FuzzParseIFCs ./pkg/ifc/

// FuzzParseIFCs: no input may panic the parser, Validate or the evaluator, and whatever
// parses must survive a marshal/parse round trip unchanged.
func FuzzParseIFCs(f *testing.F) {
	for _, name := range []string{"ifcset.xml", "ifc_fragment.xml"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ifcs, err := ParseIFCs(data)
		if err != nil {
			return
		}
		_ = ValidateIFCs(ifcs)
		for _, req := range []*Request{inviteReq(), {Method: "REGISTER", RegistrationType: RegistrationTypeReRegistration}} {
			for after := Start; ; {
				m, ok := Evaluate(ifcs, req, after)
				if !ok {
					break
				}
				if m.Priority <= after {
					t.Fatalf("Evaluate went backwards: %d after %d", m.Priority, after)
				}
				after = m.Priority
			}
		}
		out, err := MarshalIFCs(ifcs)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := ParseIFCs(out)
		if err != nil {
			t.Fatalf("re-parse of our own output: %v\n%s", err, out)
		}
		// Characters XML cannot carry are replaced by U+FFFD on the first marshal; apart from
		// that the model must come back unchanged, and marshalling must then be stable.
		if !reflect.DeepEqual(withoutCache(ifcs), withoutCache(again)) && !bytes.ContainsRune(out, '\uFFFD') {
			t.Fatalf("round trip changed the model:\n%+v\n%+v", ifcs, again)
		}
		out2, err := MarshalIFCs(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("marshal not stable (%v):\n%s\n%s", err, out, out2)
		}
	})
}

// FuzzParseSubscription: no input may panic the Cx-User-Data parser or Validate, and a
// parsed document must marshal to XML that parses again.
func FuzzParseSubscription(f *testing.F) {
	for _, name := range []string{"annexc_subscription.xml", "kamailio_subscription.xml"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSubscription(data)
		if err != nil {
			return
		}
		_ = s.Validate()
		out, err := s.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := ParseSubscription(out); err != nil {
			t.Fatalf("re-parse of our own output: %v\n%s", err, out)
		}
	})
}
