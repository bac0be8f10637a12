package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/hss/store/storetest"
)

const token = "s3cret-token"

// fakeNotifier records the notifications and fails them when err is set.
type fakeNotifier struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeNotifier) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeNotifier) Deregister(_ context.Context, impi string, r DeregistrationReason) error {
	return f.record(fmt.Sprintf("RTR %s %d %s", impi, r.Code, r.Info))
}

func (f *fakeNotifier) ProfileChanged(_ context.Context, impi string) error {
	return f.record("PPR " + impi)
}

func (f *fakeNotifier) SubscriptionChanged(_ context.Context, imsi string) error {
	return f.record("IDR " + imsi)
}

func (f *fakeNotifier) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls := f.calls
	f.calls = nil
	return calls
}

type env struct {
	t        *testing.T
	store    store.Store
	notifier *fakeNotifier
	engine   *gin.Engine
}

func init() { gin.SetMode(gin.TestMode) }

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(t.TempDir(), "hss.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := &fakeNotifier{}
	e := &env{t: t, store: st, notifier: n, engine: gin.New()}
	New(st, n, token, slog.New(slog.DiscardHandler)).Routes(e.engine)
	return e
}

type response struct {
	code   int
	header http.Header
	body   string
}

// json decodes the body into a generic value.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return v
}

// do sends a request with the token; headers are name, value pairs.
func (e *env) do(method, path, body string, headers ...string) response {
	req := httptest.NewRequest(method, Base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	w := httptest.NewRecorder()
	e.engine.ServeHTTP(w, req)
	return response{code: w.Code, header: w.Header(), body: w.Body.String()}
}

// want checks the status and, for errors, the field of the error body.
func (e *env) want(r response, code int, field string) {
	e.t.Helper()
	if r.code != code {
		e.t.Fatalf("status %d, want %d; body %s", r.code, code, r.body)
	}
	if code < 400 {
		return
	}
	body := r.json(e.t)
	if _, ok := body["error"].(string); !ok {
		e.t.Fatalf("error body without error: %s", r.body)
	}
	if got, _ := body["field"].(string); got != field {
		e.t.Fatalf("error field %q, want %q; body %s", got, field, r.body)
	}
}

// dump is everything the database holds, secrets included, to check that a failed request
// changed nothing.
func (e *env) dump() string {
	e.t.Helper()
	ctx := context.Background()
	subs, _, err := e.store.ListSubscribers(ctx, 0, 10000)
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range subs {
		j, _ := json.Marshal(record(s, true))
		fmt.Fprintf(&b, "%s %+v %s %s\n", j, s.IMS, s.MMEHost, s.UpdatedAt)
	}
	sets, _ := e.store.ListIFCSets(ctx)
	for _, s := range sets {
		fmt.Fprintf(&b, "%+v\n", *s)
	}
	apns, _ := e.store.ListAPNs(ctx)
	for _, p := range apns {
		fmt.Fprintf(&b, "%+v\n", *p)
	}
	caps, _ := e.store.ListCapabilitySets(ctx)
	for _, c := range caps {
		fmt.Fprintf(&b, "%+v\n", *c)
	}
	return b.String()
}

// contractExample is the POST /subscribers body of CONTRACT.md, verbatim.
const contractExample = `{
  "imsi": "001010000000001",
  "msisdn": "15550001",
  "auth": {"k": "465b5ce8b199b49faa5f0a2ee238a6bc", "op": "cdc202d5123e20f62b6d676ac72cb318", "amf": "8000", "sqn": 0},
  "ims": {
    "impi": "001010000000001@ims.mnc001.mcc001.3gppnetwork.org",
    "impus": ["sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org", "tel:+15550001"],
    "ifc_set": "default"
  },
  "apns": ["internet", "ims"]
}`

// body builds a subscriber body numbered n.
func body(n int) string {
	imsi := fmt.Sprintf("0010100000%05d", n)
	return fmt.Sprintf(`{"imsi":%q,"msisdn":"1555%04d","auth":{"k":"%032x","opc":"%032x"},
		"ims":{"impi":"%s@ims.example","impus":["sip:%s@ims.example",{"uri":"tel:+1555%04d","barred":true}]},
		"apns":["internet"]}`, imsi, n, n, n+1, imsi, imsi, n)
}

func imsiOf(n int) string { return fmt.Sprintf("0010100000%05d", n) }

// register records an S-CSCF for the subscriber numbered n as a SAR would.
func (e *env) register(n int) {
	e.t.Helper()
	imsi := imsiOf(n)
	reg := store.Registration{IMPI: imsi + "@ims.example", IMPUs: []string{"sip:" + imsi + "@ims.example"},
		State: store.StateRegistered, SCSCFName: "sip:127.0.0.1:6060"}
	if err := e.store.SetRegistration(context.Background(), reg); err != nil {
		e.t.Fatal(err)
	}
}

func TestEveryRouteNeedsTheToken(t *testing.T) {
	e := newEnv(t)
	noToken := New(e.store, e.notifier, "", slog.New(slog.DiscardHandler))
	unconfigured := gin.New()
	noToken.Routes(unconfigured)
	before := e.dump()
	routes := e.engine.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, r := range routes {
		path := strings.TrimPrefix(strings.NewReplacer(":imsi", imsiOf(1), ":name", "default").Replace(r.Path), Base)
		for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic " + token, "bearer " + token, "Bearer " + token + "x"} {
			resp := e.do(r.Method, path, "", "Authorization", auth)
			e.want(resp, http.StatusUnauthorized, "")
			if !strings.HasPrefix(resp.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s: no WWW-Authenticate", r.Method, path)
			}
		}
		// An API without a token refuses everyone, even "Bearer " with nothing after it.
		req := httptest.NewRequest(r.Method, r.Path, nil)
		req.Header.Set("Authorization", "Bearer ")
		w := httptest.NewRecorder()
		unconfigured.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("%s %s without a configured token: %d", r.Method, r.Path, w.Code)
		}
	}
	if e.dump() != before {
		t.Fatal("unauthenticated requests changed the database")
	}
}

