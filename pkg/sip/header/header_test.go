package header

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// render parses a value with the parser for its header name and renders it back.
type render func(value string) (string, error)

func list[T fmt.Stringer](parse func(string) ([]T, error)) render {
	return func(v string) (string, error) {
		vs, err := parse(v)
		if err != nil {
			return "", err
		}
		return New("X", vs...).Value(), nil
	}
}

func single[T fmt.Stringer](parse func(string) (T, error)) render {
	return func(v string) (string, error) {
		x, err := parse(v)
		if err != nil {
			return "", err
		}
		return x.String(), nil
	}
}

var renderers = map[string]render{
	"path":                          list(ParseNameAddrs),
	"service-route":                 list(ParseNameAddrs),
	"p-associated-uri":              list(ParseNameAddrs),
	"p-asserted-identity":           list(ParseIdentities),
	"p-preferred-identity":          list(ParseIdentities),
	"p-visited-network-id":          list(ParseVisitedNetworks),
	"p-access-network-info":         list(ParseAccessNetworkInfo),
	"p-charging-vector":             single(ParseChargingVector),
	"p-charging-function-addresses": single(ParseChargingFunctionAddresses),
	"security-client":               list(ParseSecurityMechanisms),
	"security-server":               list(ParseSecurityMechanisms),
	"security-verify":               list(ParseSecurityMechanisms),
	"www-authenticate":              list(ParseChallenges),
	"proxy-authenticate":            list(ParseChallenges),
	"authorization":                 list(ParseCredentials),
	"proxy-authorization":           list(ParseCredentials),
	"authentication-info":           single(ParseAuthenticationInfo),
}

type headerLine struct {
	line        int
	name, value string
}

func readHeaderLines(t *testing.T, path string) []headerLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []headerLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if sc.Text() == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			t.Fatalf("%s:%d: no colon", path, n)
		}
		out = append(out, headerLine{n, name, strings.TrimPrefix(value, " ")})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCapturedValuesRoundTrip(t *testing.T) {
	for _, h := range readHeaderLines(t, "testdata/valid.txt") {
		t.Run(fmt.Sprintf("%d_%s", h.line, h.name), func(t *testing.T) {
			r := renderers[strings.ToLower(h.name)]
			if r == nil {
				t.Fatalf("no parser for %q", h.name)
			}
			first, err := r(h.value)
			if err != nil {
				t.Fatalf("parse %q: %v", h.value, err)
			}
			second, err := r(first)
			if err != nil {
				t.Fatalf("reparse %q: %v", first, err)
			}
			if first != second {
				t.Errorf("round trip not stable:\n in: %s\n 1st: %s\n 2nd: %s", h.value, first, second)
			}
		})
	}
}

