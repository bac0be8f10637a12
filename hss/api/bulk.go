package api

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/imscore/imscore/hss/store"
)

// Bulk import and export of subscribers, as JSON lines (one POST /subscribers body per line) or
// CSV (the columns below; public identities and APNs space-separated; barring, implicit
// registration sets and charging addresses need JSON lines).
//
// Import is all-or-nothing: every line is checked first and all bad lines are reported
// together; then all subscribers are written in one transaction, so a conflict with the
// database (an IMSI that exists) rejects the whole file and names its line.

const (
	mediaJSONLines = "application/x-ndjson"
	mediaCSV       = "text/csv"
	exportPage     = 500
)

// jsonLinesTypes are the names clients use for JSON lines.
var jsonLinesTypes = map[string]bool{mediaJSONLines: true, "application/jsonl": true, "application/x-jsonlines": true}

var csvColumns = []string{"imsi", "msisdn", "enabled", "algorithm", "k", "op", "opc", "amf", "sqn", "password",
	"impi", "impus", "ifc_set", "capability_set", "apns", "ambr_ul", "ambr_dl"}

// lineError is one rejected line of an import.
type lineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// importError rejects a whole import; err carries the kind (invalid or conflict).
type importError struct {
	lines []lineError
	err   error
}

func (e *importError) Error() string {
	return fmt.Sprintf("import rejected, nothing was imported: %d line(s) with errors", len(e.lines))
}

func (e *importError) Unwrap() error { return e.err }

func newLineError(line int, err error) lineError {
	le := lineError{Line: line, Error: err.Error()}
	var fe *store.FieldError
	if errors.As(err, &fe) {
		le.Field = fe.Field
		le.Error = fe.Msg
	}
	return le
}

// parsed is one subscriber read from an import and the line it came from.
type parsed struct {
	line int
	sub  *store.Subscriber
}

func (a *API) importSubscribers(c *gin.Context) {
	media, _, _ := mime.ParseMediaType(c.ContentType())
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxImport)
	var (
		recs []parsed
		bad  []lineError
		err  error
	)
	switch {
	case media == mediaCSV:
		recs, bad, err = readCSV(body)
	case jsonLinesTypes[media]:
		recs, bad, err = readJSONLines(body)
	default:
		err = fmt.Errorf("%w %q: send %s or %s", errMediaType, media, mediaJSONLines, mediaCSV)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	bad = append(bad, duplicates(recs)...)
	if len(bad) > 0 {
		a.fail(c, &importError{lines: bad, err: store.ErrInvalid})
		return
	}
	if len(recs) == 0 {
		a.fail(c, &store.FieldError{Msg: "no subscribers in the body", Err: store.ErrInvalid})
		return
	}
	subs := make([]*store.Subscriber, len(recs))
	for i, r := range recs {
		subs[i] = r.sub
	}
	err = a.store.CreateSubscribers(c.Request.Context(), subs...)
	var be *store.BatchError
	if errors.As(err, &be) {
		a.fail(c, &importError{lines: []lineError{newLineError(recs[be.Index].line, be.Err)}, err: be.Err})
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"imported": len(subs)})
}

// check converts and validates one record.
func check(line int, j *subscriberJSON) (parsed, error) {
	sub, err := j.toStore()
	if err == nil {
		err = sub.Validate(false)
	}
	return parsed{line: line, sub: sub}, err
}

func readJSONLines(r io.Reader) ([]parsed, []lineError, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxBody)
	var recs []parsed
	var bad []lineError
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var j subscriberJSON
		if err := decodeFrom(strings.NewReader(text), &j); err != nil {
			bad = append(bad, newLineError(line, err))
			continue
		}
		p, err := check(line, &j)
		if err != nil {
			bad = append(bad, newLineError(line, err))
			continue
		}
		recs = append(recs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, &store.FieldError{Msg: "reading the body: " + err.Error(), Err: store.ErrInvalid}
	}
	return recs, bad, nil
}

