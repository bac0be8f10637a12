package sh

import (
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/msg/msgtest"
)

const (
	realm = "ims.mnc001.mcc001.3gppnetwork.org"
	impu  = "sip:001010000000001@" + realm
)

var (
	as  = msg.Identity{Host: "smsip." + realm, Realm: realm}
	hss = msg.Identity{Host: "hss." + realm, Realm: realm}
)

func header(session string, from msg.Identity, destHost string) msg.RequestHeader {
	return msgtest.RequestHeader(dict.AppSh, session, from, destHost, realm)
}

func answerHeader(session string, result uint32, experimental bool) msg.AnswerHeader {
	return msgtest.AnswerHeader(dict.AppSh, session, hss, result, experimental)
}

// shData is a TS 29.328 Annex D Sh-Data document with repository data.
const shData = `<?xml version="1.0" encoding="UTF-8"?><Sh-Data><RepositoryData><ServiceIndication>ussd</ServiceIndication>` +
	`<SequenceNumber>1</SequenceNumber><ServiceData>PGxhbmc+ZW48L2xhbmc+</ServiceData></RepositoryData></Sh-Data>`

func msisdn(t testing.TB) []byte {
	b, err := msg.EncodeTBCD("15550001")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// examples are one of every Sh command, as the application servers and the HSS send them.
func examples(t testing.TB) []msgtest.Example {
	return []msgtest.Example{
		{Name: "UDR-UDA", Req: &UDR{
			RequestHeader:     header("smsip;1;1", as, ""),
			UserIdentity:      UserIdentity{PublicIdentity: impu},
			ServiceIndication: []string{"ussd"},
			DataReference:     []DataReference{DataReferenceRepositoryData, DataReferenceIMSUserState},
			IdentitySet:       []IdentitySet{IdentitySetAllIdentities},
			RequestedDomain:   msgtest.Ptr(RequestedDomainPS),
			CurrentLocation:   msgtest.Ptr(CurrentLocationDoNotNeedInitiateActiveLocationRetrieval),
			RequestedNodes:    RequestedNodeMME,
			UDRFlags:          UDRFlagRATTypeRequested,
		}, Ans: &UDA{AnswerHeader: answerHeader("smsip;1;1", msg.ResultSuccess, false), UserData: shData}},
		{Name: "PUR-PUA", Req: &PUR{
			RequestHeader: header("smsip;1;2", as, ""),
			UserIdentity:  UserIdentity{MSISDN: msisdn(t)},
			DataReference: []DataReference{DataReferenceRepositoryData},
			UserData:      shData,
		}, Ans: &PUA{
			AnswerHeader:     answerHeader("smsip;1;2", DiameterErrorTransparentDataOutOfSync, true),
			RepositoryDataID: &RepositoryDataID{ServiceIndication: "ussd", SequenceNumber: 2},
			DataReference:    msgtest.Ptr(DataReferenceRepositoryData),
		}},
		{Name: "SNR-SNA", Req: &SNR{
			RequestHeader:       header("smsip;1;3", as, ""),
			UserIdentity:        UserIdentity{PublicIdentity: impu},
			ServiceIndication:   []string{"ussd"},
			SendDataIndication:  msgtest.Ptr(UserDataRequested),
			SubsReqType:         SubsReqTypeSubscribe,
			DataReference:       []DataReference{DataReferenceIMSUserState},
			ExpiryTime:          time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
			OneTimeNotification: msgtest.Ptr(OneTimeNotificationRequested),
		}, Ans: &SNA{
			AnswerHeader: answerHeader("smsip;1;3", msg.ResultSuccess, false),
			UserData:     shData,
			ExpiryTime:   time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		}},
		{Name: "PNR-PNA", Req: &PNR{
			RequestHeader: header("hss;1;1", hss, as.Host),
			UserIdentity:  UserIdentity{PublicIdentity: impu},
			UserData:      shData,
		}, Ans: &PNA{AnswerHeader: msgtest.AnswerHeader(dict.AppSh, "hss;1;1", as, msg.ResultSuccess, false)}},
	}
}

func TestAVPEncoding(t *testing.T) {
	msgtest.CheckAVPs(t, dict.AppSh, "testdata/avp", &UDR{}, &UDA{}, &PUR{}, &PUA{}, &SNR{}, &SNA{}, &PNR{}, &PNA{})
}

func TestMessages(t *testing.T) {
	for _, ex := range examples(t) {
		answerer := hss
		if ex.Name == "PNR-PNA" {
			answerer = as
		}
		msgtest.CheckExamples(t, dict.AppSh, answerer, []msgtest.Example{ex})
	}
}

func TestWireshark(t *testing.T) {
	msgtest.WiresharkExamples(t, hss, examples(t), []string{
		"User-Data (306)", "Profile-Update (307)", "Subscribe-Notifications (308)", "Push-Notification (309)",
	})
}