var pathParam = regexp.MustCompile(`:([a-z]+)`)

func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	resp := e.do("GET", "/openapi.json", "")
	e.want(resp, http.StatusOK, "")
	if err := json.Unmarshal([]byte(resp.body), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %v %q", err, doc.OpenAPI)
	}
	mounted := map[string]bool{}
	for _, r := range e.engine.Routes() {
		path := pathParam.ReplaceAllString(strings.TrimPrefix(r.Path, Base), "{$1}")
		key := strings.ToLower(r.Method) + " " + path
		mounted[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" && !mounted[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not mounted", method, path)
			}
		}
	}
	docs := e.do("GET", "/docs", "")
	e.want(docs, http.StatusOK, "")
	if !strings.HasPrefix(docs.header.Get("Content-Type"), "text/html") {
		t.Fatalf("docs Content-Type %q", docs.header.Get("Content-Type"))
	}
	for path := range doc.Paths {
		if !strings.Contains(docs.body, "<code>"+path+"</code>") {
			t.Errorf("docs page lacks %s", path)
		}
	}
}

func TestCreateAndRead(t *testing.T) {
	e := newEnv(t)
	resp := e.do("POST", "/subscribers", contractExample)
	e.want(resp, http.StatusCreated, "")
	if resp.header.Get("Location") != Base+"/subscribers/001010000000001" {
		t.Fatalf("Location %q", resp.header.Get("Location"))
	}
	for _, r := range []response{resp, e.do("GET", "/subscribers/001010000000001", "")} {
		// K and OP are write-only.
		if strings.Contains(r.body, "465b5ce8") || strings.Contains(r.body, "cdc202d5") || strings.Contains(r.body, `"k"`) {
			t.Fatalf("secret returned: %s", r.body)
		}
		v := r.json(t)
		auth := v["auth"].(map[string]any)
		if auth["k_set"] != true || auth["op_set"] != true || auth["opc_set"] != false || auth["amf"] != "8000" || auth["algorithm"] != "milenage" {
			t.Fatalf("auth %v", auth)
		}
		ims := v["ims"].(map[string]any)
		impus := ims["impus"].([]any)
		if ims["ifc_set"] != "default" || len(impus) != 2 || impus[0].(map[string]any)["state"] != "NOT_REGISTERED" ||
			impus[0].(map[string]any)["default"] != true {
			t.Fatalf("ims %v", ims)
		}
		if v["msisdn"] != "15550001" || v["enabled"] != true || !slices.Equal(toStrings(v["apns"]), []string{"internet", "ims"}) {
			t.Fatalf("subscriber %v", v)
		}
	}
	e.want(e.do("GET", "/subscribers/001019999999999", ""), http.StatusNotFound, "")

	for n := 2; n <= 6; n++ {
		e.want(e.do("POST", "/subscribers", body(n)), http.StatusCreated, "")
	}
	page := e.do("GET", "/subscribers?limit=2&offset=1", "")
	e.want(page, http.StatusOK, "")
	v := page.json(t)
	subs := v["subscribers"].([]any)
	if v["total"] != 6.0 || len(subs) != 2 || subs[0].(map[string]any)["imsi"] != imsiOf(2) {
		t.Fatalf("page %s", page.body)
	}
	count := e.do("GET", "/subscribers?limit=0", "")
	if v := count.json(t); v["total"] != 6.0 || len(v["subscribers"].([]any)) != 0 {
		t.Fatalf("limit=0: %s", count.body)
	}
	for _, q := range []struct{ query, field string }{{"limit=-1", "limit"}, {"limit=1001", "limit"}, {"offset=x", "offset"}} {
		e.want(e.do("GET", "/subscribers?"+q.query, ""), http.StatusBadRequest, q.field)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestCreateRejects sends each bad input and checks the documented error and that nothing
// was written.
func TestCreateRejects(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/subscribers", contractExample), http.StatusCreated, "")
	edit := func(old, new string) string {
		if !strings.Contains(contractExample, old) {
			t.Fatalf("example lacks %q", old)
		}
		b := strings.Replace(contractExample, old, new, 1)
		// A new subscriber, so that only the edit can clash.
		return strings.NewReplacer(`"imsi": "001010000000001"`, `"imsi": "001010000000009"`, `"15550001"`, `"15550009"`,
			`"001010000000001@`, `"009@`, `"sip:001010000000001@`, `"sip:009@`, `"tel:+15550001"`, `"tel:+15550009"`).Replace(b)
	}
	tests := []struct {
		name  string
		body  string
		code  int
		field string
	}{
		{"malformed JSON", `{"imsi": `, 400, ""},
		{"not an object", `[1]`, 400, ""},
		{"trailing data", contractExample + `{}`, 400, ""},
		{"unknown field", edit(`"amf"`, `"amf2": "1", "amf"`), 400, "auth.amf2"},
		{"sqn not a number", edit(`"sqn": 0`, `"sqn": "0"`), 400, "auth.sqn"},
		{"negative sqn", edit(`"sqn": 0`, `"sqn": -1`), 400, "auth.sqn"},
		{"sqn beyond 48 bits", edit(`"sqn": 0`, `"sqn": 281474976710656`), 400, "auth.sqn"},
		{"k not hex", edit(`465b5ce8b199b49faa5f0a2ee238a6bc`, `zz5b5ce8b199b49faa5f0a2ee238a6bc`), 400, "auth.k"},
		{"k short", edit(`465b5ce8b199b49faa5f0a2ee238a6bc`, `465b5ce8b199b49faa5f0a2ee238a6`), 400, "auth.k"},
		{"k missing", edit(`"k": "465b5ce8b199b49faa5f0a2ee238a6bc", `, ``), 400, "auth.k"},
		{"op long", edit(`cdc202d5123e20f62b6d676ac72cb318`, `cdc202d5123e20f62b6d676ac72cb31800`), 400, "auth.op"},
		{"op and opc", edit(`"amf"`, `"opc": "cdc202d5123e20f62b6d676ac72cb318", "amf"`), 400, "auth.opc"},
		{"neither op nor opc", edit(`"op": "cdc202d5123e20f62b6d676ac72cb318", `, ``), 400, "auth.op"},
		{"amf", edit(`"amf": "8000"`, `"amf": "800"`), 400, "auth.amf"},
		{"algorithm", edit(`"amf"`, `"algorithm": "xor", "amf"`), 400, "auth.algorithm"},
		{"digest without password", edit(`"amf"`, `"algorithm": "digest", "amf"`), 400, "auth.password"},
		{"imsi short", edit(`"imsi": "001010000000001"`, `"imsi": "0010"`), 400, "imsi"},
		{"imsi letters", strings.Replace(contractExample, `"imsi": "001010000000001"`, `"imsi": "00101000000000x"`, 1), 400, "imsi"},
		{"msisdn", edit(`"msisdn": "15550001"`, `"msisdn": "+15550001"`), 400, "msisdn"},
		{"impu scheme", edit(`"tel:+15550001"`, `"mailto:a@b"`), 400, "ims.impus[1]"},
		{"impu object unknown field", edit(`"tel:+15550001"`, `{"uri": "tel:+15550009", "bared": true}`), 400, "ims.impus[1].bared"},
		{"impi", edit(`"impi": "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"`, `"impi": "no-realm"`), 400, "ims.impi"},
		{"unknown APN", edit(`"ims"]`, `"nope"]`), 400, "apns[1]"},
		{"unknown iFC set", edit(`"ifc_set": "default"`, `"ifc_set": "nope"`), 400, "ims.ifc_set"},
		{"duplicate IMSI", strings.Replace(edit(`"15550001"`, `"15550001"`), `"imsi": "001010000000009"`, `"imsi": "001010000000001"`, 1), 409, "imsi"},
		{"duplicate MSISDN", strings.Replace(edit(`"15550001"`, `"15550001"`), `"msisdn": "15550009"`, `"msisdn": "15550001"`, 1), 409, "msisdn"},
		{"duplicate IMPI", strings.Replace(edit(`"15550001"`, `"15550001"`), `"009@ims`, `"001010000000001@ims`, 1), 409, "ims.impi"},
		{"duplicate IMPU", strings.Replace(edit(`"15550001"`, `"15550001"`), `"tel:+15550009"`, `"tel:+15550001"`, 1), 409, "ims.impus[1]"},
	}
	before := e.dump()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.want(e.do("POST", "/subscribers", tc.body), tc.code, tc.field)
			if e.dump() != before {
				t.Fatal("the database changed")
			}
		})
	}
	e.t = t
	e.want(e.do("POST", "/subscribers", contractExample, "Authorization", ""), http.StatusUnauthorized, "")
	if e.dump() != before {
		t.Fatal("the database changed")
	}
	// The edit helper itself makes a valid subscriber.
	e.want(e.do("POST", "/subscribers", edit(`"sqn": 0`, `"sqn": 7`)), http.StatusCreated, "")
}