func readCSV(r io.Reader) ([]parsed, []lineError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, nil, &store.FieldError{Msg: "CSV header: " + err.Error(), Err: store.ErrInvalid}
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.TrimSpace(name)
		if !slices.Contains(csvColumns, name) {
			return nil, nil, &store.FieldError{Field: name, Msg: "unknown CSV column; known: " + strings.Join(csvColumns, ","), Err: store.ErrInvalid}
		}
		col[name] = i
	}
	if _, ok := col["imsi"]; !ok {
		return nil, nil, &store.FieldError{Field: "imsi", Msg: "the CSV header needs an imsi column", Err: store.ErrInvalid}
	}
	var recs []parsed
	var bad []lineError
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			bad = append(bad, lineError{Line: line, Error: err.Error()})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		j, err := csvRecord(get)
		if err != nil {
			bad = append(bad, newLineError(line, err))
			continue
		}
		p, err := check(line, j)
		if err != nil {
			bad = append(bad, newLineError(line, err))
			continue
		}
		recs = append(recs, p)
	}
	return recs, bad, nil
}

// csvRecord builds the JSON form of one CSV row.
func csvRecord(get func(string) string) (*subscriberJSON, error) {
	j := &subscriberJSON{IMSI: get("imsi"), MSISDN: get("msisdn"), APNs: strings.Fields(get("apns")),
		Auth: authJSON{K: get("k"), OP: get("op"), OPc: get("opc"), AMF: get("amf"), Algorithm: get("algorithm"), Password: get("password")}}
	if s := get("enabled"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, &store.FieldError{Field: "enabled", Msg: "must be true or false", Err: store.ErrInvalid}
		}
		j.Enabled = &b
	}
	var err error
	if j.Auth.SQN, err = csvUint(get, "sqn", "auth.sqn"); err != nil {
		return nil, err
	}
	ul, err := csvUint(get, "ambr_ul", "ambr.ul")
	if err != nil {
		return nil, err
	}
	dl, err := csvUint(get, "ambr_dl", "ambr.dl")
	if err != nil {
		return nil, err
	}
	if ul != nil || dl != nil {
		j.AMBR = &ambrJSON{}
		if ul != nil {
			j.AMBR.UL = *ul
		}
		if dl != nil {
			j.AMBR.DL = *dl
		}
	}
	if impi := get("impi"); impi != "" {
		j.IMS = &imsJSON{IMPI: impi, IFCSet: get("ifc_set"), CapabilitySet: get("capability_set")}
		for _, uri := range strings.Fields(get("impus")) {
			j.IMS.IMPUs = append(j.IMS.IMPUs, impuJSON{URI: uri})
		}
	}
	return j, nil
}

// csvUint reads an optional number column; field names it in errors.
func csvUint(get func(string) string, column, field string) (*uint64, error) {
	s := get(column)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, &store.FieldError{Field: field, Msg: "must be a non-negative integer", Err: store.ErrInvalid}
	}
	return &v, nil
}

// duplicates reports identities given twice in one import (the database would refuse the
// second in the middle of the transaction; this names every such line up front).
func duplicates(recs []parsed) []lineError {
	var bad []lineError
	seen := map[string]int{}
	claim := func(line int, field, kind, id string) {
		if id == "" {
			return
		}
		if first, ok := seen[kind+" "+id]; ok {
			bad = append(bad, lineError{Line: line, Field: field, Error: fmt.Sprintf("%s %s already on line %d", kind, id, first)})
			return
		}
		seen[kind+" "+id] = line
	}
	for _, r := range recs {
		claim(r.line, "imsi", "IMSI", r.sub.IMSI)
		claim(r.line, "msisdn", "MSISDN", r.sub.MSISDN)
		if ims := r.sub.IMS; ims != nil {
			claim(r.line, "ims.impi", "IMPI", ims.IMPI)
			for i, u := range ims.IMPUs {
				claim(r.line, fmt.Sprintf("ims.impus[%d]", i), "IMPU", u.URI)
			}
		}
	}
	return bad
}

