package header

import "testing"

// BenchmarkParseCredentials is the Authorization of a re-REGISTER, which the I- and S-CSCF read.
func BenchmarkParseCredentials(b *testing.B) {
	v := `Digest username="001010000000001@ims.mnc001.mcc001.3gppnetwork.org", ` +
		`realm="ims.mnc001.mcc001.3gppnetwork.org", nonce="3XpHJ2gFQkKZnF1jKpQ9dXZ0Ym9keUxFbmd0aA==", ` +
		`uri="sip:ims.mnc001.mcc001.3gppnetwork.org", response="0123456789abcdef0123456789abcdef", ` +
		`algorithm=AKAv1-MD5, qop=auth, nc=00000002, cnonce="abcdef"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCredentials(v); err != nil {
			b.Fatal(err)
		}
	}
}
