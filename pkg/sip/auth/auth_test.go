package auth

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/imscore/imscore/pkg/sip/header"
)

func parseCred(t *testing.T, value string) header.Credentials {
	t.Helper()
	cs, err := header.ParseCredentials(value)
	if err != nil || len(cs) != 1 {
		t.Fatalf("ParseCredentials(%q) = %v, %v", value, cs, err)
	}
	return cs[0]
}

// RFC 2617 3.5: the worked example, byte exact.
func TestRFC2617Example(t *testing.T) {
	c := parseCred(t, `Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	ha1 := HA1("Mufasa", "testrealm@host.com", "Circle Of Life")
	if ha1 != "939e7578ed9e3c518a452acee763bce9" {
		t.Errorf("HA1 = %s", ha1)
	}
	got, err := requestDigest(ha1, c, "GET", nil)
	if err != nil || got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("request-digest = %s, %v", got, err)
	}

	// Through the server: the digest is right but the nonce is not one it issued, so the
	// answer is stale (retry without asking the user), not a wrong password.
	d := newTestDigest(t, DigestConfig{Realm: "testrealm@host.com"})
	if err := d.VerifyPassword(c, "GET", nil, "Circle Of Life"); !errors.Is(err, ErrStale) {
		t.Errorf("foreign nonce, right password: %v, want ErrStale", err)
	}
	if err := d.VerifyPassword(c, "GET", nil, "circle of life"); !errors.Is(err, ErrWrongResponse) {
		t.Errorf("wrong password: %v, want ErrWrongResponse", err)
	}
}

// akaResponse computes the AKAv1-MD5 response independently of the package: MD5 over the raw
// RES bytes as password (RFC 3310 3.3), then RFC 2617 3.2.2.1.
func akaResponse(user, realm string, res []byte, nonce, method, uri, qop, nc, cnonce string) string {
	a1 := append([]byte(user+":"+realm+":"), res...)
	ha1 := fmt.Sprintf("%x", md5.Sum(a1))
	ha2 := fmt.Sprintf("%x", md5.Sum([]byte(method+":"+uri)))
	if qop == "" {
		return fmt.Sprintf("%x", md5.Sum([]byte(ha1+":"+nonce+":"+ha2)))
	}
	return fmt.Sprintf("%x", md5.Sum([]byte(ha1+":"+nonce+":"+nc+":"+cnonce+":"+qop+":"+ha2)))
}

func TestVerifyAKA(t *testing.T) {
	const (
		user  = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"
		realm = "ims.mnc001.mcc001.3gppnetwork.org"
		uri   = "sip:ims.mnc001.mcc001.3gppnetwork.org"
	)
	// A RES with 0x00 bytes and bytes above 0x7f: a server that hex-encodes RES, stops at NUL
	// or converts through UTF-8 gets a different MD5.
	res := []byte{0x00, 0xa5, 0x3c, 0x00, 0xff, 0x10, 0x80, 0x00}
	v := AKAVector{
		RAND: bytes.Repeat([]byte{0x23}, RANDLen), AUTN: bytes.Repeat([]byte{0x55}, AUTNLen),
		XRES: res, IK: bytes.Repeat([]byte{1}, 16), CK: bytes.Repeat([]byte{2}, 16),
	}
	ch := AKAChallenge(realm, v)
	raw, _ := base64.StdEncoding.DecodeString(ch.Nonce)
	if !bytes.Equal(raw, append(append([]byte{}, v.RAND...), v.AUTN...)) {
		t.Fatalf("nonce %s is not base64(RAND‖AUTN)", ch.Nonce)
	}
	if ch.Algorithm != "AKAv1-MD5" || ch.IK != hex.EncodeToString(v.IK) || ch.CK != hex.EncodeToString(v.CK) {
		t.Fatalf("challenge %s", ch)
	}
	nonce := ch.Nonce

	cred := func(response, qop, nc, cnonce, credURI string) header.Credentials {
		s := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=AKAv1-MD5`,
			user, realm, nonce, credURI, response)
		if qop != "" {
			s += fmt.Sprintf(`, qop=%s, nc=%s, cnonce="%s"`, qop, nc, cnonce)
		}
		return parseCred(t, s)
	}
	tests := []struct {
		name string
		c    header.Credentials
		xres []byte
		want error
	}{
		{"qop=auth", cred(akaResponse(user, realm, res, nonce, "REGISTER", uri, "auth", "00000001", "0a4f113b"), "auth", "00000001", "0a4f113b", uri), res, nil},
		{"qop absent", cred(akaResponse(user, realm, res, nonce, "REGISTER", uri, "", "", ""), "", "", "", uri), res, nil},
		{"nc 2", cred(akaResponse(user, realm, res, nonce, "REGISTER", uri, "auth", "00000002", "x"), "auth", "00000002", "x", uri), res, nil},
		// SIPp puts its own target in uri; the digest is over that uri, whatever the Request-URI.
		{"sipp uri", cred(akaResponse(user, realm, res, nonce, "REGISTER", "sip:127.0.0.1:5060", "auth", "00000001", "6b8b4567"), "auth", "00000001", "6b8b4567", "sip:127.0.0.1:5060"), res, nil},
		{"response over another uri than the header's", cred(akaResponse(user, realm, res, nonce, "REGISTER", uri, "auth", "00000001", "c"), "auth", "00000001", "c", "sip:127.0.0.1:5060"), res, ErrWrongResponse},
		{"RES as hex password", cred(akaResponse(user, realm, []byte(hex.EncodeToString(res)), nonce, "REGISTER", uri, "auth", "00000001", "c"), "auth", "00000001", "c", uri), res, ErrWrongResponse},
		{"RES cut at first NUL", cred(akaResponse(user, realm, nil, nonce, "REGISTER", uri, "auth", "00000001", "c"), "auth", "00000001", "c", uri), res, ErrWrongResponse},
		{"other XRES", cred(akaResponse(user, realm, res, nonce, "REGISTER", uri, "auth", "00000001", "c"), "auth", "00000001", "c", uri), []byte{0, 0xa5, 0x3c, 0, 0xff, 0x10, 0x80, 0x01}, ErrWrongResponse},
		{"wrong method", cred(akaResponse(user, realm, res, nonce, "INVITE", uri, "auth", "00000001", "c"), "auth", "00000001", "c", uri), res, ErrWrongResponse},
		{"empty response", cred("", "auth", "00000001", "c", uri), res, ErrMissingParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyAKA(tt.c, "REGISTER", nil, nonce, tt.xres)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("VerifyAKA = %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("upper-case hex response", func(t *testing.T) {
		r := akaResponse(user, realm, res, nonce, "REGISTER", uri, "auth", "00000001", "c")
		c := cred(r, "auth", "00000001", "c", uri)
		c.Response = fmt.Sprintf("%X", mustHex(t, r))
		if err := VerifyAKA(c, "REGISTER", nil, nonce, res); err != nil {
			t.Error(err)
		}
	})
	t.Run("answer to an older nonce", func(t *testing.T) {
		c := cred(akaResponse(user, realm, res, nonce, "REGISTER", uri, "", "", ""), "", "", "", uri)
		if err := VerifyAKA(c, "REGISTER", nil, AKANonce(v.AUTN, v.RAND, nil), res); !errors.Is(err, ErrStale) {
			t.Errorf("got %v, want ErrStale", err)
		}
	})
	t.Run("wrong algorithm", func(t *testing.T) {
		c := cred(akaResponse(user, realm, res, nonce, "REGISTER", uri, "", "", ""), "", "", "", uri)
		c.Algorithm = "MD5"
		if err := VerifyAKA(c, "REGISTER", nil, nonce, res); !errors.Is(err, ErrUnsupported) {
			t.Errorf("got %v, want ErrUnsupported", err)
		}
	})
	t.Run("qop without cnonce", func(t *testing.T) {
		c := cred(akaResponse(user, realm, res, nonce, "REGISTER", uri, "auth", "00000001", "c"), "auth", "00000001", "c", uri)
		c.CNonce = ""
		if err := VerifyAKA(c, "REGISTER", nil, nonce, res); !errors.Is(err, ErrMissingParam) {
			t.Errorf("got %v, want ErrMissingParam", err)
		}
	})
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestResync(t *testing.T) {
	rand := bytes.Repeat([]byte{0x23}, RANDLen)
	autn := bytes.Repeat([]byte{0x55}, AUTNLen)
	auts := []byte{0xe4, 0xf6, 0x31, 0x32, 0xe5, 0xfa, 0x34, 0x0f, 0x89, 0x30, 0x03, 0x36, 0x2d, 0x7b}
	nonce := AKANonce(rand, autn, []byte("server-data"))
	line := func(autsParam string) header.Credentials {
		return parseCred(t, fmt.Sprintf(`Digest username="u@h", realm="h", nonce="%s", uri="sip:h", response="6629fae49393a05397450978507c4ef1", algorithm=AKAv1-MD5%s`, nonce, autsParam))
	}
	padded := base64.StdEncoding.EncodeToString(auts)
	if padded != "5PYxMuX6NA+JMAM2LXs=" {
		t.Fatalf("test vector: %s", padded)
	}
	tests := []struct {
		name  string
		param string
		want  error
	}{
		{"padded", `, auts="5PYxMuX6NA+JMAM2LXs="`, nil},
		{"unpadded", `, auts="5PYxMuX6NA+JMAM2LXs"`, nil},
		{"absent", ``, ErrMissingParam},
		{"13 bytes", `, auts="5PYxMuX6NA+JMAM2LQ=="`, ErrMalformed},
		{"not base64", `, auts="!!!"`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := line(tt.param)
			gotRand, gotAUTS, err := Resync(c)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Resync = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			if !bytes.Equal(gotRand, rand) || !bytes.Equal(gotAUTS, auts) {
				t.Errorf("rand %x auts %x", gotRand, gotAUTS)
			}
			if err := VerifyAKA(c, "REGISTER", nil, nonce, []byte{1}); !errors.Is(err, ErrResync) {
				t.Errorf("VerifyAKA with auts = %v, want ErrResync", err)
			}
		})
	}
	c := line(`, auts="5PYxMuX6NA+JMAM2LXs="`)
	c.Nonce = "c2hvcnQ="
	if _, _, err := Resync(c); !errors.Is(err, ErrMalformed) {
		t.Errorf("short nonce: %v, want ErrMalformed", err)
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestDigest(t *testing.T, cfg DigestConfig) *Digest {
	t.Helper()
	cfg.Defaults()
	d, err := NewDigest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// answer runs sipgo's digest client (github.com/icholy/digest, what sipgo's DoDigestAuth
// uses) against our challenge, through the header text both ways.
func answer(t *testing.T, ch header.Challenge, uri, user, password string, count int) header.Credentials {
	t.Helper()
	chal, err := digest.ParseChallenge(header.New(header.NameWWWAuthenticate, ch).Value())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: uri, Username: user, Password: password, Count: count})
	if err != nil {
		t.Fatal(err)
	}
	return parseCred(t, cred.String())
}

func TestDigestServer(t *testing.T) {
	const (
		realm = "ims.mnc001.mcc001.3gppnetwork.org"
		user  = "alice@" + realm
		pass  = "secret\x00pass"
		uri   = "sip:" + realm
	)
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	d := newTestDigest(t, DigestConfig{Realm: realm, NonceLifetime: time.Minute, ReplayCheck: true})
	d.now = clk.now
	ch, err := d.Challenge(false)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Opaque == "" || ch.Algorithm != "MD5" || !ch.SupportsQOP("auth") || ch.Stale {
		t.Fatalf("challenge %s", ch)
	}

	t.Run("sipgo client accepted with password and with HA1", func(t *testing.T) {
		c := answer(t, ch, uri, user, pass, 1)
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); err != nil {
			t.Fatal(err)
		}
		c2 := answer(t, ch, uri, user, pass, 2)
		if err := d.Verify(c2, "REGISTER", nil, HA1(user, realm, pass)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("replayed nc", func(t *testing.T) {
		c := answer(t, ch, uri, user, pass, 2)
		err := d.VerifyPassword(c, "REGISTER", nil, pass)
		if !errors.Is(err, ErrReplay) || !errors.Is(err, ErrStale) {
			t.Errorf("got %v, want ErrReplay (an ErrStale)", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := answer(t, ch, uri, user, "nope", 3)
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); !errors.Is(err, ErrWrongResponse) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("sipp-style uri differs from request-uri", func(t *testing.T) {
		c := answer(t, ch, "sip:127.0.0.1:5060", user, pass, 4)
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); err != nil {
			t.Error(err)
		}
	})
	t.Run("expired nonce is stale", func(t *testing.T) {
		c := answer(t, ch, uri, user, pass, 5)
		clk.t = clk.t.Add(time.Minute + time.Second)
		defer func() { clk.t = clk.t.Add(-time.Minute - time.Second) }()
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); !errors.Is(err, ErrStale) {
			t.Errorf("got %v, want ErrStale", err)
		}
		stale, err := d.Challenge(true)
		if err != nil || !stale.Stale {
			t.Errorf("stale challenge %v %v", stale, err)
		}
	})
	t.Run("forged nonce with right digest is stale", func(t *testing.T) {
		forged := ch
		raw, _ := base64.StdEncoding.DecodeString(ch.Nonce)
		raw[len(raw)-1] ^= 1
		forged.Nonce = base64.StdEncoding.EncodeToString(raw)
		c := answer(t, forged, uri, user, pass, 1)
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); !errors.Is(err, ErrStale) {
			t.Errorf("got %v, want ErrStale", err)
		}
	})
	t.Run("opaque mismatch", func(t *testing.T) {
		other := ch
		other.Opaque = "0011223344556677"
		c := answer(t, other, uri, user, pass, 6)
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); !errors.Is(err, ErrWrongResponse) {
			t.Errorf("got %v, want ErrWrongResponse", err)
		}
	})
	t.Run("other realm", func(t *testing.T) {
		other := ch
		other.Realm = "evil.example"
		c := answer(t, other, uri, user, pass, 7)
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); !errors.Is(err, ErrWrongResponse) {
			t.Errorf("got %v, want ErrWrongResponse", err)
		}
	})
	t.Run("no qop, single use", func(t *testing.T) {
		fresh, err := d.Challenge(false)
		if err != nil {
			t.Fatal(err)
		}
		fresh.QOP = nil
		c := answer(t, fresh, uri, user, pass, 0)
		if c.QOP != "" || c.NC != 0 {
			t.Fatalf("client used qop: %+v", c)
		}
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); err != nil {
			t.Fatal(err)
		}
		if err := d.VerifyPassword(c, "REGISTER", nil, pass); !errors.Is(err, ErrReplay) {
			t.Errorf("second use: %v, want ErrReplay", err)
		}
	})
	t.Run("missing and unsupported parameters", func(t *testing.T) {
		base := answer(t, ch, uri, user, pass, 8)
		for name, mutate := range map[string]func(*header.Credentials) error{
			"username":  func(c *header.Credentials) error { c.Username = ""; return ErrMissingParam },
			"nonce":     func(c *header.Credentials) error { c.Nonce = ""; return ErrMissingParam },
			"uri":       func(c *header.Credentials) error { c.URI = ""; return ErrMissingParam },
			"response":  func(c *header.Credentials) error { c.Response = ""; return ErrMissingParam },
			"cnonce":    func(c *header.Credentials) error { c.CNonce = ""; return ErrMissingParam },
			"nc":        func(c *header.Credentials) error { c.NC = 0; return ErrMissingParam },
			"algorithm": func(c *header.Credentials) error { c.Algorithm = "SHA-256"; return ErrUnsupported },
			"qop":       func(c *header.Credentials) error { c.QOP = "auth-conf"; return ErrUnsupported },
			"scheme":    func(c *header.Credentials) error { c.Scheme = "Basic"; return ErrUnsupported },
		} {
			c := base
			want := mutate(&c)
			if err := d.VerifyPassword(c, "REGISTER", nil, pass); !errors.Is(err, want) {
				t.Errorf("%s: got %v, want %v", name, err, want)
			}
		}
	})
}