func TestUpdate(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/subscribers", body(1)), http.StatusCreated, "")
	e.want(e.do("POST", "/subscribers", body(2)), http.StatusCreated, "")
	if _, err := e.store.ReserveSQN(context.Background(), imsiOf(1), 10); err != nil {
		t.Fatal(err)
	}
	// Without k, opc or sqn: kept. Not registered: nobody is told.
	up := `{"msisdn":"4400","enabled":false,"auth":{"amf":"9000"},"ims":{"impi":"` + imsiOf(1) + `@ims.example","impus":["sip:` + imsiOf(1) + `@ims.example"]}}`
	resp := e.do("PUT", "/subscribers/"+imsiOf(1), up)
	e.want(resp, http.StatusOK, "")
	v := resp.json(t)
	auth := v["auth"].(map[string]any)
	if auth["k_set"] != true || auth["opc_set"] != true || auth["sqn"] != 10.0 || auth["amf"] != "9000" || v["enabled"] != false || v["msisdn"] != "4400" {
		t.Fatalf("after PUT: %s", resp.body)
	}
	if calls := e.notifier.take(); len(calls) != 0 {
		t.Fatalf("notified %v for an unregistered subscriber", calls)
	}
	got, _ := e.store.Subscriber(context.Background(), imsiOf(1))
	if fmt.Sprintf("%x", got.Auth.K) != fmt.Sprintf("%032x", 1) {
		t.Fatalf("K changed: %x", got.Auth.K)
	}

	before := e.dump()
	for _, tc := range []struct {
		name, path, body string
		code             int
		field            string
	}{
		{"imsi differs", "/subscribers/" + imsiOf(1), body(2), 400, "imsi"},
		{"unknown", "/subscribers/" + imsiOf(9), body(9), 404, ""},
		{"bad hex", "/subscribers/" + imsiOf(1), strings.Replace(up, `"amf":"9000"`, `"k":"xyz"`, 1), 400, "auth.k"},
		{"impu of another", "/subscribers/" + imsiOf(1), strings.Replace(up, `"sip:`+imsiOf(1), `"sip:`+imsiOf(2), 1), 409, "ims.impus[0]"},
		{"malformed", "/subscribers/" + imsiOf(1), `{`, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.want(e.do("PUT", tc.path, tc.body), tc.code, tc.field)
			if e.dump() != before {
				t.Fatal("the database changed")
			}
		})
	}
	e.t = t

	// sqn given: set. Registered: the S-CSCF gets a PPR; a serving MME an IDR.
	e.register(2)
	if err := e.store.SetServingMME(context.Background(), imsiOf(2), "mme.epc", "epc"); err != nil {
		t.Fatal(err)
	}
	resp = e.do("PUT", "/subscribers/"+imsiOf(2), strings.Replace(body(2), `"opc"`, `"sqn":3,"opc"`, 1))
	e.want(resp, http.StatusOK, "")
	if resp.json(t)["auth"].(map[string]any)["sqn"] != 3.0 {
		t.Fatalf("sqn not set: %s", resp.body)
	}
	if calls := e.notifier.take(); !slices.Equal(calls, []string{"PPR " + imsiOf(2) + "@ims.example", "IDR " + imsiOf(2)}) {
		t.Fatalf("notifications %v", calls)
	}
	// The IMPI replaced while registered: RTR; a failure is a warning, the change stays.
	e.notifier.err = errors.New("peer down")
	resp = e.do("PUT", "/subscribers/"+imsiOf(2), strings.Replace(body(2), imsiOf(2)+"@ims.example\",\"impus", "new@ims.example\",\"impus", 1))
	e.want(resp, http.StatusOK, "")
	v = resp.json(t)
	if v["ims"].(map[string]any)["impi"] != "new@ims.example" || len(v["warnings"].([]any)) != 2 {
		t.Fatalf("after IMPI change: %s", resp.body)
	}
	if calls := e.notifier.take(); !slices.Equal(calls, []string{"RTR " + imsiOf(2) + "@ims.example 0 subscription changed", "IDR " + imsiOf(2)}) {
		t.Fatalf("notifications %v", calls)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/subscribers", body(1)), http.StatusCreated, "")
	e.want(e.do("POST", "/subscribers", body(2)), http.StatusCreated, "")
	e.register(2)
	e.want(e.do("DELETE", "/subscribers/"+imsiOf(1), ""), http.StatusNoContent, "")
	if calls := e.notifier.take(); len(calls) != 0 {
		t.Fatalf("notified %v", calls)
	}
	e.want(e.do("DELETE", "/subscribers/"+imsiOf(2), ""), http.StatusNoContent, "")
	if calls := e.notifier.take(); !slices.Equal(calls, []string{"RTR " + imsiOf(2) + "@ims.example 0 subscription removed"}) {
		t.Fatalf("notifications %v", calls)
	}
	e.want(e.do("DELETE", "/subscribers/"+imsiOf(2), ""), http.StatusNotFound, "")
	e.want(e.do("GET", "/subscribers/"+imsiOf(2), ""), http.StatusNotFound, "")
	// The identities are free again.
	e.want(e.do("POST", "/subscribers", body(2)), http.StatusCreated, "")
}

