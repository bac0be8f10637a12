package ifc

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imscore/imscore/pkg/testutil"
)

// TestUserDataMatchesSchema validates what Marshal writes with libxml2 (the parser and schema
// validator of the Kamailio S-CSCF) against the Annex E schema in testdata/CxDataType.xsd.
func TestUserDataMatchesSchema(t *testing.T) {
	xmllint := testutil.NeedTool(t, "xmllint")
	docs := map[string]*IMSSubscription{"full": fullSubscription()}
	for _, name := range []string{"annexc_subscription.xml", "kamailio_subscription.xml"} {
		s, err := ParseSubscription(readTestdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = s
	}
	for name, s := range docs {
		t.Run(name, func(t *testing.T) {
			b, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "user-data.xml")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "CxDataType.xsd"), path).CombinedOutput()
			if err != nil {
				t.Errorf("xmllint: %v\n%s\n%s", err, out, b)
			}
		})
	}
}

// TestWiresharkDissectsUserData puts the marshalled Cx-User-Data into the User-Data AVP of a
// Server-Assignment-Answer, has tshark dissect it, and checks Wireshark's XML dissector saw
// exactly the elements we wrote, in the same order.
func TestWiresharkDissectsUserData(t *testing.T) {
	text2pcap := testutil.NeedTool(t, "text2pcap")
	tshark := testutil.NeedTool(t, "tshark")

	s, err := ParseSubscription(readTestdata(t, "kamailio_subscription.xml"))
	if err != nil {
		t.Fatal(err)
	}
	userData, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	dump := filepath.Join(dir, "saa.txt")
	pcap := filepath.Join(dir, "saa.pcap")
	if err := os.WriteFile(dump, hexDump(saa(userData)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(text2pcap, "-q", "-T", "3868,40000", dump, pcap).CombinedOutput(); err != nil {
		t.Fatalf("text2pcap: %v\n%s", err, out)
	}
	out, err := exec.Command(tshark, "-r", pcap, "-d", "tcp.port==3868,diameter",
		"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-e", "diameter.Result-Code", "-e", "xml.tag").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	fields := strings.SplitN(strings.TrimSpace(string(out)), "\t", 2)
	if len(fields) != 2 || fields[0] != "2001" {
		t.Fatalf("tshark did not dissect the SAA: %q", out)
	}
	got := strings.Split(fields[1], "|")
	want := startTags(t, userData)
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Errorf("Wireshark saw elements\n%v\nwe wrote\n%v", got, want)
	}
}

// startTags lists "<Name>" for every element of doc, in document order.
func startTags(t *testing.T, doc []byte) []string {
	var tags []string
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			tags = append(tags, "<"+se.Name.Local+">")
		}
	}
	if len(tags) == 0 {
		t.Fatal("no elements in the marshalled document")
	}
	return tags
}

// saa builds a Diameter Server-Assignment-Answer (TS 29.229 6.1.4) carrying Session-Id,
// Result-Code DIAMETER_SUCCESS and the Cx User-Data AVP (606, vendor 3GPP).
func saa(userData []byte) []byte {
	body := avp(263, 0, []byte("scscf.ims.example;1;1"))
	body = append(body, avp(268, 0, binary.BigEndian.AppendUint32(nil, 2001))...)
	body = append(body, avp(606, 10415, userData)...)
	hdr := make([]byte, 20)
	binary.BigEndian.PutUint32(hdr[0:], uint32(20+len(body)))
	hdr[0] = 1                                    // version
	binary.BigEndian.PutUint32(hdr[4:], 301)      // command code, flags 0: an answer
	binary.BigEndian.PutUint32(hdr[8:], 16777216) // Cx application
	binary.BigEndian.PutUint32(hdr[12:], 0x1234)  // hop-by-hop
	binary.BigEndian.PutUint32(hdr[16:], 0x5678)  // end-to-end
	return append(hdr, body...)
}

// avp encodes one AVP (RFC 6733 4.1), M flag set, V flag when vendor is not 0, padded to 4.
func avp(code, vendor uint32, data []byte) []byte {
	hl := 8
	flags := uint32(0x40)
	if vendor != 0 {
		hl, flags = 12, 0xC0
	}
	b := binary.BigEndian.AppendUint32(nil, code)
	b = binary.BigEndian.AppendUint32(b, flags<<24|uint32(hl+len(data)))
	if vendor != 0 {
		b = binary.BigEndian.AppendUint32(b, vendor)
	}
	b = append(b, data...)
	return append(b, make([]byte, (4-len(data)%4)%4)...)
}

// hexDump writes b in the offset + hex bytes form text2pcap reads.
func hexDump(b []byte) []byte {
	var out bytes.Buffer
	for i := 0; i < len(b); i += 16 {
		fmt.Fprintf(&out, "%06x", i)
		for _, c := range b[i:min(i+16, len(b))] {
			fmt.Fprintf(&out, " %02x", c)
		}
		out.WriteByte('\n')
	}
	return out.Bytes()
}
