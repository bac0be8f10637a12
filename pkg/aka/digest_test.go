package aka

import (
	"crypto/md5"
	"encoding/hex"
	"testing"
)

func TestDigestHA1(t *testing.T) {
	tests := []struct {
		name                      string
		username, realm, password string
		want                      string
	}{
		// RFC 2617 3.5: the HA1 behind the example's response (checked below).
		{"RFC 2617 3.5", "Mufasa", "testrealm@host.com", "Circle Of Life", "939e7578ed9e3c518a452acee763bce9"},
		{"empty password", "alice", "ims.mnc001.mcc001.3gppnetwork.org", "", md5hex("alice:ims.mnc001.mcc001.3gppnetwork.org:")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DigestHA1(tt.username, tt.realm, tt.password); got != tt.want {
				t.Errorf("DigestHA1 = %s, want %s", got, tt.want)
			}
		})
	}

	// RFC 2617 3.5 publishes only the response; derive it from our HA1 (qop=auth).
	ha1 := DigestHA1("Mufasa", "testrealm@host.com", "Circle Of Life")
	ha2 := md5hex("GET:/dir/index.html")
	resp := md5hex(ha1 + ":dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:" + ha2)
	if resp != "6629fae49393a05397450978507c4ef1" {
		t.Errorf("RFC 2617 response from HA1 = %s, want 6629fae49393a05397450978507c4ef1", resp)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
