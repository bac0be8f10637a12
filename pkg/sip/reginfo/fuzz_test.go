package reginfo

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzReginfo feeds NOTIFY bodies as a peer may send them. Parse never panics; a document it
// accepts marshals and parses again; and Terminations, which skips decoding documents that
// cannot report a termination, finds exactly what a full decode finds.
func FuzzReginfo(f *testing.F) {
	for _, name := range []string{"testdata/active.xml", "testdata/terminated.xml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, terr := Terminations(body)
		r, err := Parse(body)
		if err != nil {
			return
		}
		if terr != nil {
			t.Fatalf("Parse accepts what Terminations refuses: %v", terr)
		}
		var want []Termination
		for _, reg := range r.Registrations {
			if reg.State == StateTerminated {
				want = append(want, Termination{AOR: reg.AOR})
				continue
			}
			for _, c := range reg.Contacts {
				if c.State == StateTerminated {
					want = append(want, Termination{AOR: reg.AOR, Contact: strings.TrimSpace(c.URI)})
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Terminations = %+v, full decode finds %+v", got, want)
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted document: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%s", err, out)
		}
	})
}