func TestMalformedValuesFail(t *testing.T) {
	for _, h := range readHeaderLines(t, "testdata/invalid.txt") {
		t.Run(fmt.Sprintf("%d_%s", h.line, h.name), func(t *testing.T) {
			r := renderers[strings.ToLower(h.name)]
			if r == nil {
				t.Fatalf("no parser for %q", h.name)
			}
			got, err := r(h.value)
			if err == nil {
				t.Fatalf("parse %q succeeded: %q", h.value, got)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
		})
	}
}

func TestNameAddrs(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // URI, display name, params
		out      string
	}{
		{
			name: "path with lr",
			in:   "<sip:term@pcscf.ims.mnc001.mcc001.3gppnetwork.org:5060;lr>",
			want: []string{"sip:term@pcscf.ims.mnc001.mcc001.3gppnetwork.org:5060;lr||"},
			out:  "<sip:term@pcscf.ims.mnc001.mcc001.3gppnetwork.org:5060;lr>",
		},
		{
			name: "two on one line, comma inside quoted display name",
			in:   `"Doe, John" <sip:a@home1.net>;x="1,2" , <tel:+15550001>`,
			want: []string{"sip:a@home1.net|Doe, John|;x=\"1,2\"", "tel:+15550001||"},
			out:  `"Doe, John" <sip:a@home1.net>;x="1,2", <tel:+15550001>`,
		},
		{
			name: "addr-spec: params are header params",
			in:   "sip:a@home1.net;lr",
			want: []string{"sip:a@home1.net||;lr"},
			out:  "<sip:a@home1.net>;lr",
		},
		{
			name: "escaped quote in display name",
			in:   `"a \"b\" \\c" <sip:a@b>`,
			want: []string{`sip:a@b|a "b" \c|`},
			out:  `"a \"b\" \\c" <sip:a@b>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNameAddrs(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var flat []string
			for _, a := range got {
				flat = append(flat, a.URI.String()+"|"+a.DisplayName+"|"+a.Params.String())
			}
			if strings.Join(flat, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q, want %q", flat, tt.want)
			}
			if s := New(NamePath, got...).Value(); s != tt.out {
				t.Errorf("rendered %q, want %q", s, tt.out)
			}
		})
	}
}

func TestLRIsURIParam(t *testing.T) {
	got, err := ParseNameAddrs("<sip:orig@scscf.home1.net;lr>")
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].URI.UriParams.Has("lr") || len(got[0].Params) != 0 {
		t.Errorf("lr must be a URI parameter: uri params %v, header params %v", got[0].URI.UriParams, got[0].Params)
	}
}

// TestAllAcrossLines checks that values split over several header lines and values packed on
// one line give the same list, in message order, through a message parsed by sipgo.
func TestAllAcrossLines(t *testing.T) {
	raw := strings.Join([]string{
		"REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1",
		"From: <sip:a@ims.mnc001.mcc001.3gppnetwork.org>;tag=1",
		"To: <sip:a@ims.mnc001.mcc001.3gppnetwork.org>",
		"Call-ID: 1@127.0.0.1",
		"CSeq: 1 REGISTER",
		"Path: <sip:term@p1.example;lr>, <sip:term@p2.example;lr>",
		"Path: <sip:term@p3.example;lr>",
		"WWW-Authenticate: Digest realm=\"a\", nonce=\"1\"",
		"WWW-Authenticate: Digest realm=\"b\", nonce=\"2\", Digest realm=\"c\", nonce=\"3\"",
		"Content-Length: 0",
		"", "",
	}, "\r\n")
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	paths, err := All(msg.GetHeaders(NamePath), ParseNameAddrs)
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, p := range paths {
		hosts = append(hosts, p.URI.Host)
	}
	if got := strings.Join(hosts, ","); got != "p1.example,p2.example,p3.example" {
		t.Errorf("paths %s", got)
	}
	chals, err := All(msg.GetHeaders(NameWWWAuthenticate), ParseChallenges)
	if err != nil {
		t.Fatal(err)
	}
	var realms []string
	for _, c := range chals {
		realms = append(realms, c.Realm+"/"+c.Nonce)
	}
	if got := strings.Join(realms, ","); got != "a/1,b/2,c/3" {
		t.Errorf("challenges %s", got)
	}
	if _, err := All([]sip.Header{sip.NewHeader(NamePath, "<sip:ok@x>"), sip.NewHeader(NamePath, "<bad")}, ParseNameAddrs); err == nil {
		t.Error("a bad second line must fail")
	}
}

func TestPHeaders(t *testing.T) {
	t.Run("visited network", func(t *testing.T) {
		got, err := ParseVisitedNetworks(`other.net, "Visited network number 1";x=1`)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "other.net" || got[0].Quoted || got[1].ID != "Visited network number 1" ||
			!got[1].Quoted || !got[1].Params.Has("x") {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("access network info", func(t *testing.T) {
		got, err := ParseAccessNetworkInfo("3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=001010001000019B; network-provided")
		if err != nil {
			t.Fatal(err)
		}
		cell, ok := got[0].CellID()
		if got[0].AccessType != "3GPP-E-UTRAN-FDD" || !ok || cell != "001010001000019B" || !got[0].NetworkProvided() {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("charging vector", func(t *testing.T) {
		got, err := ParseChargingVector(`icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024"; icid-generated-at=[2001:db8::1]; ORIG-IOI=home1.net; term-ioi=visited.net; transit-ioi=t.net`)
		if err != nil {
			t.Fatal(err)
		}
		want := ChargingVector{
			ICIDValue: "AyretyU0dm+6O2IrT5tAFrbHLso=023551024", ICIDGeneratedAt: "[2001:db8::1]",
			OrigIOI: "home1.net", TermIOI: "visited.net", Other: Params{{Name: "transit-ioi", Value: "t.net"}},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		const out = `icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";icid-generated-at=[2001:db8::1];orig-ioi=home1.net;term-ioi=visited.net;transit-ioi=t.net`
		if got.String() != out {
			t.Errorf("rendered %s", got.String())
		}
	})
	t.Run("charging function addresses", func(t *testing.T) {
		got, err := ParseChargingFunctionAddresses(`ccf=192.1.1.1; ccf="aaa://ofcs.example:3868"; ecf=[5555::1]`)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got.CCF, " ") != "192.1.1.1 aaa://ofcs.example:3868" || strings.Join(got.ECF, " ") != "[5555::1]" {
			t.Errorf("got %+v", got)
		}
		if s := got.String(); s != `ccf=192.1.1.1;ccf="aaa://ofcs.example:3868";ecf=[5555::1]` {
			t.Errorf("rendered %s", s)
		}
	})
}

