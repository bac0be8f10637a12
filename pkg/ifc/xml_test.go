package ifc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withoutCache drops the compiled caches so models can be compared with reflect.DeepEqual.
func withoutCache(ifcs []InitialFilterCriteria) []InitialFilterCriteria {
	out := make([]InitialFilterCriteria, len(ifcs))
	for i, f := range ifcs {
		if f.TriggerPoint != nil {
			tp := *f.TriggerPoint
			tp.SPT = make([]SPT, len(f.TriggerPoint.SPT))
			for j, s := range f.TriggerPoint.SPT {
				s.re, s.reSrc, s.hdrKey, s.hdrSrc = nil, "", "", ""
				tp.SPT[j] = s
			}
			f.TriggerPoint = &tp
		}
		out[i] = f
	}
	return out
}

func subscriptionWithoutCache(s *IMSSubscription) *IMSSubscription {
	c := *s
	c.ServiceProfiles = make([]ServiceProfile, len(s.ServiceProfiles))
	for i, sp := range s.ServiceProfiles {
		sp.InitialFilterCriteria = withoutCache(sp.InitialFilterCriteria)
		c.ServiceProfiles[i] = sp
	}
	return &c
}

func TestParseSubscriptionAnnexC(t *testing.T) {
	s, err := ParseSubscription(readTestdata(t, "annexc_subscription.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if s.PrivateID != "IMPI1@homedomain.com" || len(s.ServiceProfiles) != 1 {
		t.Fatalf("PrivateID %q, %d profiles", s.PrivateID, len(s.ServiceProfiles))
	}
	sp := s.ServiceProfiles[0]
	wantIDs := []PublicIdentity{
		{Identity: "sip:IMPU1@homedomain.com", BarringIndication: true},
		{Identity: "sip:IMPU2@homedomain.com"},
	}
	if !reflect.DeepEqual(sp.PublicIdentities, wantIDs) {
		t.Errorf("PublicIdentities = %+v, want %+v", sp.PublicIdentities, wantIDs)
	}
	want := []InitialFilterCriteria{{
		Priority: 0,
		TriggerPoint: &TriggerPoint{ConditionTypeCNF: true, SPT: []SPT{
			{Group: []int{0, 1}, Method: "INVITE"},
			{Group: []int{0, 1}, Method: "MESSAGE"},
			{ConditionNegated: true, Group: []int{0}, Method: "SUBSCRIBE"},
			{ConditionNegated: true, Group: []int{1}, SIPHeader: &SIPHeader{Header: "From", Content: `"Joe"`}},
		}},
		ApplicationServer: ApplicationServer{ServerName: "sip:AS1@homedomain.com"},
	}}
	if got := withoutCache(sp.InitialFilterCriteria); !reflect.DeepEqual(got, want) {
		t.Errorf("iFC = %+v\nwant %+v", got, want)
	}
	if sp.InitialFilterCriteria[0].TriggerPoint.SPT[3].re == nil {
		t.Error("header Content regexp was not compiled by the parser")
	}
}

func TestParseSubscriptionKamailioProfile(t *testing.T) {
	s, err := ParseSubscription(readTestdata(t, "kamailio_subscription.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	sp := s.ServiceProfiles[0]
	pui, wpsi := IdentityTypePublicUserIdentity, IdentityTypeWildcardedPSI
	wantIDs := []PublicIdentity{
		{Identity: "sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org", IdentityType: &pui, DisplayName: "Alice"},
		{Identity: "tel:+15550001"},
		{Identity: "sip:conf!.*!@ims.mnc001.mcc001.3gppnetwork.org", IdentityType: &wpsi,
			WildcardedPSI: "sip:conf!.*!@ims.mnc001.mcc001.3gppnetwork.org"},
	}
	if !reflect.DeepEqual(sp.PublicIdentities, wantIDs) {
		t.Errorf("PublicIdentities = %+v\nwant %+v", sp.PublicIdentities, wantIDs)
	}
	if a := sp.CoreNetworkServicesAuthorization; a == nil || a.SubscribedMediaProfileID == nil || *a.SubscribedMediaProfileID != 0 {
		t.Errorf("CoreNetworkServicesAuthorization = %+v", a)
	}
	if !reflect.DeepEqual(sp.SharedIFCSetIDs, []int{1, 7}) {
		t.Errorf("SharedIFCSetIDs = %v", sp.SharedIFCSetIDs)
	}
	if n := len(sp.InitialFilterCriteria); n != 3 {
		t.Fatalf("%d iFCs, want 3", n)
	}
	reg := sp.InitialFilterCriteria[1]
	if !reg.ApplicationServer.IncludeRegisterRequest || !reg.ApplicationServer.IncludeRegisterResponse {
		t.Errorf("Include flags = %+v", reg.ApplicationServer)
	}
	if rt := reg.TriggerPoint.SPT[0].RegistrationType; !reflect.DeepEqual(rt, []RegistrationType{RegistrationTypeInitialRegistration, RegistrationTypeDeRegistration}) {
		t.Errorf("RegistrationType = %v", rt)
	}
	vm := sp.InitialFilterCriteria[2]
	if vm.ProfilePartIndicator == nil || *vm.ProfilePartIndicator != ProfilePartIndicatorUnregistered {
		t.Errorf("ProfilePartIndicator = %v", vm.ProfilePartIndicator)
	}
	if vm.ApplicationServer.DefaultHandling != DefaultHandlingSessionTerminated {
		t.Errorf("DefaultHandling = %v", vm.ApplicationServer.DefaultHandling)
	}
	if sd := vm.TriggerPoint.SPT[2].SessionDescription; sd == nil || *sd != (SessionDescription{Line: "m", Content: "^audio"}) {
		t.Errorf("SessionDescription = %+v", sd)
	}
	if got := sp.InitialFilterCriteria[0].ApplicationServer.ServiceInfo; got != "sms" {
		t.Errorf("ServiceInfo = %q", got)
	}
}

// TestRoundTrip: parse, marshal, parse again gives the same model, and marshalling is stable.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"annexc_subscription.xml", "kamailio_subscription.xml"} {
		t.Run(name, func(t *testing.T) {
			s1, err := ParseSubscription(readTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			out1, err := s1.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s2, err := ParseSubscription(out1)
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out1)
			}
			if !reflect.DeepEqual(subscriptionWithoutCache(s1), subscriptionWithoutCache(s2)) {
				t.Errorf("model changed in the round trip:\n%+v\n%+v", s1, s2)
			}
			out2, err := s2.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out1, out2) {
				t.Errorf("marshal not stable:\n%s\n%s", out1, out2)
			}
		})
	}
	for _, name := range []string{"ifcset.xml", "ifc_fragment.xml"} {
		t.Run(name, func(t *testing.T) {
			f1, err := ParseIFCs(readTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateIFCs(f1); err != nil {
				t.Fatalf("ValidateIFCs: %v", err)
			}
			out, err := MarshalIFCs(f1)
			if err != nil {
				t.Fatal(err)
			}
			f2, err := ParseIFCs(out)
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(withoutCache(f1), withoutCache(f2)) {
				t.Errorf("model changed in the round trip:\n%+v\n%+v", f1, f2)
			}
		})
	}
}

