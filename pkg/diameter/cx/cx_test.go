package cx

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/msg/msgtest"
)

const realm = "ims.mnc001.mcc001.3gppnetwork.org"

var (
	scscf = msg.Identity{Host: "scscf." + realm, Realm: realm}
	hss   = msg.Identity{Host: "hss." + realm, Realm: realm}
)

func header(session string, from msg.Identity, destHost string) msg.RequestHeader {
	return msgtest.RequestHeader(dict.AppCx, session, from, destHost, realm)
}

func answerHeader(session string, result uint32, experimental bool) msg.AnswerHeader {
	return msgtest.AnswerHeader(dict.AppCx, session, hss, result, experimental)
}

const (
	impi = "001010000000001@" + realm
	impu = "sip:001010000000001@" + realm
	sipS = "sip:127.0.0.1:6060"
)

// userData is a TS 29.228 Annex E IMS subscription with one iFC, the size an SAA carries.
var userData = `<?xml version="1.0" encoding="UTF-8"?><IMSSubscription><PrivateID>` + impi +
	`</PrivateID><ServiceProfile><PublicIdentity><Identity>` + impu + `</Identity></PublicIdentity>` +
	`<PublicIdentity><Identity>tel:+15550001</Identity></PublicIdentity><InitialFilterCriteria>` +
	`<Priority>0</Priority><TriggerPoint><ConditionTypeCNF>1</ConditionTypeCNF><SPT><ConditionNegated>0</ConditionNegated>` +
	`<Group>0</Group><Method>MESSAGE</Method></SPT></TriggerPoint><ApplicationServer><ServerName>sip:127.0.0.1:5066</ServerName>` +
	`<DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile></IMSSubscription>`

var (
	mar = &MAR{
		RequestHeader:  header("scscf;1;1", scscf, ""),
		UserName:       impi,
		PublicIdentity: impu,
		SIPAuthDataItem: SIPAuthDataItem{
			SIPAuthenticationScheme: SchemeDigestAKAv1MD5,
			SIPAuthorization:        bytes.Repeat([]byte{0x5a}, randLen+autsLen),
		},
		SIPNumberAuthItems: 1,
		ServerName:         sipS,
	}
	maa = &MAA{
		AnswerHeader:       answerHeader("scscf;1;1", msg.ResultSuccess, false),
		UserName:           impi,
		PublicIdentity:     impu,
		SIPNumberAuthItems: msgtest.Ptr(uint32(1)),
		SIPAuthDataItem: []SIPAuthDataItem{{
			SIPItemNumber:           1,
			SIPAuthenticationScheme: SchemeDigestAKAv1MD5,
			SIPAuthenticate:         AKAChallenge(bytes.Repeat([]byte{1}, randLen), bytes.Repeat([]byte{2}, autnLen)),
			SIPAuthorization:        bytes.Repeat([]byte{3}, 8),
			ConfidentialityKey:      bytes.Repeat([]byte{4}, 16),
			IntegrityKey:            bytes.Repeat([]byte{5}, 16),
		}},
	}
	sar = &SAR{
		RequestHeader:                  header("scscf;1;2", scscf, ""),
		UserName:                       impi,
		PublicIdentity:                 []string{impu},
		ServerName:                     sipS,
		ServerAssignmentType:           ServerAssignmentTypeRegistration,
		UserDataAlreadyAvailable:       UserDataNotAvailable,
		MultipleRegistrationIndication: msgtest.Ptr(NotMultipleRegistration),
	}
	saa = &SAA{
		AnswerHeader:         answerHeader("scscf;1;2", msg.ResultSuccess, false),
		UserName:             impi,
		UserData:             userData,
		ChargingInformation:  &ChargingInformation{PrimaryChargingCollectionFunctionName: "aaa://ccf." + realm},
		AssociatedIdentities: &Identities{UserName: []string{impi}},
		LooseRouteIndication: msgtest.Ptr(LooseRouteRequired),
	}
)

// examples are one of every command as the CSCFs and the HSS send them.
var examples = []msgtest.Example{
	{Name: "UAR-UAA", Req: &UAR{
		RequestHeader:            header("icscf;1;1", msg.Identity{Host: "icscf." + realm, Realm: realm}, ""),
		UserName:                 impi,
		PublicIdentity:           impu,
		VisitedNetworkIdentifier: realm,
		UserAuthorizationType:    msgtest.Ptr(UserAuthorizationTypeRegistration),
		SupportedFeatures:        []msg.SupportedFeatures{{VendorID: dict.Vendor3GPP, FeatureListID: 1, FeatureList: FeatureSharedIFCSets}},
	}, Ans: &UAA{
		AnswerHeader:       answerHeader("icscf;1;1", DiameterFirstRegistration, true),
		ServerCapabilities: &ServerCapabilities{MandatoryCapability: []uint32{1}, OptionalCapability: []uint32{2, 3}},
	}},
	{Name: "MAR-MAA", Req: mar, Ans: maa},
	{Name: "SAR-SAA", Req: sar, Ans: saa},
	{Name: "LIR-LIA", Req: &LIR{
		RequestHeader:      header("icscf;1;2", msg.Identity{Host: "icscf." + realm, Realm: realm}, ""),
		OriginatingRequest: msgtest.Ptr(OriginatingRequestOriginating),
		PublicIdentity:     "tel:+15550002",
		SessionPriority:    msgtest.Ptr(SessionPriority2),
	}, Ans: &LIA{
		AnswerHeader: answerHeader("icscf;1;2", msg.ResultSuccess, false),
		ServerName:   sipS,
		LIAFlags:     LIAFlagPSIDirectRoutingIndication,
	}},
	{Name: "RTR-RTA", Req: &RTR{
		RequestHeader:        header("hss;1;1", hss, scscf.Host),
		UserName:             impi,
		PublicIdentity:       []string{impu, "tel:+15550001"},
		DeregistrationReason: DeregistrationReason{ReasonCode: ReasonCodePermanentTermination, ReasonInfo: "subscription removed"},
	}, Ans: &RTA{
		AnswerHeader:         answerHeader("hss;1;1", msg.ResultSuccess, false),
		AssociatedIdentities: &Identities{UserName: []string{impi}},
	}},
	{Name: "PPR-PPA", Req: &PPR{
		RequestHeader:   header("hss;1;2", hss, scscf.Host),
		UserName:        impi,
		UserData:        userData,
		SIPAuthDataItem: &SIPAuthDataItem{SIPAuthenticationScheme: SchemeSIPDigest, SIPDigestAuthenticate: &SIPDigestAuthenticate{DigestRealm: realm, DigestQoP: "auth", DigestHA1: strings.Repeat("ab", 16)}},
	}, Ans: &PPA{AnswerHeader: answerHeader("hss;1;2", DiameterErrorUserUnknown, true)}},
}

