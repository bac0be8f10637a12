package api

import (
	"fmt"
	"github.com/imscore/imscore/hss/store"
	"net/http"
	"strings"
	"testing"
)

// TestImportExportRoundTrip exports every subscriber with secrets, deletes them, imports the
// export and checks the database is as before, in both formats.
func TestImportExportRoundTrip(t *testing.T) {
	for _, format := range []struct{ name, query, accept, ctype string }{
		{"jsonl", "include_secrets=true", "", mediaJSONLines},
		{"csv", "include_secrets=true", "text/csv", mediaCSV},
	} {
		t.Run(format.name, func(t *testing.T) {
			e := newEnv(t)
			var lines []string
			for n := 1; n <= 3; n++ {
				lines = append(lines, strings.ReplaceAll(body(n), "\n", ""))
			}
			// A digest subscriber without IMS, and one with AMBR and the sqn set.
			lines = append(lines, `{"imsi":"00101","enabled":false,"auth":{"algorithm":"digest","password":"pw","amf":"0000"}}`,
				`{"imsi":"001010000000777","auth":{"k":"00112233445566778899aabbccddeeff","op":"ffeeddccbbaa99887766554433221100","sqn":99},"ambr":{"ul":5,"dl":6},"apns":["ims","internet"]}`)
			if format.name == "csv" {
				// CSV has no barring: keep the identities plain.
				for i := range lines {
					lines[i] = strings.Replace(lines[i], `{"uri":"tel:+1555000`+fmt.Sprint(i+1)+`","barred":true}`, `"tel:+1555000`+fmt.Sprint(i+1)+`"`, 1)
				}
			}
			resp := e.do("POST", "/subscribers/import", strings.Join(lines, "\n")+"\n", "Content-Type", mediaJSONLines)
			e.want(resp, http.StatusOK, "")
			if resp.json(t)["imported"] != 5.0 {
				t.Fatalf("import: %s", resp.body)
			}
			before := e.dump()

			query := "?" + format.query
			if format.accept == "" {
				query += "&format=" + format.name
			}
			export := e.do("GET", "/subscribers/export"+query, "", "Accept", format.accept)
			e.want(export, http.StatusOK, "")
			if !strings.HasPrefix(export.header.Get("Content-Type"), format.ctype) {
				t.Fatalf("export Content-Type %q", export.header.Get("Content-Type"))
			}
			if !strings.Contains(export.body, "00112233445566778899aabbccddeeff") {
				t.Fatalf("export with secrets lacks K:\n%s", export.body)
			}
			for _, n := range []string{imsiOf(1), imsiOf(2), imsiOf(3), "00101", "001010000000777"} {
				e.want(e.do("DELETE", "/subscribers/"+n, ""), http.StatusNoContent, "")
			}
			resp = e.do("POST", "/subscribers/import", export.body, "Content-Type", format.ctype)
			e.want(resp, http.StatusOK, "")
			if after := e.dump(); stripTimes(after) != stripTimes(before) {
				t.Fatalf("round trip changed the data:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// stripTimes drops the update times, which a re-import renews.
func stripTimes(dump string) string {
	var out []string
	for _, line := range strings.Split(dump, "\n") {
		if i := strings.LastIndex(line, " 20"); i > 0 && strings.HasPrefix(line, "{") {
			line = line[:i]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestExport(t *testing.T) {
	e := newEnv(t)
	for n := 1; n <= exportPage+2; n++ {
		e.store.CreateSubscribers(t.Context(), mustSub(t, n))
	}
	resp := e.do("GET", "/subscribers/export", "")
	e.want(resp, http.StatusOK, "")
	if got := strings.Count(resp.body, "\n"); got != exportPage+2 {
		t.Fatalf("%d lines exported, want %d (all pages)", got, exportPage+2)
	}
	if strings.Contains(resp.body, `"k"`) || strings.Contains(resp.body, `"opc"`) || strings.Contains(resp.body, fmt.Sprintf("%032x", 1)) {
		t.Fatal("export without include_secrets carries keys")
	}
	csv := e.do("GET", "/subscribers/export?format=csv", "")
	e.want(csv, http.StatusOK, "")
	if !strings.HasPrefix(csv.body, strings.Join(csvColumns, ",")+"\n") || strings.Count(csv.body, "\n") != exportPage+3 {
		t.Fatalf("CSV export: %.200s", csv.body)
	}
	e.want(e.do("GET", "/subscribers/export?format=xml", ""), http.StatusBadRequest, "format")
	e.want(e.do("GET", "/subscribers/export?include_secrets=maybe", ""), http.StatusBadRequest, "include_secrets")
}

func mustSub(t *testing.T, n int) *store.Subscriber {
	t.Helper()
	var j subscriberJSON
	if err := decodeFrom(strings.NewReader(body(n)), &j); err != nil {
		t.Fatal(err)
	}
	s, err := j.toStore()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImportRejects(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/subscribers", body(1)), http.StatusCreated, "")
	before := e.dump()
	one := strings.ReplaceAll(body(2), "\n", "")
	tests := []struct {
		name, ctype, body string
		code              int
		field             string
		lines             []string // "line field" of each reported line
	}{
		{"media type", "application/json", one, 415, "", nil},
		{"empty", mediaJSONLines, "\n\n", 400, "", nil},
		{"bad lines", mediaJSONLines, one + "\n{\n" + strings.Replace(strings.ReplaceAll(body(3), "\n", ""), `"k":"`, `"k":"zz`, 1) + "\n\n" +
			strings.ReplaceAll(body(4), "\n", "") + "\n" + `{"imsi":"12"}`, 400, "",
			[]string{"2 ", "3 auth.k", "6 imsi"}},
		{"duplicate in file", mediaJSONLines, one + "\n" + strings.Replace(strings.ReplaceAll(body(3), "\n", ""), imsiOf(3)+`","msisdn`, imsiOf(2)+`","msisdn`, 1), 400, "",
			[]string{"2 imsi"}},
		{"conflict with stored", mediaJSONLines, one + "\n" + strings.ReplaceAll(body(3), "\n", "") + "\n" + strings.ReplaceAll(body(1), "\n", ""), 409, "",
			[]string{"3 imsi"}},
		{"csv unknown column", mediaCSV, "imsi,kk\n001010000000002,00\n", 400, "kk", nil},
		{"csv no imsi column", mediaCSV, "msisdn\n1\n", 400, "imsi", nil},
		{"csv bad lines", mediaCSV, "imsi,k,opc,enabled,sqn\n001010000000002,00112233445566778899aabbccddeeff,00112233445566778899aabbccddeeff,true,1\n" +
			"001010000000003,00112233445566778899aabbccddeeff,00112233445566778899aabbccddeeff,maybe,1\n" +
			"001010000000004,00112233445566778899aabbccddeeff,00112233445566778899aabbccddeeff,true,x\n" +
			"001010000000005,00112233445566778899aabbccddeeff,,true,1\n", 400, "",
			[]string{"3 enabled", "4 auth.sqn", "5 auth.op"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			resp := e.do("POST", "/subscribers/import", tc.body, "Content-Type", tc.ctype)
			e.want(resp, tc.code, tc.field)
			var got []string
			if errs, ok := resp.json(t)["errors"].([]any); ok {
				for _, le := range errs {
					m := le.(map[string]any)
					field, _ := m["field"].(string)
					got = append(got, fmt.Sprintf("%v %s", m["line"], field))
				}
			}
			if strings.Join(got, ";") != strings.Join(tc.lines, ";") {
				t.Fatalf("reported lines %q, want %q; body %s", got, tc.lines, resp.body)
			}
			if e.dump() != before {
				t.Fatal("a rejected import wrote to the database")
			}
		})
	}
}