func TestDeregister(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/subscribers", body(1)), http.StatusCreated, "")
	e.want(e.do("POST", "/subscribers", `{"imsi":"00101","auth":{"algorithm":"digest","password":"pw"}}`), http.StatusCreated, "")
	path := "/subscribers/" + imsiOf(1) + "/deregister"
	e.want(e.do("POST", path, ""), http.StatusConflict, "")
	e.want(e.do("POST", "/subscribers/00101/deregister", ""), http.StatusNotFound, "")
	e.want(e.do("POST", "/subscribers/"+imsiOf(9)+"/deregister", ""), http.StatusNotFound, "")
	e.register(1)
	before := e.dump()
	e.want(e.do("POST", path, `{"reason":"bogus"}`), http.StatusBadRequest, "reason")
	e.want(e.do("POST", path, `{"reason":`), http.StatusBadRequest, "")
	e.notifier.err = errors.New("no answer")
	e.want(e.do("POST", path, ""), http.StatusBadGateway, "")
	if e.dump() != before {
		t.Fatal("a failed RTR changed the registration")
	}
	e.notifier.err = nil
	e.notifier.take()
	resp := e.do("POST", path, `{"reason":"server_change","info":"maintenance"}`)
	e.want(resp, http.StatusOK, "")
	if calls := e.notifier.take(); !slices.Equal(calls, []string{"RTR " + imsiOf(1) + "@ims.example 2 maintenance"}) {
		t.Fatalf("notifications %v", calls)
	}
	got, _ := e.store.Subscriber(context.Background(), imsiOf(1))
	if got.IMS.SCSCFName != "" || got.IMS.IMPUs[0].State != store.StateNotRegistered || got.IMS.IMPUs[0].SCSCFName != "" {
		t.Fatalf("still registered: %+v", got.IMS)
	}
}