func TestSecurityMechanisms(t *testing.T) {
	const client = "ipsec-3gpp;alg=hmac-md5-96;ealg=des-ede3-cbc;spi-c=3929102;spi-s=3929103;port-c=41062;port-s=42629;mod=trans;prot=esp, digest;d-alg=md5;q=0.5"
	got, err := ParseSecurityMechanisms(client)
	if err != nil {
		t.Fatal(err)
	}
	want := []SecurityMechanism{
		{Mechanism: MechanismIPsec3GPP, Alg: "hmac-md5-96", EAlg: "des-ede3-cbc", SPIC: 3929102, SPIS: 3929103,
			PortC: 41062, PortS: 42629, Prot: "esp", Mod: "trans"},
		{Mechanism: MechanismDigest, Q: "0.5", Other: Params{{Name: "d-alg", Value: "md5"}}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	const out = "ipsec-3gpp;alg=hmac-md5-96;ealg=des-ede3-cbc;spi-c=3929102;spi-s=3929103;port-c=41062;port-s=42629;prot=esp;mod=trans, digest;q=0.5;d-alg=md5"
	if s := New(NameSecurityClient, got...).Value(); s != out {
		t.Errorf("rendered %s", s)
	}

	// RFC 3329 2.3.1: Security-Verify must repeat Security-Server; order and case do not matter.
	server, _ := ParseSecurityMechanisms("ipsec-3gpp; q=0.1; alg=hmac-sha-1-96; spi-c=98765432; spi-s=87654321; port-c=8642; port-s=7531")
	verify, _ := ParseSecurityMechanisms("IPSEC-3GPP;port-s=7531;port-c=8642;spi-s=87654321;spi-c=98765432;alg=HMAC-SHA-1-96;q=0.1")
	tampered, _ := ParseSecurityMechanisms("ipsec-3gpp; q=0.1; alg=hmac-md5-96; spi-c=98765432; spi-s=87654321; port-c=8642; port-s=7531")
	if !server[0].Equal(verify[0]) {
		t.Error("reordered Security-Verify must equal Security-Server")
	}
	if server[0].Equal(tampered[0]) {
		t.Error("a changed alg must not compare equal")
	}
}

func TestDigestHeaders(t *testing.T) {
	t.Run("AKA challenge from S-CSCF with ik/ck", func(t *testing.T) {
		got, err := ParseChallenges(`Digest realm="ims.mnc001.mcc001.3gppnetwork.org", nonce="r1Ph2U0+8TL4J1Ujb2HQ6eWTbmxN9QAAIRDN5h9L/Ms=", algorithm=AKAv1-MD5, qop="auth,auth-int", ik="00112233445566778899aabbccddeeff", ck="ffeeddccbbaa99887766554433221100"`)
		if err != nil {
			t.Fatal(err)
		}
		c := got[0]
		if c.Scheme != "Digest" || c.Realm != "ims.mnc001.mcc001.3gppnetwork.org" || c.Algorithm != AlgorithmAKAv1MD5 ||
			c.IK != "00112233445566778899aabbccddeeff" || c.CK != "ffeeddccbbaa99887766554433221100" ||
			!c.SupportsQOP("auth") || !c.SupportsQOP("AUTH-INT") || c.SupportsQOP("x") {
			t.Errorf("got %+v", c)
		}
		c.IK, c.CK = "", ""
		const toUE = `Digest realm="ims.mnc001.mcc001.3gppnetwork.org", nonce="r1Ph2U0+8TL4J1Ujb2HQ6eWTbmxN9QAAIRDN5h9L/Ms=", algorithm=AKAv1-MD5, qop="auth,auth-int"`
		if c.String() != toUE {
			t.Errorf("rendered %s", c.String())
		}
	})
	t.Run("stale and quoting", func(t *testing.T) {
		c := Challenge{Realm: `a"b`, Nonce: "n,1", Stale: true, Opaque: `x\y`, Algorithm: AlgorithmMD5, QOP: []string{QOPAuth}}
		const want = `Digest realm="a\"b", nonce="n,1", opaque="x\\y", stale=TRUE, algorithm=MD5, qop="auth"`
		if c.String() != want {
			t.Fatalf("rendered %s", c.String())
		}
		back, err := ParseChallenges(c.String())
		if err != nil || len(back) != 1 || fmt.Sprint(back[0]) != fmt.Sprint(Challenge{Scheme: "Digest", Realm: `a"b`, Nonce: "n,1", Stale: true, Opaque: `x\y`, Algorithm: AlgorithmMD5, QOP: []string{QOPAuth}}) {
			t.Errorf("back %+v, %v", back, err)
		}
	})
	t.Run("initial IMS REGISTER credentials keep empty nonce and response", func(t *testing.T) {
		got, err := ParseCredentials(`Digest username="user1_private@home1.net", realm="registrar.home1.net", nonce="", uri="sip:registrar.home1.net", response="", integrity-protected="no"`)
		if err != nil {
			t.Fatal(err)
		}
		const want = `Digest username="user1_private@home1.net", realm="registrar.home1.net", nonce="", uri="sip:registrar.home1.net", response="", integrity-protected=no`
		if got[0].IntegrityProtected != IntegrityNo || got[0].String() != want {
			t.Errorf("got %+v\nrendered %s", got[0], got[0].String())
		}
	})
	t.Run("credentials with auts, nc, cnonce", func(t *testing.T) {
		got, err := ParseCredentials(`Digest username="u@h", realm="h", nonce="A34Cm+Fva37UYWpGNB34JP", uri="sip:h", response="6629fae49393a05397450978507c4ef1", auts="5PYxMuX6NA+JMAM2LXs=", algorithm=AKAv1-MD5, qop="auth", nc=0000000A, cnonce="c,1"`)
		if err != nil {
			t.Fatal(err)
		}
		want := Credentials{Scheme: "Digest", Username: "u@h", Realm: "h", Nonce: "A34Cm+Fva37UYWpGNB34JP", URI: "sip:h",
			Response: "6629fae49393a05397450978507c4ef1", AUTS: "5PYxMuX6NA+JMAM2LXs=", Algorithm: AlgorithmAKAv1MD5,
			QOP: QOPAuth, NC: 10, CNonce: "c,1"}
		if fmt.Sprint(got[0]) != fmt.Sprint(want) {
			t.Errorf("got %+v\nwant %+v", got[0], want)
		}
		const out = `Digest username="u@h", realm="h", nonce="A34Cm+Fva37UYWpGNB34JP", uri="sip:h", response="6629fae49393a05397450978507c4ef1", algorithm=AKAv1-MD5, cnonce="c,1", qop=auth, nc=0000000a, auts="5PYxMuX6NA+JMAM2LXs="`
		if got[0].String() != out {
			t.Errorf("rendered %s", got[0].String())
		}
	})
	t.Run("authentication-info", func(t *testing.T) {
		got, err := ParseAuthenticationInfo(`nextnonce="47364c23432d2e131a5fb210812c", qop=auth, rspauth="abc", cnonce="0a4f113b", nc=00000001`)
		if err != nil {
			t.Fatal(err)
		}
		want := AuthenticationInfo{NextNonce: "47364c23432d2e131a5fb210812c", QOP: "auth", RspAuth: "abc", CNonce: "0a4f113b", NC: 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %+v", got)
		}
	})
}

func TestFormatNC(t *testing.T) {
	for in, want := range map[uint32]string{1: "00000001", 0xabc: "00000abc", 0xffffffff: "ffffffff"} {
		if got := FormatNC(in); got != want {
			t.Errorf("FormatNC(%d) = %s, want %s", in, got, want)
		}
	}
}

// Named and First find header lines whatever the case of their names, in message order.
func TestNamedAndFirst(t *testing.T) {
	msg, err := sip.ParseMessage([]byte("REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n" +
		"path: <sip:p1@x;lr>\r\nExpires: 60\r\nPATH: <sip:p2@x;lr>\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := msg.(*sip.Request)
	paths := Named(m, NamePath)
	if len(paths) != 2 || paths[0].Value() != "<sip:p1@x;lr>" || paths[1].Value() != "<sip:p2@x;lr>" {
		t.Errorf("Named(Path) = %v", paths)
	}
	if h := First(m, "expires"); h == nil || h.Value() != "60" {
		t.Errorf("First(expires) = %v", h)
	}
	if h := First(m, "Route"); h != nil || Named(m, "Route") != nil {
		t.Errorf("Route found in a message without one: %v", h)
	}
}

// IsEvent matches the package name without case or parameters, in the long or compact form.
func TestIsEvent(t *testing.T) {
	for _, tc := range []struct {
		hdr, value string
		want       bool
	}{
		{"Event", "reg", true},
		{"event", " REG ;id=7", true},
		{"o", "reg", true},
		{"Event", "presence", false},
		{"Event", "reg-info", false},
		{"Subject", "reg", false},
	} {
		req := sip.NewRequest(sip.SUBSCRIBE, sip.Uri{Scheme: "sip", Host: "example.org"})
		req.AppendHeader(sip.NewHeader(tc.hdr, tc.value))
		if got := IsEvent(req, "reg"); got != tc.want {
			t.Errorf("%s: %s → %v, want %v", tc.hdr, tc.value, got, tc.want)
		}
	}
}
