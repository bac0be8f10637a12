package ifc

import (
	"fmt"
	"testing"
)

const sdpAudio = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
	"m=audio 49170 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\nm=video 51372 RTP/AVP 31\r\n"

func inviteReq() *Request {
	h := Headers{}
	h.Add("From", `"Joe" <sip:joe@ims.example>;tag=1`)
	h.Add("t", "<sip:bob@ims.example>")
	h.Add("Accept-Contact", "*;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel\"")
	h.Add("Accept-Contact", "*;video")
	h.Add("P-Asserted-Identity", "<sip:joe@ims.example>")
	h.Add("P-Asserted-Identity", "<tel:+15550001>")
	return &Request{
		Method:      "INVITE",
		RequestURI:  "tel:+15550002;phone-context=ims.example",
		Headers:     h,
		SDP:         sdpAudio,
		SessionCase: SessionCaseOriginating,
		Registered:  true,
	}
}

// one builds an iFC with a single-SPT trigger point.
func one(s SPT) *InitialFilterCriteria {
	if s.Group == nil {
		s.Group = []int{0}
	}
	f := &InitialFilterCriteria{Priority: 0, TriggerPoint: &TriggerPoint{SPT: []SPT{s}},
		ApplicationServer: ApplicationServer{ServerName: "sip:as@x"}}
	f.Compile()
	return f
}