func TestSQN(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/subscribers", body(1)), http.StatusCreated, "")
	path := "/subscribers/" + imsiOf(1) + "/sqn"
	e.want(e.do("PUT", path, `{"sqn": 4242}`), http.StatusOK, "")
	if a, _ := e.store.ReserveSQN(context.Background(), imsiOf(1), 1); a.SQN != 4243 {
		t.Fatalf("next SQN %d, want 4243", a.SQN)
	}
	before := e.dump()
	for _, tc := range []struct {
		path, body string
		code       int
		field      string
	}{
		{path, `{}`, 400, "sqn"},
		{path, `{"sqn": 281474976710656}`, 400, "sqn"},
		{path, `{"sqn": "1"}`, 400, "sqn"},
		{path, `{"sqn": 1, "x": 1}`, 400, "x"},
		{"/subscribers/" + imsiOf(9) + "/sqn", `{"sqn": 1}`, 404, ""},
	} {
		e.want(e.do("PUT", tc.path, tc.body), tc.code, tc.field)
	}
	if e.dump() != before {
		t.Fatal("the database changed")
	}
}

func TestIFCSets(t *testing.T) {
	e := newEnv(t)
	set := map[string]string{"name": "mmtel", "description": "MMTel", "xml": storetest.IFCXML}
	b, _ := json.Marshal(set)
	e.want(e.do("POST", "/ifc-sets", string(b)), http.StatusCreated, "")
	e.want(e.do("POST", "/ifc-sets", string(b)), http.StatusConflict, "name")
	list := e.do("GET", "/ifc-sets", "")
	e.want(list, http.StatusOK, "")
	if sets := list.json(t)["ifc_sets"].([]any); len(sets) != 2 {
		t.Fatalf("sets %s", list.body)
	}
	if r := e.do("GET", "/ifc-sets/mmtel", ""); r.json(t)["xml"] != storetest.IFCXML {
		t.Fatalf("GET JSON: %s", r.body)
	}
	if r := e.do("GET", "/ifc-sets/mmtel", "", "Accept", "application/xml"); r.body != storetest.IFCXML ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") {
		t.Fatalf("GET XML: %q %q", r.header.Get("Content-Type"), r.body)
	}

	// Subscribers 1 and 2 use the set, only 1 is registered: only its S-CSCF hears of changes.
	for n := 1; n <= 3; n++ {
		sub := body(n)
		if n < 3 {
			sub = strings.Replace(sub, `"impus"`, `"ifc_set":"mmtel","impus"`, 1)
		}
		e.want(e.do("POST", "/subscribers", sub), http.StatusCreated, "")
	}
	e.register(1)
	e.register(3)
	other := `<InitialFilterCriteria><Priority>1</Priority><ApplicationServer><ServerName>sip:b.example</ServerName></ApplicationServer></InitialFilterCriteria>`
	resp := e.do("PUT", "/ifc-sets/mmtel", `{"description":"v2","xml":`+strconvQuote(other)+`}`)
	e.want(resp, http.StatusOK, "")
	v := resp.json(t)
	if !slices.Equal(toStrings(v["notified"]), []string{imsiOf(1) + "@ims.example"}) || v["ifc_set"].(map[string]any)["description"] != "v2" {
		t.Fatalf("PUT: %s", resp.body)
	}
	if calls := e.notifier.take(); !slices.Equal(calls, []string{"PPR " + imsiOf(1) + "@ims.example"}) {
		t.Fatalf("notifications %v", calls)
	}
	// A bare XML body keeps the description.
	resp = e.do("PUT", "/ifc-sets/mmtel", storetest.IFCXML, "Content-Type", "application/xml")
	e.want(resp, http.StatusOK, "")
	if got, _ := e.store.IFCSet(context.Background(), "mmtel"); got.XML != storetest.IFCXML || got.Description != "v2" {
		t.Fatalf("after XML PUT: %+v", got)
	}
	e.notifier.take()

	before := e.dump()
	for _, tc := range []struct {
		name, method, path, body, ctype string
		code                            int
		field                           string
	}{
		{"malformed XML", "PUT", "/ifc-sets/mmtel", "<InitialFilterCriteriaSet>", "application/xml", 400, "xml"},
		{"no ServerName", "PUT", "/ifc-sets/mmtel", `{"xml":"<InitialFilterCriteria><Priority>1</Priority></InitialFilterCriteria>"}`, "", 400, "xml"},
		{"name differs", "PUT", "/ifc-sets/mmtel", `{"name":"x","xml":""}`, "", 400, "name"},
		{"unknown", "PUT", "/ifc-sets/nope", `{"xml":` + strconvQuote(other) + `}`, "", 404, ""},
		{"unknown XML", "PUT", "/ifc-sets/nope", other, "application/xml", 404, ""},
		{"bad name", "POST", "/ifc-sets", `{"name":"a b","xml":` + strconvQuote(other) + `}`, "", 400, "name"},
		{"bad JSON", "POST", "/ifc-sets", `{"name":1}`, "", 400, "name"},
		{"in use", "DELETE", "/ifc-sets/mmtel", "", "", 409, ""},
		{"delete unknown", "DELETE", "/ifc-sets/nope", "", "", 404, ""},
		{"get unknown", "GET", "/ifc-sets/nope", "", "", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.want(e.do(tc.method, tc.path, tc.body, "Content-Type", tc.ctype), tc.code, tc.field)
			if e.dump() != before {
				t.Fatal("the database changed")
			}
		})
	}
	e.t = t
	if calls := e.notifier.take(); len(calls) != 0 {
		t.Fatalf("rejected changes notified %v", calls)
	}
	for n := 1; n <= 2; n++ {
		e.want(e.do("DELETE", "/subscribers/"+imsiOf(n), ""), http.StatusNoContent, "")
	}
	e.want(e.do("DELETE", "/ifc-sets/mmtel", ""), http.StatusNoContent, "")
	e.want(e.do("GET", "/ifc-sets/mmtel", ""), http.StatusNotFound, "")
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestAPNs(t *testing.T) {
	e := newEnv(t)
	apn := `{"name":"corp","qci":6,"arp_priority":2,"preemption_capability":true,"preemption_vulnerability":false,"ambr":{"ul":1000,"dl":2000},"pdn_type":"ipv4"}`
	resp := e.do("POST", "/apns", apn)
	e.want(resp, http.StatusCreated, "")
	if resp.json(t)["ambr"].(map[string]any)["dl"] != 2000.0 {
		t.Fatalf("created %s", resp.body)
	}
	e.want(e.do("POST", "/apns", apn), http.StatusConflict, "name")
	e.want(e.do("PUT", "/apns/corp", strings.Replace(apn, `"qci":6`, `"qci":7`, 1)), http.StatusOK, "")
	if r := e.do("GET", "/apns/corp", ""); r.json(t)["qci"] != 7.0 {
		t.Fatalf("GET %s", r.body)
	}
	if r := e.do("GET", "/apns", ""); len(r.json(t)["apns"].([]any)) != 3 {
		t.Fatalf("list %s", r.body)
	}
	e.want(e.do("POST", "/subscribers", strings.Replace(body(1), `["internet"]`, `["corp"]`, 1)), http.StatusCreated, "")
	before := e.dump()
	for _, tc := range []struct {
		method, path, body string
		code               int
		field              string
	}{
		{"PUT", "/apns/corp", strings.Replace(apn, `"qci":6`, `"qci":0`, 1), 400, "qci"},
		{"PUT", "/apns/corp", strings.Replace(apn, `"qci":6`, `"qci":300`, 1), 400, "qci"},
		{"PUT", "/apns/corp", strings.Replace(apn, `"arp_priority":2`, `"arp_priority":16`, 1), 400, "arp_priority"},
		{"PUT", "/apns/corp", strings.Replace(apn, `"ipv4"`, `"ipx"`, 1), 400, "pdn_type"},
		{"PUT", "/apns/other", apn, 400, "name"},
		{"PUT", "/apns/nope", strings.Replace(apn, `"corp"`, `"nope"`, 1), 404, ""},
		{"POST", "/apns", strings.Replace(apn, `"corp"`, `"a b"`, 1), 400, "name"},
		{"DELETE", "/apns/corp", "", 409, ""},
		{"DELETE", "/apns/nope", "", 404, ""},
		{"GET", "/apns/nope", "", 404, ""},
	} {
		e.want(e.do(tc.method, tc.path, tc.body), tc.code, tc.field)
		if e.dump() != before {
			t.Fatalf("%s %s changed the database", tc.method, tc.path)
		}
	}
	e.want(e.do("DELETE", "/subscribers/"+imsiOf(1), ""), http.StatusNoContent, "")
	e.want(e.do("DELETE", "/apns/corp", ""), http.StatusNoContent, "")
}

