package header

import (
	"testing"
)

// fuzzRoundTrip checks the property every parser here promises: no panic on any input, and
// anything accepted renders to a value that parses again to the same rendering.
func fuzzRoundTrip(t *testing.T, r render, in string) {
	first, err := r(in)
	if err != nil {
		return
	}
	second, err := r(first)
	if err != nil {
		t.Fatalf("rendering of %q does not parse: %q: %v", in, first, err)
	}
	if first != second {
		t.Fatalf("unstable rendering of %q:\n1st %q\n2nd %q", in, first, second)
	}
}

func FuzzNameAddrs(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		fuzzRoundTrip(t, renderers["path"], in)
		fuzzRoundTrip(t, renderers["p-asserted-identity"], in)
	})
}

func FuzzPHeaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		fuzzRoundTrip(t, renderers["p-visited-network-id"], in)
		fuzzRoundTrip(t, renderers["p-access-network-info"], in)
		fuzzRoundTrip(t, renderers["p-charging-vector"], in)
		fuzzRoundTrip(t, renderers["p-charging-function-addresses"], in)
	})
}

func FuzzSecurityMechanisms(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		fuzzRoundTrip(t, renderers["security-client"], in)
	})
}

func FuzzDigest(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		fuzzRoundTrip(t, renderers["www-authenticate"], in)
		fuzzRoundTrip(t, renderers["authorization"], in)
		fuzzRoundTrip(t, renderers["authentication-info"], in)
	})
}