// exportSubscribers writes every subscriber as JSON lines (default) or CSV (format=csv or
// Accept: text/csv). K, OP, OPc and passwords are left out unless include_secrets=true: an
// export meant for re-import (backup, migration) needs them, a report does not. Pages are read
// one after another, not in one snapshot.
func (a *API) exportSubscribers(c *gin.Context) {
	format := c.Query("format")
	if format == "" {
		format = "jsonl"
		if c.NegotiateFormat(mediaJSONLines, mediaCSV) == mediaCSV {
			format = "csv"
		}
	}
	if format != "jsonl" && format != "csv" {
		a.fail(c, &store.FieldError{Field: "format", Msg: "must be jsonl or csv", Err: store.ErrInvalid})
		return
	}
	secrets, err := strconv.ParseBool(c.DefaultQuery("include_secrets", "false"))
	if err != nil {
		a.fail(c, &store.FieldError{Field: "include_secrets", Msg: "must be true or false", Err: store.ErrInvalid})
		return
	}
	ctx := c.Request.Context()
	page, _, err := a.store.ListSubscribers(ctx, 0, exportPage)
	if err != nil {
		a.fail(c, err)
		return
	}
	var write func(subscriberJSON) error
	var flush func() error
	if format == "csv" {
		c.Header("Content-Type", mediaCSV+"; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="subscribers.csv"`)
		w := csv.NewWriter(c.Writer)
		if err := w.Write(csvColumns); err != nil {
			return
		}
		write = func(j subscriberJSON) error { return w.Write(csvRow(&j)) }
		flush = func() error { w.Flush(); return w.Error() }
	} else {
		c.Header("Content-Type", mediaJSONLines)
		c.Header("Content-Disposition", `attachment; filename="subscribers.jsonl"`)
		enc := json.NewEncoder(c.Writer)
		write = func(j subscriberJSON) error { return enc.Encode(j) }
		flush = func() error { return nil }
	}
	c.Status(http.StatusOK)
	for offset := 0; len(page) > 0; {
		for _, s := range page {
			if err := write(record(s, secrets)); err != nil {
				return // the client went away
			}
		}
		if len(page) < exportPage {
			break
		}
		offset += len(page)
		if page, _, err = a.store.ListSubscribers(ctx, offset, exportPage); err != nil {
			// The status is sent; cut the body short so the client sees a broken transfer.
			a.log.Error("hss api: export", "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	if err := flush(); err != nil {
		a.log.Warn("hss api: export", "err", err)
	}
}

func csvRow(j *subscriberJSON) []string {
	row := make([]string, len(csvColumns))
	set := func(name, v string) { row[slices.Index(csvColumns, name)] = v }
	set("imsi", j.IMSI)
	set("msisdn", j.MSISDN)
	set("enabled", strconv.FormatBool(j.Enabled == nil || *j.Enabled))
	set("algorithm", j.Auth.Algorithm)
	set("k", j.Auth.K)
	set("op", j.Auth.OP)
	set("opc", j.Auth.OPc)
	set("amf", j.Auth.AMF)
	if j.Auth.SQN != nil {
		set("sqn", strconv.FormatUint(*j.Auth.SQN, 10))
	}
	set("password", j.Auth.Password)
	set("apns", strings.Join(j.APNs, " "))
	if j.AMBR != nil {
		set("ambr_ul", strconv.FormatUint(j.AMBR.UL, 10))
		set("ambr_dl", strconv.FormatUint(j.AMBR.DL, 10))
	}
	if j.IMS != nil {
		set("impi", j.IMS.IMPI)
		uris := make([]string, len(j.IMS.IMPUs))
		for i, u := range j.IMS.IMPUs {
			uris[i] = u.URI
		}
		set("impus", strings.Join(uris, " "))
		set("ifc_set", j.IMS.IFCSet)
		set("capability_set", j.IMS.CapabilitySet)
	}
	return row
}