func TestCapabilitySets(t *testing.T) {
	e := newEnv(t)
	set := `{"name":"gold","mandatory":[1,2],"optional":[3],"server_names":["sip:scscf.example:6060"]}`
	e.want(e.do("POST", "/scscf-capabilities", set), http.StatusCreated, "")
	e.want(e.do("POST", "/scscf-capabilities", set), http.StatusConflict, "name")
	e.want(e.do("PUT", "/scscf-capabilities/gold", `{"mandatory":[5]}`), http.StatusOK, "")
	r := e.do("GET", "/scscf-capabilities/gold", "")
	if v := r.json(t); fmt.Sprint(v["mandatory"]) != "[5]" || fmt.Sprint(v["server_names"]) != "[]" {
		t.Fatalf("GET %s", r.body)
	}
	if r := e.do("GET", "/scscf-capabilities", ""); len(r.json(t)["scscf_capabilities"].([]any)) != 1 {
		t.Fatalf("list %s", r.body)
	}
	e.want(e.do("POST", "/subscribers", strings.Replace(body(1), `"impus"`, `"capability_set":"gold","impus"`, 1)), http.StatusCreated, "")
	before := e.dump()
	for _, tc := range []struct {
		method, path, body string
		code               int
		field              string
	}{
		{"PUT", "/scscf-capabilities/gold", `{"server_names":["scscf"]}`, 400, "server_names[0]"},
		{"PUT", "/scscf-capabilities/gold", `{"mandatory":[-1]}`, 400, "mandatory"},
		{"PUT", "/scscf-capabilities/nope", `{}`, 404, ""},
		{"POST", "/scscf-capabilities", `{"name":""}`, 400, "name"},
		{"DELETE", "/scscf-capabilities/gold", "", 409, ""},
		{"DELETE", "/scscf-capabilities/nope", "", 404, ""},
		{"GET", "/scscf-capabilities/nope", "", 404, ""},
	} {
		e.want(e.do(tc.method, tc.path, tc.body), tc.code, tc.field)
		if e.dump() != before {
			t.Fatalf("%s %s changed the database", tc.method, tc.path)
		}
	}
	e.want(e.do("DELETE", "/subscribers/"+imsiOf(1), ""), http.StatusNoContent, "")
	e.want(e.do("DELETE", "/scscf-capabilities/gold", ""), http.StatusNoContent, "")
}
