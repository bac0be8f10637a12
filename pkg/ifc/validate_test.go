package ifc

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// validIFC returns an iFC that passes Validate; cases break one thing in it.
func validIFC() InitialFilterCriteria {
	return InitialFilterCriteria{
		Priority: 1,
		TriggerPoint: &TriggerPoint{SPT: []SPT{
			{Group: []int{0}, Method: "INVITE"},
		}},
		ApplicationServer: ApplicationServer{ServerName: "sip:as.ims.example:5060;transport=tcp"},
	}
}

func TestValidateIFC(t *testing.T) {
	sc := func(v SessionCase) *SessionCase { return &v }
	ppi := func(v ProfilePartIndicator) *ProfilePartIndicator { return &v }
	tests := []struct {
		name   string
		mutate func(f *InitialFilterCriteria)
		want   []Problem // Message is matched as a prefix
	}{
		{"valid", func(*InitialFilterCriteria) {}, nil},
		{"valid without trigger point", func(f *InitialFilterCriteria) { f.TriggerPoint = nil }, nil},
		{"valid sips server", func(f *InitialFilterCriteria) { f.ApplicationServer.ServerName = "sips:as@[::1]:5061" }, nil},
		{"missing priority", func(f *InitialFilterCriteria) { f.Priority = -1 },
			[]Problem{{"Priority", "missing or negative (-1)"}}},
		{"trigger point without SPT", func(f *InitialFilterCriteria) { f.TriggerPoint.SPT = nil },
			[]Problem{{"TriggerPoint.SPT", "TriggerPoint has no SPT"}}},
		{"SPT without kind", func(f *InitialFilterCriteria) { f.TriggerPoint.SPT[0].Method = "" },
			[]Problem{{"TriggerPoint.SPT[0]", "SPT needs one of RequestURI, Method, SIPHeader, SessionCase, SessionDescription"}}},
		{"SPT with two kinds", func(f *InitialFilterCriteria) { f.TriggerPoint.SPT[0].SessionCase = sc(SessionCaseOriginating) },
			[]Problem{{"TriggerPoint.SPT[0]", "SPT has 2 conditions (Method, SessionCase); exactly one is allowed"}}},
		{"SPT without group", func(f *InitialFilterCriteria) { f.TriggerPoint.SPT[0].Group = nil },
			[]Problem{{"TriggerPoint.SPT[0].Group", "SPT has no Group"}}},
		{"negative group", func(f *InitialFilterCriteria) { f.TriggerPoint.SPT[0].Group = []int{0, -2} },
			[]Problem{{"TriggerPoint.SPT[0].Group[1]", "must be >= 0, got -2"}}},
		{"bad method", func(f *InitialFilterCriteria) { f.TriggerPoint.SPT[0].Method = "IN VITE" },
			[]Problem{{"TriggerPoint.SPT[0].Method", `"IN VITE" is not a SIP method token`}}},
		{"invalid RequestURI regex", func(f *InitialFilterCriteria) {
			f.TriggerPoint.SPT[0] = SPT{Group: []int{0}, RequestURI: "sip:(a"}
		}, []Problem{{"TriggerPoint.SPT[0].RequestURI", `invalid regular expression "sip:(a"`}}},
		{"invalid header content regex", func(f *InitialFilterCriteria) {
			f.TriggerPoint.SPT[0] = SPT{Group: []int{0}, SIPHeader: &SIPHeader{Header: "From", Content: "[a-"}}
		}, []Problem{{"TriggerPoint.SPT[0].SIPHeader.Content", `invalid regular expression "[a-"`}}},
		{"bad header name", func(f *InitialFilterCriteria) {
			f.TriggerPoint.SPT[0] = SPT{Group: []int{0}, SIPHeader: &SIPHeader{Header: "From:"}}
		}, []Problem{{"TriggerPoint.SPT[0].SIPHeader.Header", `"From:" is not a SIP header name`}}},
		{"unknown session case", func(f *InitialFilterCriteria) {
			f.TriggerPoint.SPT[0] = SPT{Group: []int{0}, SessionCase: sc(7)}
		}, []Problem{{"TriggerPoint.SPT[0].SessionCase", "unknown value 7 (0..4)"}}},
		{"session description", func(f *InitialFilterCriteria) {
			f.TriggerPoint.SPT[0] = SPT{Group: []int{0}, SessionDescription: &SessionDescription{Line: "media", Content: "(audio"}}
		}, []Problem{
			{"TriggerPoint.SPT[0].SessionDescription.Line", `"media" is not an SDP line type`},
			{"TriggerPoint.SPT[0].SessionDescription.Content", `invalid regular expression "(audio"`},
		}},
		{"registration type on INVITE", func(f *InitialFilterCriteria) {
			f.TriggerPoint.SPT[0].RegistrationType = []RegistrationType{RegistrationTypeReRegistration}
		}, []Problem{{"TriggerPoint.SPT[0].Extension.RegistrationType", "only allowed on a Method SPT of REGISTER"}}},
		{"bad registration types", func(f *InitialFilterCriteria) {
			f.TriggerPoint.SPT[0].Method = "REGISTER"
			f.TriggerPoint.SPT[0].RegistrationType = []RegistrationType{1, 5, 1}
		}, []Problem{
			{"TriggerPoint.SPT[0].Extension.RegistrationType[1]", "unknown value 5"},
			{"TriggerPoint.SPT[0].Extension.RegistrationType[2]", "duplicate RegistrationType 1"},
		}},
		{"missing server name", func(f *InitialFilterCriteria) { f.ApplicationServer.ServerName = "" },
			[]Problem{{"ApplicationServer.ServerName", "missing"}}},
		{"server name not SIP", func(f *InitialFilterCriteria) { f.ApplicationServer.ServerName = "http://as.example" },
			[]Problem{{"ApplicationServer.ServerName", `"http://as.example" is not a SIP URI`}}},
		{"server name without host", func(f *InitialFilterCriteria) { f.ApplicationServer.ServerName = "sip:alice@;lr" },
			[]Problem{{"ApplicationServer.ServerName", `"sip:alice@;lr" is not a SIP URI`}}},
		{"server name with space", func(f *InitialFilterCriteria) { f.ApplicationServer.ServerName = "sip:as example" },
			[]Problem{{"ApplicationServer.ServerName", `"sip:as example" is not a SIP URI`}}},
		{"default handling", func(f *InitialFilterCriteria) { f.ApplicationServer.DefaultHandling = 2 },
			[]Problem{{"ApplicationServer.DefaultHandling", "unknown value 2"}}},
		{"profile part indicator", func(f *InitialFilterCriteria) { f.ProfilePartIndicator = ppi(3) },
			[]Problem{{"ProfilePartIndicator", "unknown value 3"}}},
		{"every problem at once", func(f *InitialFilterCriteria) {
			f.Priority = -4
			f.TriggerPoint.SPT = append(f.TriggerPoint.SPT, SPT{})
			f.ApplicationServer.ServerName = "as.example"
		}, []Problem{
			{"Priority", "missing or negative"},
			{"TriggerPoint.SPT[1].Group", "SPT has no Group"},
			{"TriggerPoint.SPT[1]", "SPT needs one of"},
			{"ApplicationServer.ServerName", `"as.example" is not a SIP URI`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validIFC()
			tt.mutate(&f)
			checkProblems(t, f.Validate(), tt.want)
		})
	}
}

func checkProblems(t *testing.T, err error, want []Problem) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v is not Problems", err)
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems (%v), want %d", len(ps), ps, len(want))
	}
	for i := range want {
		if ps[i].Field != want[i].Field || !strings.HasPrefix(ps[i].Message, want[i].Message) {
			t.Errorf("problem %d = %q, want field %q message starting %q", i, ps[i].Error(), want[i].Field, want[i].Message)
		}
	}
}