func TestMatchSPTKinds(t *testing.T) {
	sc := func(v SessionCase) *SessionCase { return &v }
	register := func(rt RegistrationType) *Request {
		return &Request{Method: "REGISTER", RequestURI: "sip:ims.example", RegistrationType: rt, Headers: Headers{}}
	}
	tests := []struct {
		name string
		spt  SPT
		req  *Request
		want bool
	}{
		{"method", SPT{Method: "INVITE"}, inviteReq(), true},
		{"method ignores case", SPT{Method: "invite"}, inviteReq(), true},
		{"method other", SPT{Method: "MESSAGE"}, inviteReq(), false},
		{"method prefix is not a match", SPT{Method: "INV"}, inviteReq(), false},
		{"negated method", SPT{Method: "MESSAGE", ConditionNegated: true}, inviteReq(), true},
		{"request URI regex", SPT{RequestURI: `^tel:\+1555`}, inviteReq(), true},
		{"request URI unanchored, any case", SPT{RequestURI: "PHONE-CONTEXT=ims"}, inviteReq(), true},
		{"request URI no match", SPT{RequestURI: "^sip:"}, inviteReq(), false},
		{"request URI invalid regex never matches", SPT{RequestURI: "(("}, inviteReq(), false},
		{"header present", SPT{SIPHeader: &SIPHeader{Header: "P-Asserted-Identity"}}, inviteReq(), true},
		{"header present, name case", SPT{SIPHeader: &SIPHeader{Header: "p-asserted-IDENTITY"}}, inviteReq(), true},
		{"header absent", SPT{SIPHeader: &SIPHeader{Header: "Subject"}}, inviteReq(), false},
		{"negated presence = absence", SPT{SIPHeader: &SIPHeader{Header: "Subject"}, ConditionNegated: true}, inviteReq(), true},
		{"header stored by compact form", SPT{SIPHeader: &SIPHeader{Header: "To", Content: "bob@"}}, inviteReq(), true},
		{"header asked by compact form", SPT{SIPHeader: &SIPHeader{Header: "f", Content: "joe"}}, inviteReq(), true},
		{"header content regex", SPT{SIPHeader: &SIPHeader{Header: "From", Content: `"Joe"`}}, inviteReq(), true},
		{"header content no match", SPT{SIPHeader: &SIPHeader{Header: "From", Content: `"Ann"`}}, inviteReq(), false},
		{"second value of a multi-valued header", SPT{SIPHeader: &SIPHeader{Header: "P-Asserted-Identity", Content: `^<tel:\+1555`}}, inviteReq(), true},
		{"second occurrence", SPT{SIPHeader: &SIPHeader{Header: "Accept-Contact", Content: ";video$"}}, inviteReq(), true},
		{"negated content", SPT{SIPHeader: &SIPHeader{Header: "From", Content: "Ann"}, ConditionNegated: true}, inviteReq(), true},
		{"content on absent header", SPT{SIPHeader: &SIPHeader{Header: "Subject", Content: ".*"}}, inviteReq(), false},
		{"session case originating", SPT{SessionCase: sc(SessionCaseOriginating)}, inviteReq(), true},
		{"session case terminating", SPT{SessionCase: sc(SessionCaseTerminatingRegistered)}, inviteReq(), false},
		{"session case CDIV", SPT{SessionCase: sc(SessionCaseOriginatingCDIV)},
			&Request{Method: "INVITE", SessionCase: SessionCaseOriginatingCDIV}, true},
		{"sdp line present", SPT{SessionDescription: &SessionDescription{Line: "m"}}, inviteReq(), true},
		{"sdp line absent", SPT{SessionDescription: &SessionDescription{Line: "b"}}, inviteReq(), false},
		{"sdp second m line", SPT{SessionDescription: &SessionDescription{Line: "m", Content: "^video"}}, inviteReq(), true},
		{"sdp content is the value only", SPT{SessionDescription: &SessionDescription{Line: "m", Content: "^m="}}, inviteReq(), false},
		{"sdp other line type", SPT{SessionDescription: &SessionDescription{Line: "a", Content: "^audio"}}, inviteReq(), false},
		{"sdp LF only", SPT{SessionDescription: &SessionDescription{Line: "m", Content: "^audio 4$"}},
			&Request{SDP: "v=0\nm=audio 4\n"}, true},
		{"no sdp", SPT{SessionDescription: &SessionDescription{Line: "m"}}, &Request{Method: "INVITE"}, false},
		{"register any type", SPT{Method: "REGISTER"}, register(RegistrationTypeDeRegistration), true},
		{"register listed type", SPT{Method: "REGISTER", RegistrationType: []RegistrationType{0, 2}}, register(RegistrationTypeDeRegistration), true},
		{"register unlisted type", SPT{Method: "REGISTER", RegistrationType: []RegistrationType{0, 2}}, register(RegistrationTypeReRegistration), false},
		{"register negated unlisted", SPT{Method: "REGISTER", RegistrationType: []RegistrationType{1}, ConditionNegated: true}, register(RegistrationTypeInitialRegistration), true},
		{"registration type ignored for other methods", SPT{Method: "INVITE", RegistrationType: []RegistrationType{1}}, inviteReq(), true},
		{"empty SPT never matches", SPT{}, inviteReq(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(one(tt.spt), tt.req); got != tt.want {
				t.Errorf("compiled: Match = %v, want %v", got, tt.want)
			}
			// The same SPT built in code without Compile must give the same answer.
			raw := &InitialFilterCriteria{TriggerPoint: &TriggerPoint{SPT: []SPT{tt.spt}}}
			if raw.TriggerPoint.SPT[0].Group == nil {
				raw.TriggerPoint.SPT[0].Group = []int{0}
			}
			if got := Match(raw, tt.req); got != tt.want {
				t.Errorf("uncompiled: Match = %v, want %v", got, tt.want)
			}
		})
	}
}

// method builds a Method SPT in the given groups.
func method(m string, negated bool, groups ...int) SPT {
	return SPT{Method: m, ConditionNegated: negated, Group: groups}
}

