package auth

import (
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/sip/header"
)

// FuzzVerify feeds any Authorization value that parses to every verifier: none may panic, and
// none may accept credentials that were not computed from the secret.
func FuzzVerify(f *testing.F) {
	d, err := NewDigest(DigestConfig{Realm: "h", NonceLifetime: time.Minute, ReplayCheck: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value string) {
		cs, err := header.ParseCredentials(value)
		if err != nil {
			return
		}
		for _, c := range cs {
			if err := VerifyAKA(c, "REGISTER", nil, c.Nonce, []byte{0, 1, 2, 3}); err == nil {
				t.Fatalf("VerifyAKA accepted %q", value)
			}
			if err := d.VerifyPassword(c, "REGISTER", nil, "secret"); err == nil {
				t.Fatalf("Verify accepted %q", value)
			}
			_, _, _ = Resync(c)
		}
	})
}