// fullSubscription sets every element the model carries.
func fullSubscription() *IMSSubscription {
	ppi := ProfilePartIndicatorRegistered
	sc := SessionCaseOriginating
	it := IdentityTypeDistinctPSI
	mp := 3
	return &IMSSubscription{
		PrivateID: "alice@ims.example",
		ServiceProfiles: []ServiceProfile{{
			PublicIdentities: []PublicIdentity{
				{Identity: "sip:alice@ims.example", BarringIndication: true, DisplayName: "Alice"},
				{Identity: "sip:psi@ims.example", IdentityType: &it},
				{Identity: "tel:+15550001"},
			},
			CoreNetworkServicesAuthorization: &CoreNetworkServicesAuthorization{SubscribedMediaProfileID: &mp},
			InitialFilterCriteria: []InitialFilterCriteria{{
				Priority: 1,
				TriggerPoint: &TriggerPoint{ConditionTypeCNF: true, SPT: []SPT{
					{Group: []int{0}, SessionCase: &sc},
					{ConditionNegated: true, Group: []int{1, 2}, SIPHeader: &SIPHeader{Header: "Accept-Contact", Content: "video"}},
					{Group: []int{3}, Method: "REGISTER", RegistrationType: []RegistrationType{RegistrationTypeReRegistration}},
					{Group: []int{4}, SessionDescription: &SessionDescription{Line: "m"}},
				}},
				ApplicationServer: ApplicationServer{
					ServerName: "sip:as.ims.example", DefaultHandling: DefaultHandlingSessionTerminated,
					ServiceInfo: "x<y", IncludeRegisterResponse: true,
				},
				ProfilePartIndicator: &ppi,
			}},
			SharedIFCSetIDs: []int{4},
		}},
	}
}