func TestValidateIFCsDuplicatePriority(t *testing.T) {
	a, b, c := validIFC(), validIFC(), validIFC()
	c.Priority = 2
	err := ValidateIFCs([]InitialFilterCriteria{a, c, b})
	checkProblems(t, err, []Problem{{"InitialFilterCriteria[2].Priority", "duplicate Priority 1 (also InitialFilterCriteria[0])"}})
}

// TestValidateParsed runs Validate on XML, the way the HSS checks an iFC set written over REST.
func TestValidateParsed(t *testing.T) {
	in := `<InitialFilterCriteriaSet>
<InitialFilterCriteria><TriggerPoint><ConditionTypeCNF>1</ConditionTypeCNF></TriggerPoint>
  <ApplicationServer><ServerName>sip:as@x</ServerName></ApplicationServer></InitialFilterCriteria>
<InitialFilterCriteria><Priority>3</Priority><TriggerPoint><ConditionTypeCNF>1</ConditionTypeCNF>
  <SPT><Group>0</Group><Method>INVITE</Method><RequestURI>x</RequestURI></SPT></TriggerPoint>
  <ApplicationServer><ServerName>sip:as@x</ServerName></ApplicationServer></InitialFilterCriteria>
<InitialFilterCriteria><Priority>3</Priority>
  <ApplicationServer><ServerName>sip:as@x</ServerName></ApplicationServer></InitialFilterCriteria>
</InitialFilterCriteriaSet>`
	ifcs, err := ParseIFCs([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, ValidateIFCs(ifcs), []Problem{
		{"InitialFilterCriteria[0].Priority", "missing or negative (-1)"},
		{"InitialFilterCriteria[0].TriggerPoint.SPT", "TriggerPoint has no SPT"},
		{"InitialFilterCriteria[1].TriggerPoint.SPT[0]", "SPT has 2 conditions (RequestURI, Method)"},
		{"InitialFilterCriteria[2].Priority", "duplicate Priority 3 (also InitialFilterCriteria[1])"},
	})
}

func TestValidateSubscription(t *testing.T) {
	it := IdentityType(9)
	mp := -1
	s := &IMSSubscription{
		ServiceProfiles: []ServiceProfile{
			{},
			{
				PublicIdentities: []PublicIdentity{
					{Identity: "alice@example"},
					{Identity: "sip:psi@example", IdentityType: &it},
					{},
				},
				CoreNetworkServicesAuthorization: &CoreNetworkServicesAuthorization{SubscribedMediaProfileID: &mp},
				InitialFilterCriteria:            []InitialFilterCriteria{validIFC(), validIFC()},
				SharedIFCSetIDs:                  []int{-3},
			},
		},
	}
	checkProblems(t, s.Validate(), []Problem{
		{"PrivateID", "missing"},
		{"ServiceProfile[0].PublicIdentity", "at least one PublicIdentity is required"},
		{"ServiceProfile[1].PublicIdentity[0].Identity", `"alice@example" is not a SIP or TEL URI`},
		{"ServiceProfile[1].PublicIdentity[1].Extension.IdentityType", "unknown value 9"},
		{"ServiceProfile[1].PublicIdentity[2].Identity", "missing"},
		{"ServiceProfile[1].CoreNetworkServicesAuthorization.SubscribedMediaProfileId", "must be >= 0, got -1"},
		{"ServiceProfile[1].InitialFilterCriteria[1].Priority", "duplicate Priority 1"},
		{"ServiceProfile[1].Extension.SharedIFCSetID[0]", "must be >= 0, got -3"},
	})
	if err := (&IMSSubscription{}).Validate(); err == nil || !strings.Contains(err.Error(), "ServiceProfile: at least one ServiceProfile is required") {
		t.Errorf("empty subscription: %v", err)
	}
}

func TestProblemsError(t *testing.T) {
	ps := Problems{{"A.B", "bad"}, {"", "worse"}}
	if got, want := ps.Error(), "A.B: bad; worse"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var target Problems
	if err := error(ps); !errors.As(err, &target) || !reflect.DeepEqual(target, ps) {
		t.Error("errors.As does not return the Problems")
	}
}
