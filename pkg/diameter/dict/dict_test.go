package dict

import (
	"testing"

	"github.com/fiorix/go-diameter/v4/diam/datatype"
	diamdict "github.com/fiorix/go-diameter/v4/diam/dict"
)

func TestDefaultIsGoDiameters(t *testing.T) {
	// diam.Message falls back to go-diameter's dict.Default; both must know Cx and Sh.
	if Default() != diamdict.Default {
		t.Fatal("Default() is not go-diameter's dict.Default")
	}
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		app, code uint32
		name      string
	}{
		{AppCx, 300, "User-Authorization"},
		{AppCx, 301, "Server-Assignment"},
		{AppCx, 302, "Location-Info"},
		{AppCx, 303, "Multimedia-Auth"},
		{AppCx, 304, "Registration-Termination"},
		{AppCx, 305, "Push-Profile"},
		{AppSh, 306, "User-Data"},
		{AppSh, 307, "Profile-Update"},
		{AppSh, 308, "Subscribe-Notifications"},
		{AppSh, 309, "Push-Notification"},
		// go-diameter's own applications are untouched.
		{AppS6a, 316, "Update-Location"},
		{16777265, 303, "Multimedia-Auth"},
		{0, 257, "Capabilities-Exchange"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := Default().FindCommand(tc.app, tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if cmd.Name != tc.name || len(cmd.Request.Rule) == 0 || len(cmd.Answer.Rule) == 0 {
				t.Fatalf("command %d of app %d = %+v", tc.code, tc.app, cmd)
			}
		})
	}
	if _, err := Default().FindCommand(AppSh, 303); err == nil {
		t.Fatal("Sh knows MAR")
	}
}

// TestAVPs checks the entries whose code, type or flags are easy to get wrong: AVPs Cx and
// Sh name alike (User-Data), codes the base protocol uses without a vendor (RFC 7683
// OC-* at 621-626), M-bit rules (TS 29.229 Table 6.3.1, TS 29.329 Table 6.3.1) and the
// IETF digest AVPs.
func TestAVPs(t *testing.T) {
	for _, tc := range []struct {
		app           uint32
		name          string
		code, vendor  uint32
		typ           datatype.TypeID
		must, mustNot string
	}{
		{AppCx, "User-Data", 606, Vendor3GPP, datatype.OctetStringType, "M,V", ""},
		{AppSh, "User-Data", 702, Vendor3GPP, datatype.OctetStringType, "M,V", ""},
		{AppCx, "Primary-Charging-Collection-Function-Name", 621, Vendor3GPP, datatype.DiameterURIType, "M,V", ""},
		{AppCx, "Confidentiality-Key", 625, Vendor3GPP, datatype.OctetStringType, "M,V", ""},
		{AppCx, "Server-Assignment-Type", 614, Vendor3GPP, datatype.EnumeratedType, "M,V", ""},
		{AppCx, "SIP-Auth-Data-Item", 612, Vendor3GPP, datatype.GroupedType, "M,V", ""},
		{AppCx, "Supported-Features", 628, Vendor3GPP, datatype.GroupedType, "V", ""},
		{AppCx, "Wildcarded-IMPU", 636, Vendor3GPP, datatype.UTF8StringType, "V", "M"},
		{AppCx, "SAR-Flags", 655, Vendor3GPP, datatype.Unsigned32Type, "V", "M"},
		{AppCx, "Registration-Time-Out", 661, Vendor3GPP, datatype.TimeType, "V", "M"},
		{AppCx, "Digest-HA1", 121, 0, datatype.UTF8StringType, "M", "V"},
		{AppSh, "User-Identity", 700, Vendor3GPP, datatype.GroupedType, "M,V", ""},
		{AppSh, "Data-Reference", 703, Vendor3GPP, datatype.EnumeratedType, "M,V", ""},
		{AppSh, "Service-Indication", 704, Vendor3GPP, datatype.OctetStringType, "M,V", ""},
		{AppSh, "Expiry-Time", 709, Vendor3GPP, datatype.TimeType, "V", "M"},
		{AppSh, "Public-Identity", 601, Vendor3GPP, datatype.UTF8StringType, "M,V", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Default().FindAVP(tc.app, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if a.Code != tc.code || a.VendorID != tc.vendor || a.Data.Type != tc.typ || a.Must != tc.must || a.MustNot != tc.mustNot {
				t.Fatalf("%s in app %d = %+v", tc.name, tc.app, a)
			}
			// Decoding looks AVPs up by code and vendor; it must find the same entry.
			byCode, err := Default().FindAVPByCode(tc.app, tc.code, tc.vendor)
			if err != nil || byCode != a {
				t.Fatalf("by code: %+v, %v", byCode, err)
			}
		})
	}
	// RFC 7683 OC-Supported-Features keeps its vendor-less code 621 in Cx.
	oc, err := Default().FindAVPByCode(AppCx, 621, 0)
	if err != nil || oc.Name != "OC-Supported-Features" {
		t.Fatalf("AVP 621 without vendor = %+v, %v", oc, err)
	}
}

func TestEnums(t *testing.T) {
	for _, tc := range []struct {
		app  uint32
		code uint32
		n    int32
		name string
	}{
		{AppCx, 614, 14, "RESTORATION"},
		{AppCx, 623, 2, "REGISTRATION_AND_CAPABILITIES"},
		{AppCx, 616, 3, "REMOVE_S-CSCF"},
		{AppSh, 703, 13, "InitialFilterCriteria"},
		{AppSh, 705, 1, "Unsubscribe"},
	} {
		e, err := Default().Enum(tc.app, tc.code, tc.n)
		if err != nil || e.Name != tc.name {
			t.Errorf("enum %d=%d: %+v, %v", tc.code, tc.n, e, err)
		}
	}
}