func TestMatchNormalForms(t *testing.T) {
	// TS 29.228 Annex C: the same SPTs read as CNF and as DNF.
	// CNF: (INVITE | MESSAGE | !SUBSCRIBE) & (INVITE | MESSAGE | !From "Joe")
	// DNF: (INVITE & MESSAGE & !SUBSCRIBE) | (INVITE & MESSAGE & !From "Joe")  -- never true
	annexC := []SPT{
		method("INVITE", false, 0, 1),
		method("MESSAGE", false, 0, 1),
		method("SUBSCRIBE", true, 0),
		{ConditionNegated: true, Group: []int{1}, SIPHeader: &SIPHeader{Header: "From", Content: `"Joe"`}},
	}
	fromJoe, fromAnn := Headers{}, Headers{}
	fromJoe.Add("From", `"Joe" <sip:joe@x>`)
	fromAnn.Add("From", `"Ann" <sip:ann@x>`)
	tests := []struct {
		name string
		cnf  bool
		spts []SPT
		req  *Request
		want bool
	}{
		{"annex C CNF, INVITE", true, annexC, &Request{Method: "INVITE", Headers: fromJoe}, true},
		{"annex C CNF, SUBSCRIBE", true, annexC, &Request{Method: "SUBSCRIBE", Headers: fromAnn}, false},
		{"annex C CNF, OPTIONS from Ann", true, annexC, &Request{Method: "OPTIONS", Headers: fromAnn}, true},
		{"annex C CNF, OPTIONS from Joe", true, annexC, &Request{Method: "OPTIONS", Headers: fromJoe}, false},
		{"annex C DNF, INVITE", false, annexC, &Request{Method: "INVITE", Headers: fromAnn}, false},
		{"CNF one group is an OR", true, []SPT{method("INVITE", false, 0), method("MESSAGE", false, 0)}, &Request{Method: "MESSAGE"}, true},
		{"DNF one group is an AND", false, []SPT{method("INVITE", false, 0), method("MESSAGE", false, 0)}, &Request{Method: "MESSAGE"}, false},
		{"CNF groups are ANDed", true, []SPT{method("INVITE", false, 0), method("INVITE", true, 1)}, &Request{Method: "INVITE"}, false},
		{"DNF groups are ORed", false, []SPT{method("MESSAGE", false, 0), method("INVITE", false, 1)}, &Request{Method: "INVITE"}, true},
		{"DNF group order does not matter", false, []SPT{method("INVITE", false, 7), method("MESSAGE", false, 3), method("INVITE", true, 3)}, &Request{Method: "INVITE"}, true},
		{"CNF interleaved groups", true, []SPT{method("INVITE", false, 2), method("BYE", false, 5), method("MESSAGE", false, 2), method("INVITE", false, 5)}, &Request{Method: "MESSAGE"}, false},
		{"DNF interleaved groups", false, []SPT{method("INVITE", true, 2), method("MESSAGE", false, 5), method("OPTIONS", true, 2), method("INVITE", false, 5)}, &Request{Method: "MESSAGE"}, true},
		{"SPT without Group is group 0", true, []SPT{{Method: "INVITE"}, method("INVITE", true, 0)}, &Request{Method: "INVITE"}, true},
		{"CNF empty trigger point", true, nil, &Request{Method: "INVITE"}, true},
		{"DNF empty trigger point", false, nil, &Request{Method: "INVITE"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &InitialFilterCriteria{TriggerPoint: &TriggerPoint{ConditionTypeCNF: tt.cnf, SPT: tt.spts}}
			f.Compile()
			if got := Match(f, tt.req); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
	if !Match(&InitialFilterCriteria{}, &Request{}) {
		t.Error("an iFC without TriggerPoint must always match")
	}
}

// TestMatchParsedAnnexC evaluates the parsed Annex C profile, so the codec and the evaluator
// agree on the document.
func TestMatchParsedAnnexC(t *testing.T) {
	s, err := ParseSubscription(readTestdata(t, "annexc_subscription.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ifcs := s.ServiceProfiles[0].InitialFilterCriteria
	for _, tc := range []struct {
		method string
		want   bool
	}{{"INVITE", true}, {"MESSAGE", true}, {"SUBSCRIBE", false}, {"OPTIONS", false}} {
		req := inviteReq() // From "Joe"
		req.Method = tc.method
		if _, ok := Evaluate(ifcs, req, Start); ok != tc.want {
			t.Errorf("%s: matched %v, want %v", tc.method, ok, tc.want)
		}
	}
}

func TestCompileFollowsChanges(t *testing.T) {
	f := one(SPT{SIPHeader: &SIPHeader{Header: "From", Content: "Ann"}})
	req := inviteReq()
	if Match(f, req) {
		t.Fatal("matched before the change")
	}
	// Edited after Compile: the stale cache must not be used.
	f.TriggerPoint.SPT[0].SIPHeader = &SIPHeader{Header: "To", Content: "bob"}
	if !Match(f, req) {
		t.Error("a changed pattern or header name was not used")
	}
}

func TestEvaluate(t *testing.T) {
	ppi := func(v ProfilePartIndicator) *ProfilePartIndicator { return &v }
	mk := func(prio int, m string, p *ProfilePartIndicator) InitialFilterCriteria {
		f := *one(SPT{Method: m})
		f.Priority = prio
		f.ApplicationServer.ServerName = fmt.Sprintf("sip:as%d@x", prio)
		f.ProfilePartIndicator = p
		return f
	}
	// Deliberately unsorted, with a tie at 20 and a missing Priority.
	ifcs := []InitialFilterCriteria{
		mk(30, "INVITE", nil),
		mk(10, "INVITE", ppi(ProfilePartIndicatorUnregistered)),
		mk(20, "MESSAGE", nil),
		mk(5, "MESSAGE", nil),
		mk(20, "INVITE", ppi(ProfilePartIndicatorRegistered)),
		mk(-1, "INVITE", nil),
		mk(40, "INVITE", ppi(ProfilePartIndicatorRegistered)),
	}
	tests := []struct {
		name       string
		registered bool
		after      int
		want       int // priority of the result, or -100 for none
	}{
		{"registered from start", true, Start, 20},
		{"registered after 20", true, 20, 30},
		{"registered after 30", true, 30, 40},
		{"registered after last", true, 40, -100},
		{"after a gap", true, 25, 30},
		{"unregistered from start", false, Start, 10},
		{"unregistered after 10", false, 10, 30},
		{"unregistered after 30", false, 30, -100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &Request{Method: "INVITE", Registered: tt.registered}
			f, ok := Evaluate(ifcs, req, tt.after)
			got := -100
			if ok {
				got = f.Priority
			}
			if got != tt.want {
				t.Fatalf("Evaluate = %d, want %d", got, tt.want)
			}
			if ok && f != &ifcs[indexOf(ifcs, f)] {
				t.Error("result does not point into the slice")
			}
		})
	}
	// Walking the chain the way the S-CSCF does visits each matching iFC once, in order.
	var chain []string
	req := &Request{Method: "INVITE", Registered: true}
	for after := Start; ; {
		f, ok := Evaluate(ifcs, req, after)
		if !ok {
			break
		}
		chain = append(chain, f.ApplicationServer.ServerName)
		after = f.Priority
	}
	if got, want := fmt.Sprint(chain), "[sip:as20@x sip:as30@x sip:as40@x]"; got != want {
		t.Errorf("chain %s, want %s", got, want)
	}
	if _, ok := Evaluate(nil, req, Start); ok {
		t.Error("empty set matched")
	}
}

func TestEvaluateEqualPriorities(t *testing.T) {
	a, b := *one(SPT{Method: "MESSAGE"}), *one(SPT{Method: "INVITE"})
	a.Priority, b.Priority = 7, 7
	f, ok := Evaluate([]InitialFilterCriteria{a, b}, &Request{Method: "INVITE"}, Start)
	if !ok || f.TriggerPoint.SPT[0].Method != "INVITE" {
		t.Errorf("second iFC of a tied priority was skipped: %v %v", f, ok)
	}
}

func indexOf(ifcs []InitialFilterCriteria, f *InitialFilterCriteria) int {
	for i := range ifcs {
		if &ifcs[i] == f {
			return i
		}
	}
	return 0
}

func TestHeaders(t *testing.T) {
	h := Headers{}
	h.Add("v", "SIP/2.0/UDP a")
	h.Add("VIA", "SIP/2.0/UDP b")
	h.Add(" Call-ID ", "x")
	if got := h.Values("Via"); len(got) != 2 || got[1] != "SIP/2.0/UDP b" {
		t.Errorf("Via = %q", got)
	}
	if got := h.Values("i"); len(got) != 1 {
		t.Errorf("i = %q", got)
	}
	if got := h.Values("X-Unknown"); got != nil {
		t.Errorf("unknown header = %q", got)
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{SessionCaseOriginatingCDIV.String(), "ORIGINATING_CDIV"},
		{SessionCase(9).String(), "SessionCase(9)"},
		{RegistrationTypeDeRegistration.String(), "DE_REGISTRATION"},
		{DefaultHandlingSessionTerminated.String(), "SESSION_TERMINATED"},
		{ProfilePartIndicatorUnregistered.String(), "UNREGISTERED"},
		{IdentityTypeWildcardedIMPU.String(), "WILDCARDED_IMPU"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// BenchmarkEvaluate runs a typical 10-iFC profile (methods, session cases, header and SDP
// regexps) against an originating INVITE whose match is the last iFC.
func BenchmarkEvaluate(b *testing.B) {
	var ifcs []InitialFilterCriteria
	sc := func(v SessionCase) *SessionCase { return &v }
	for i := range 10 {
		// CNF: (Accept-Contact mmtel) & (m= audio|video) & originating & method; the regexps
		// run for every iFC, the method decides, and only the last one is an INVITE.
		spts := []SPT{
			{Group: []int{0}, SIPHeader: &SIPHeader{Header: "Accept-Contact", Content: `g\.3gpp\.icsi-ref="urn%3Aurn-7%3A3gpp-service\.ims\.icsi\.mmtel"`}},
			{Group: []int{1}, SessionDescription: &SessionDescription{Line: "m", Content: "^(audio|video) "}},
			{Group: []int{2}, SessionCase: sc(SessionCaseOriginating)},
			{Group: []int{3}, Method: []string{"MESSAGE", "SUBSCRIBE", "REGISTER", "OPTIONS", "PUBLISH"}[i%5]},
		}
		if i == 9 {
			spts[3].Method = "INVITE"
		}
		ifcs = append(ifcs, InitialFilterCriteria{
			Priority:          i * 10,
			TriggerPoint:      &TriggerPoint{ConditionTypeCNF: true, SPT: spts},
			ApplicationServer: ApplicationServer{ServerName: fmt.Sprintf("sip:as%d.ims.example", i)},
		})
	}
	out, err := MarshalIFCs(ifcs)
	if err != nil {
		b.Fatal(err)
	}
	if ifcs, err = ParseIFCs(out); err != nil {
		b.Fatal(err)
	}
	req := inviteReq()
	if f, ok := Evaluate(ifcs, req, Start); !ok || f.Priority != 90 {
		b.Fatalf("setup: Evaluate = %v, %v", f, ok)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Evaluate(ifcs, req, Start); !ok {
			b.Fatal("no match")
		}
	}
}

// TestEvaluateConcurrent: the S-CSCF evaluates one parsed profile from many goroutines; run
// with -race, this shows Evaluate only reads the model.
func TestEvaluateConcurrent(t *testing.T) {
	s, err := ParseSubscription(readTestdata(t, "kamailio_subscription.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ifcs := s.ServiceProfiles[0].InitialFilterCriteria
	done := make(chan bool)
	for range 4 {
		go func() {
			req := &Request{Method: "INVITE", SessionCase: SessionCaseTerminatingUnregistered, SDP: sdpAudio}
			f, ok := Evaluate(ifcs, req, Start)
			done <- ok && f.Priority == 30
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("unregistered terminating INVITE did not reach the voicemail iFC")
		}
	}
}
