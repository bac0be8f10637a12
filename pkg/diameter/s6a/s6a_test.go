package s6a

import (
	"bytes"
	"encoding/hex"
	"net"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/dict"
	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/msg/msgtest"
)

const (
	epcRealm = "epc.mnc001.mcc001.3gppnetwork.org"
	imsi     = "001010000000001"
)

var (
	mme = msg.Identity{Host: "mme." + epcRealm, Realm: epcRealm}
	hss = msg.Identity{Host: "hss." + epcRealm, Realm: epcRealm}
)

func header(session string, from msg.Identity, destHost string) msg.RequestHeader {
	return msgtest.RequestHeader(dict.AppS6a, session, from, destHost, epcRealm)
}

func answerHeader(session string, from msg.Identity, result uint32, experimental bool) msg.AnswerHeader {
	return msgtest.AnswerHeader(dict.AppS6a, session, from, result, experimental)
}

func plmn(t testing.TB) []byte {
	b, err := PLMNID("001", "01")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apn is an APN-Configuration as TS 29.272 7.3.35 lays it out, QCI 5 for "ims".
func apn(id uint32, name string, qci int32) APNConfiguration {
	return APNConfiguration{
		ContextIdentifier: id,
		PDNType:           PDNTypeIPv4v6,
		ServiceSelection:  name,
		EPSSubscribedQoSProfile: &EPSSubscribedQoSProfile{
			QoSClassIdentifier: qci,
			AllocationRetentionPriority: AllocationRetentionPriority{
				PriorityLevel:           8,
				PreEmptionCapability:    msgtest.Ptr(PreEmptionCapabilityDisabled),
				PreEmptionVulnerability: msgtest.Ptr(PreEmptionVulnerabilityEnabled),
			},
		},
		VPLMNDynamicAddressAllowed: msgtest.Ptr(VPLMNDynamicAddressNotAllowed),
		AMBR:                       &AMBR{MaxRequestedBandwidthUL: 100_000_000, MaxRequestedBandwidthDL: 200_000_000},
	}
}

func subscription(t testing.TB) SubscriptionData {
	msisdn, err := msg.EncodeTBCD("15550001")
	if err != nil {
		t.Fatal(err)
	}
	ims := apn(2, "ims", 5)
	ims.ServedPartyIPAddress = []net.IP{net.IPv4(10, 45, 0, 2).To4()}
	return SubscriptionData{
		SubscriberStatus:      msgtest.Ptr(SubscriberStatusServiceGranted),
		MSISDN:                msisdn,
		NetworkAccessMode:     msgtest.Ptr(NetworkAccessModeOnlyPacket),
		AccessRestrictionData: 0x20,
		AMBR:                  &AMBR{MaxRequestedBandwidthUL: 1_000_000_000, MaxRequestedBandwidthDL: 1_000_000_000},
		APNConfigurationProfile: &APNConfigurationProfile{
			ContextIdentifier:                     1,
			AllAPNConfigurationsIncludedIndicator: AllAPNConfigurationsIncluded,
			APNConfiguration:                      []APNConfiguration{apn(1, "internet", 9), ims},
		},
		SubscribedPeriodicRAUTAUTimer: 720,
	}
}

// examples are one of every modelled S6a command, as the MME and the HSS send them.
func examples(t testing.TB) []msgtest.Example {
	vector := EUTRANVector{
		RAND:  bytes.Repeat([]byte{1}, 16),
		XRES:  bytes.Repeat([]byte{2}, 8),
		AUTN:  bytes.Repeat([]byte{3}, 16),
		KASME: bytes.Repeat([]byte{4}, 32),
	}
	sub := subscription(t)
	return []msgtest.Example{
		{Name: "AIR-AIA", Req: &AIR{
			RequestHeader: header("mme;1;1", mme, ""),
			UserName:      imsi,
			RequestedEUTRANAuthenticationInfo: &RequestedEUTRANAuthenticationInfo{
				NumberOfRequestedVectors:   1,
				ImmediateResponsePreferred: msgtest.Ptr(uint32(1)),
			},
			VisitedPLMNID: plmn(t),
		}, Ans: &AIA{
			AnswerHeader:       answerHeader("mme;1;1", hss, msg.ResultSuccess, false),
			AuthenticationInfo: &AuthenticationInfo{EUTRANVector: []EUTRANVector{vector}},
		}},
		{Name: "ULR-ULA", Req: &ULR{
			RequestHeader:       header("mme;1;2", mme, ""),
			UserName:            imsi,
			TerminalInformation: &TerminalInformation{IMEI: "35609204079298", SoftwareVersion: "01"},
			RATType:             RATTypeEUTRAN,
			ULRFlags:            ULRFlagS6aS6dIndicator | ULRFlagInitialAttachIndicator,
			UESRVCCCapability:   msgtest.Ptr(UESRVCCNotSupported),
			VisitedPLMNID:       plmn(t),
			HomogeneousSupportOfIMSVoiceOverPSSessions: msgtest.Ptr(IMSVoiceOverPSSupported),
		}, Ans: &ULA{
			AnswerHeader:     answerHeader("mme;1;2", hss, msg.ResultSuccess, false),
			ULAFlags:         msgtest.Ptr(ULAFlagSeparationIndication),
			SubscriptionData: &sub,
		}},
		{Name: "CLR-CLA", Req: &CLR{
			RequestHeader:    header("hss;1;1", hss, mme.Host),
			UserName:         imsi,
			CancellationType: CancellationTypeSubscriptionWithdrawal,
		}, Ans: &CLA{AnswerHeader: answerHeader("hss;1;1", mme, msg.ResultSuccess, false)}},
		{Name: "IDR-IDA", Req: &IDR{
			RequestHeader:    header("hss;1;2", hss, mme.Host),
			UserName:         imsi,
			SubscriptionData: SubscriptionData{AMBR: &AMBR{MaxRequestedBandwidthUL: 5000, MaxRequestedBandwidthDL: 6000}},
		}, Ans: &IDA{AnswerHeader: answerHeader("hss;1;2", mme, DiameterErrorUserUnknown, true)}},
		{Name: "PUR-PUA", Req: &PUR{
			RequestHeader: header("mme;1;3", mme, ""),
			UserName:      imsi,
		}, Ans: &PUA{AnswerHeader: answerHeader("mme;1;3", hss, msg.ResultSuccess, false), PUAFlags: PUAFlagFreezeMTMSI}},
		{Name: "NOR-NOA", Req: &NOR{
			RequestHeader:     header("mme;1;4", mme, ""),
			UserName:          imsi,
			ContextIdentifier: msgtest.Ptr(uint32(2)),
			ServiceSelection:  "ims",
		}, Ans: &NOA{AnswerHeader: answerHeader("mme;1;4", hss, msg.ResultSuccess, false)}},
	}
}

// answerer is who answers each example: the HSS, or the MME for the HSS's own requests.
func answerer(name string) msg.Identity {
	if name == "CLR-CLA" || name == "IDR-IDA" {
		return mme
	}
	return hss
}

func TestAVPEncoding(t *testing.T) {
	msgtest.CheckAVPs(t, dict.AppS6a, "testdata/avp",
		&AIR{}, &AIA{}, &ULR{}, &ULA{}, &CLR{}, &CLA{}, &IDR{}, &IDA{}, &PUR{}, &PUA{}, &NOR{}, &NOA{})
}

func TestMessages(t *testing.T) {
	for _, ex := range examples(t) {
		msgtest.CheckExamples(t, dict.AppS6a, answerer(ex.Name), []msgtest.Example{ex})
	}
}

func TestWireshark(t *testing.T) {
	var frames [][]byte
	for _, ex := range examples(t) {
		r, a := msgtest.Exchange(t, ex, answerer(ex.Name))
		frames = append(frames, msgtest.MustSerialize(t, r), msgtest.MustSerialize(t, a))
	}
	msgtest.Wireshark(t, frames, []string{
		"3GPP-Authentication-Information (318)", "3GPP-Update-Location (316)", "3GPP-Cancel-Location (317)",
		"3GPP-Insert-Subscriber-Data (319)", "3GPP-Purge-UE (321)", "3GPP-Notify (323)",
	})
}

func TestPLMNID(t *testing.T) {
	for _, tc := range []struct {
		mcc, mnc, want string
	}{
		{"001", "01", "00f110"},
		{"310", "410", "130014"},
		{"262", "01", "62f210"},
	} {
		t.Run(tc.mcc+tc.mnc, func(t *testing.T) {
			b, err := PLMNID(tc.mcc, tc.mnc)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.want {
				t.Fatalf("PLMNID = %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range [][2]string{{"01", "01"}, {"001", "1"}, {"0a1", "01"}, {"001", "0123"}} {
		if _, err := PLMNID(bad[0], bad[1]); err == nil {
			t.Errorf("PLMNID(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func BenchmarkEncodeULA(b *testing.B) {
	ex := examples(b)[1]
	r, _ := msgtest.Exchange(b, ex, hss)
	msgtest.BenchEncode(b, func() (*diam.Message, error) { return ex.Ans.Message(r, hss) })
}

func BenchmarkDecodeULA(b *testing.B) {
	_, a := msgtest.Exchange(b, examples(b)[1], hss)
	msgtest.BenchDecode(b, a, func() any { return new(ULA) })
}