func TestAVPEncoding(t *testing.T) {
	msgtest.CheckAVPs(t, dict.AppCx, "testdata/avp",
		&UAR{}, &UAA{}, &SAR{}, &SAA{}, &LIR{}, &LIA{}, &MAR{}, &MAA{}, &RTR{}, &RTA{}, &PPR{}, &PPA{})
}

func TestMessages(t *testing.T) { msgtest.CheckExamples(t, dict.AppCx, hss, examples) }

func TestWireshark(t *testing.T) {
	msgtest.WiresharkExamples(t, hss, examples, []string{
		"User-Authorization (300)", "Server-Assignment (301)", "Location-Info (302)",
		"Multimedia-Auth (303)", "Registration-Termination (304)", "Push-Profile (305)",
	})
}

func TestSIPAuthDataItemParts(t *testing.T) {
	rand, autn, auts := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16), bytes.Repeat([]byte{3}, 14)
	item := SIPAuthDataItem{SIPAuthenticate: AKAChallenge(rand, autn), SIPAuthorization: append(append([]byte{}, rand...), auts...)}
	if r, a, ok := item.RANDAUTN(); !ok || !bytes.Equal(r, rand) || !bytes.Equal(a, autn) {
		t.Fatalf("RANDAUTN = %x %x %v", r, a, ok)
	}
	if r, a, ok := item.RANDAUTS(); !ok || !bytes.Equal(r, rand) || !bytes.Equal(a, auts) {
		t.Fatalf("RANDAUTS = %x %x %v", r, a, ok)
	}
	short := SIPAuthDataItem{SIPAuthenticate: rand, SIPAuthorization: rand}
	if _, _, ok := short.RANDAUTN(); ok {
		t.Fatal("RANDAUTN accepted 16 bytes")
	}
	if _, _, ok := short.RANDAUTS(); ok {
		t.Fatal("RANDAUTS accepted 16 bytes")
	}
}

func BenchmarkEncodeUAR(b *testing.B) { msgtest.BenchEncode(b, examples[0].Req.Message) }

func BenchmarkEncodeUAA(b *testing.B) {
	r, _ := msgtest.Exchange(b, examples[0], hss)
	msgtest.BenchEncode(b, func() (*diam.Message, error) { return examples[0].Ans.Message(r, hss) })
}

func BenchmarkEncodeSAR(b *testing.B) { msgtest.BenchEncode(b, sar.Message) }

func BenchmarkEncodeMAR(b *testing.B) { msgtest.BenchEncode(b, mar.Message) }

func BenchmarkEncodeMAA(b *testing.B) {
	r, _ := msgtest.Exchange(b, examples[1], hss)
	msgtest.BenchEncode(b, func() (*diam.Message, error) { return maa.Message(r, hss) })
}

func BenchmarkEncodeSAA(b *testing.B) {
	r, _ := msgtest.Exchange(b, examples[2], hss)
	msgtest.BenchEncode(b, func() (*diam.Message, error) { return saa.Message(r, hss) })
}

func BenchmarkDecodeUAR(b *testing.B) {
	r, _ := msgtest.Exchange(b, examples[0], hss)
	msgtest.BenchDecode(b, r, func() any { return new(UAR) })
}

func BenchmarkDecodeUAA(b *testing.B) {
	_, a := msgtest.Exchange(b, examples[0], hss)
	msgtest.BenchDecode(b, a, func() any { return new(UAA) })
}

func BenchmarkDecodeSAR(b *testing.B) {
	r, _ := msgtest.Exchange(b, examples[2], hss)
	msgtest.BenchDecode(b, r, func() any { return new(SAR) })
}

func BenchmarkDecodeMAR(b *testing.B) {
	r, _ := msgtest.Exchange(b, examples[1], hss)
	msgtest.BenchDecode(b, r, func() any { return new(MAR) })
}

func BenchmarkDecodeMAA(b *testing.B) {
	_, a := msgtest.Exchange(b, examples[1], hss)
	msgtest.BenchDecode(b, a, func() any { return new(MAA) })
}

func BenchmarkDecodeSAA(b *testing.B) {
	_, a := msgtest.Exchange(b, examples[2], hss)
	msgtest.BenchDecode(b, a, func() any { return new(SAA) })
}