func TestAuthInt(t *testing.T) {
	d := newTestDigest(t, DigestConfig{})
	ch, err := d.Challenge(false)
	if err != nil {
		t.Fatal(err)
	}
	ch.QOP = []string{"auth-int"}
	body := []byte("v=0\r\n")
	chal, err := digest.ParseChallenge(ch.String())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "MESSAGE", URI: "sip:b@h", Username: "a", Password: "p",
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }})
	if err != nil {
		t.Fatal(err)
	}
	c := parseCred(t, cred.String())
	if err := d.VerifyPassword(c, "MESSAGE", body, "p"); err != nil {
		t.Errorf("auth-int: %v", err)
	}
	if err := d.VerifyPassword(c, "MESSAGE", []byte("v=1\r\n"), "p"); !errors.Is(err, ErrWrongResponse) {
		t.Errorf("auth-int, other body: %v", err)
	}
}

func TestDigestConfig(t *testing.T) {
	var c DigestConfig
	err := c.Validate()
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("realm")) || !bytes.Contains([]byte(err.Error()), []byte("nonce_lifetime")) {
		t.Errorf("Validate of zero config = %v, want both problems", err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	if _, err := NewDigest(DigestConfig{}); err == nil {
		t.Error("NewDigest accepted an empty config")
	}
}