// TestMarshalSchemaOrder pins the exact XML: element order of the Annex E xs:sequences,
// Extensions only when they carry something, 0/1 booleans.
func TestMarshalSchemaOrder(t *testing.T) {
	s := fullSubscription()
	got, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<IMSSubscription><PrivateID>alice@ims.example</PrivateID><ServiceProfile>` +
		`<PublicIdentity><BarringIndication>1</BarringIndication><Identity>sip:alice@ims.example</Identity>` +
		`<Extension><Extension><DisplayName>Alice</DisplayName></Extension></Extension></PublicIdentity>` +
		`<PublicIdentity><Identity>sip:psi@ims.example</Identity><Extension><IdentityType>1</IdentityType></Extension></PublicIdentity>` +
		`<PublicIdentity><Identity>tel:+15550001</Identity></PublicIdentity>` +
		`<CoreNetworkServicesAuthorization><SubscribedMediaProfileId>3</SubscribedMediaProfileId></CoreNetworkServicesAuthorization>` +
		`<InitialFilterCriteria><Priority>1</Priority><TriggerPoint><ConditionTypeCNF>1</ConditionTypeCNF>` +
		`<SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><SessionCase>0</SessionCase></SPT>` +
		`<SPT><ConditionNegated>1</ConditionNegated><Group>1</Group><Group>2</Group><SIPHeader><Header>Accept-Contact</Header><Content>video</Content></SIPHeader></SPT>` +
		`<SPT><ConditionNegated>0</ConditionNegated><Group>3</Group><Method>REGISTER</Method><Extension><RegistrationType>1</RegistrationType></Extension></SPT>` +
		`<SPT><ConditionNegated>0</ConditionNegated><Group>4</Group><SessionDescription><Line>m</Line></SessionDescription></SPT>` +
		`</TriggerPoint><ApplicationServer><ServerName>sip:as.ims.example</ServerName><DefaultHandling>1</DefaultHandling>` +
		`<ServiceInfo>x&lt;y</ServiceInfo><Extension><IncludeRegisterResponse></IncludeRegisterResponse></Extension></ApplicationServer>` +
		`<ProfilePartIndicator>0</ProfilePartIndicator></InitialFilterCriteria>` +
		`<Extension><SharedIFCSetID>4</SharedIFCSetID></Extension></ServiceProfile></IMSSubscription>`
	if string(got) != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}
}

func TestParseIFCsForms(t *testing.T) {
	ifc := `<InitialFilterCriteria><Priority>%s</Priority><ApplicationServer><ServerName>sip:as@x</ServerName></ApplicationServer></InitialFilterCriteria>`
	one, two := strings.Replace(ifc, "%s", "1", 1), strings.Replace(ifc, "%s", "2", 1)
	tests := []struct {
		name  string
		in    string
		prios []int
	}{
		{"set root", `<?xml version="1.0"?><InitialFilterCriteriaSet>` + one + two + `</InitialFilterCriteriaSet>`, []int{1, 2}},
		{"set with comments", "<!-- c --><InitialFilterCriteriaSet>\n<!-- c -->" + one + "\n</InitialFilterCriteriaSet>\n", []int{1}},
		{"empty set", `<InitialFilterCriteriaSet/>`, []int{}},
		{"fragment", one + "\n" + two, []int{1, 2}},
		{"single", one, []int{1}},
		{"missing priority", `<InitialFilterCriteria/>`, []int{-1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIFCs([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			prios := []int{}
			for _, f := range got {
				prios = append(prios, f.Priority)
			}
			if !reflect.DeepEqual(prios, tt.prios) {
				t.Errorf("priorities %v, want %v", prios, tt.prios)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	spt := func(body string) string {
		return `<InitialFilterCriteria><Priority>1</Priority><TriggerPoint><ConditionTypeCNF>0</ConditionTypeCNF><SPT>` +
			body + `</SPT></TriggerPoint><ApplicationServer><ServerName>sip:as@x</ServerName></ApplicationServer></InitialFilterCriteria>`
	}
	tests := []struct {
		name     string
		in       string
		want     string
		problems int // > 0: the error must carry that many Problems
	}{
		{"empty input", "", "ifc: no <InitialFilterCriteriaSet> or <InitialFilterCriteria> element", 0},
		{"only prolog", `<?xml version="1.0"?>`, "ifc: no <InitialFilterCriteriaSet>", 0},
		{"wrong root", `<IMSSubscription/>`, "ifc: line 1: unexpected <IMSSubscription>, want <InitialFilterCriteriaSet> or <InitialFilterCriteria>", 0},
		{"truncated", "<InitialFilterCriteriaSet>\n<InitialFilterCriteria><Priority>1</Priority>", "XML syntax error on line 2: unexpected EOF", 0},
		{"mismatched tags", "<InitialFilterCriteria>\n<Priority>1</Prio></InitialFilterCriteria>", "ifc: XML syntax error on line 2: element <Priority> closed by </Prio>", 0},
		{"foreign child of set", "<InitialFilterCriteriaSet>\n  <Foo/></InitialFilterCriteriaSet>", "ifc: line 2: unexpected <Foo> in <InitialFilterCriteriaSet>", 0},
		{"text in set", "<InitialFilterCriteriaSet>junk</InitialFilterCriteriaSet>", "unexpected text in <InitialFilterCriteriaSet>", 0},
		{"second root", "<InitialFilterCriteriaSet/>\n<InitialFilterCriteria/>", "ifc: line 2: <InitialFilterCriteria> after </InitialFilterCriteriaSet>", 0},
		{"set after a fragment", "<InitialFilterCriteria/>\n<InitialFilterCriteriaSet/>", "ifc: line 2: <InitialFilterCriteriaSet> must be the only root element", 0},
		{"text outside root", "junk<InitialFilterCriteria/>", "text outside the root element", 0},
		{"bad charset", `<?xml version="1.0" encoding="EBCDIC"?><InitialFilterCriteria/>`, `ifc: line 1: xml: encoding "EBCDIC" declared but Decoder.CharsetReader is nil`, 0},
		{"priority not integer", `<InitialFilterCriteria><Priority>high</Priority></InitialFilterCriteria>`,
			`ifc: InitialFilterCriteria[0].Priority: "high" is not an integer`, 1},
		{"bad boolean", spt(`<ConditionNegated>yes</ConditionNegated><Group>0</Group><Method>INVITE</Method>`),
			`ifc: InitialFilterCriteria[0].TriggerPoint.SPT[0].ConditionNegated: "yes" is not a boolean (0, 1, true or false)`, 1},
		{"session case by name", spt(`<Group>0</Group><SessionCase>ORIGINATING</SessionCase>`),
			`InitialFilterCriteria[0].TriggerPoint.SPT[0].SessionCase: "ORIGINATING" is not a number from 0 to 255`, 1},
		{"group not integer", spt(`<Group>one</Group><Method>INVITE</Method>`),
			`InitialFilterCriteria[0].TriggerPoint.SPT[0].Group[0]: "one" is not an integer`, 1},
		{"empty method", spt(`<Group>0</Group><Method> </Method>`),
			`InitialFilterCriteria[0].TriggerPoint.SPT[0].Method: empty`, 1},
		{"registration type", spt(`<Group>0</Group><Method>REGISTER</Method><Extension><RegistrationType>x</RegistrationType></Extension>`),
			`InitialFilterCriteria[0].TriggerPoint.SPT[0].Extension.RegistrationType[0]: "x" is not a number`, 1},
		{"missing CNF", `<InitialFilterCriteria><Priority>1</Priority><TriggerPoint><SPT><Group>0</Group><Method>INVITE</Method></SPT></TriggerPoint></InitialFilterCriteria>`,
			`InitialFilterCriteria[0].TriggerPoint.ConditionTypeCNF: missing`, 1},
		{"every problem reported", `<InitialFilterCriteriaSet>` +
			`<InitialFilterCriteria><Priority>a</Priority><ProfilePartIndicator>-1</ProfilePartIndicator></InitialFilterCriteria>` +
			`<InitialFilterCriteria><Priority>2</Priority><ApplicationServer><ServerName>sip:a@b</ServerName><DefaultHandling>x</DefaultHandling></ApplicationServer></InitialFilterCriteria>` +
			`</InitialFilterCriteriaSet>`,
			`InitialFilterCriteria[0].Priority: "a" is not an integer; InitialFilterCriteria[0].ProfilePartIndicator: "-1" is not a number from 0 to 255; ` +
				`InitialFilterCriteria[1].ApplicationServer.DefaultHandling: "x" is not a number from 0 to 255`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIFCs([]byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			var ps Problems
			if tt.problems > 0 && (!errors.As(err, &ps) || len(ps) != tt.problems) {
				t.Errorf("want %d Problems, got %v", tt.problems, err)
			}
		})
	}
}

func TestParseSubscriptionErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "ifc: no <IMSSubscription> element"},
		{"wrong root", "<?xml version=\"1.0\"?>\n<testDatatype><IMSSubscription/></testDatatype>", "ifc: line 2: root element is <testDatatype>, want <IMSSubscription>"},
		{"two roots", "<IMSSubscription/>\n<IMSSubscription/>", "ifc: line 2: <IMSSubscription> after </IMSSubscription>"},
		{"trailing garbage", "<IMSSubscription/><", "ifc: XML syntax error on line 1"},
		{"truncated", "<IMSSubscription><PrivateID>a</PrivateID>", "unexpected EOF"},
		{"bad barring", "<IMSSubscription><PrivateID>a</PrivateID><ServiceProfile><PublicIdentity><BarringIndication>2</BarringIndication><Identity>sip:a@b</Identity></PublicIdentity></ServiceProfile></IMSSubscription>",
			`ifc: ServiceProfile[0].PublicIdentity[0].BarringIndication: "2" is not a boolean`},
		{"bad shared set id", "<IMSSubscription><ServiceProfile><Extension><SharedIFCSetID>1</SharedIFCSetID><SharedIFCSetID>x</SharedIFCSetID></Extension></ServiceProfile></IMSSubscription>",
			`ifc: ServiceProfile[0].Extension.SharedIFCSetID[1]: "x" is not an integer`},
		{"bad iFC inside", "<IMSSubscription><ServiceProfile><InitialFilterCriteria><Priority>-</Priority></InitialFilterCriteria></ServiceProfile></IMSSubscription>",
			`ifc: ServiceProfile[0].InitialFilterCriteria[0].Priority: "-" is not an integer`},
		{"bad identity type", "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>sip:a@b</Identity><Extension><IdentityType>psi</IdentityType></Extension></PublicIdentity></ServiceProfile></IMSSubscription>",
			`ServiceProfile[0].PublicIdentity[0].Extension.IdentityType: "psi" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSubscription([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
