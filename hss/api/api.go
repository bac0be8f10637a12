// Package api is the HSS REST provisioning API (v1, CONTRACT.md): subscribers, iFC sets, APN
// profiles and S-CSCF capability sets over the store, mounted on the node's admin server.
package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/imscore/imscore/hss/store"
)

// Base is the path every route lives under.
const Base = "/api/v1"

// ReasonCode is the Reason-Code of a Deregistration-Reason (TS 29.229 6.3.17).
type ReasonCode uint32

const (
	ReasonPermanentTermination ReasonCode = 0
	ReasonNewServerAssigned    ReasonCode = 1
	ReasonServerChange         ReasonCode = 2
	ReasonRemoveSCSCF          ReasonCode = 3
)

// DeregistrationReason is what an RTR tells the S-CSCF (TS 29.229 6.3.16).
type DeregistrationReason struct {
	Code ReasonCode
	// Info is the Reason-Info text for the user, may be empty.
	Info string
}

// Notifier tells the serving nodes about changes the API made. The HSS's Diameter server
// implements it; every method returns once the peer answered (or failed to).
type Notifier interface {
	// Deregister sends an RTR for the private identity to its S-CSCF (TS 29.228 6.1.3).
	Deregister(ctx context.Context, impi string, reason DeregistrationReason) error
	// ProfileChanged sends a PPR with the new user data to the S-CSCF of impi (TS 29.228 6.1.4).
	ProfileChanged(ctx context.Context, impi string) error
	// SubscriptionChanged sends an IDR with the new subscription data to the MME serving imsi
	// (TS 29.272 5.2.2.1).
	SubscriptionChanged(ctx context.Context, imsi string) error
}

// NopNotifier is a Notifier that tells nobody.
type NopNotifier struct{}

func (NopNotifier) Deregister(context.Context, string, DeregistrationReason) error { return nil }
func (NopNotifier) ProfileChanged(context.Context, string) error                   { return nil }
func (NopNotifier) SubscriptionChanged(context.Context, string) error              { return nil }

// API serves the REST API.
type API struct {
	store    store.Store
	notifier Notifier
	// tokenHash is the SHA-256 of the bearer token; nil when no token is configured and every
	// request is refused.
	tokenHash []byte
	log       *slog.Logger
}

// New returns the API over st. Every request must carry "Authorization: Bearer <token>"; with an
// empty token the API refuses every request.
func New(st store.Store, notifier Notifier, token string, log *slog.Logger) *API {
	a := &API{store: st, notifier: notifier, log: log}
	if token != "" {
		h := sha256.Sum256([]byte(token))
		a.tokenHash = h[:]
	}
	return a
}

// Routes mounts the API under /api/v1 of r, e.g. adminServer.Routes(api.Routes).
func (a *API) Routes(r gin.IRouter) {
	g := r.Group(Base, a.authenticate)
	g.GET("/openapi.json", a.openAPI)
	g.GET("/docs", a.docs)

	g.GET("/subscribers", a.listSubscribers)
	g.POST("/subscribers", a.createSubscriber)
	g.POST("/subscribers/import", a.importSubscribers)
	g.GET("/subscribers/export", a.exportSubscribers)
	g.GET("/subscribers/:imsi", a.getSubscriber)
	g.PUT("/subscribers/:imsi", a.updateSubscriber)
	g.DELETE("/subscribers/:imsi", a.deleteSubscriber)
	g.POST("/subscribers/:imsi/deregister", a.deregister)
	g.PUT("/subscribers/:imsi/sqn", a.setSQN)

	g.GET("/ifc-sets", a.listIFCSets)
	g.POST("/ifc-sets", a.createIFCSet)
	g.GET("/ifc-sets/:name", a.getIFCSet)
	g.PUT("/ifc-sets/:name", a.updateIFCSet)
	g.DELETE("/ifc-sets/:name", a.deleteIFCSet)

	a.apns().routes(a, g)
	a.capabilitySets().routes(a, g)
}

// authenticate checks the bearer token. Both sides are hashed first so that the comparison
// takes the same time whatever the length and content of the offered token.
func (a *API) authenticate(c *gin.Context) {
	offered, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	h := sha256.Sum256([]byte(offered))
	if !ok || a.tokenHash == nil || subtle.ConstantTimeCompare(h[:], a.tokenHash) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="hss"`)
		a.fail(c, errUnauthorized)
		c.Abort()
		return
	}
	c.Next()
}

// Errors of the HTTP layer; the store's errors are the others fail maps.
var (
	errUnauthorized = errors.New("missing or wrong bearer token")
	errMediaType    = errors.New("unsupported Content-Type")
	// errNotify: the change is stored but the serving node did not confirm it.
	errNotify = errors.New("notifying the serving node failed")
)

// errorBody is every error response: {"error": "...", "field": "..."}, and for an import the
// rejected lines.
type errorBody struct {
	Error  string      `json:"error"`
	Field  string      `json:"field,omitempty"`
	Errors []lineError `json:"errors,omitempty"`
}

// fail writes err as the error response. It is the one place that maps errors to HTTP statuses.
func (a *API) fail(c *gin.Context, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, errUnauthorized):
		status = http.StatusUnauthorized
	case errors.Is(err, errMediaType):
		status = http.StatusUnsupportedMediaType
	case errors.Is(err, store.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInUse):
		status = http.StatusConflict
	case errors.Is(err, errNotify):
		status = http.StatusBadGateway
	}
	body := errorBody{Error: err.Error()}
	var fe *store.FieldError
	var ie *importError
	switch {
	case errors.As(err, &ie):
		body.Errors = ie.lines // each line names its field
	case errors.As(err, &fe):
		body.Field = fe.Field
	}
	if status == http.StatusInternalServerError {
		a.log.Error("hss api", "http_method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		body = errorBody{Error: "internal error"}
	}
	c.JSON(status, body)
}

// maxBody bounds a request body; imports get maxImport.
const (
	maxBody   = 1 << 20
	maxImport = 64 << 20
)

// decode reads one JSON object strictly: unknown fields and trailing data are errors that name
// the field, so a typo ("opc " for "opc") is not silently ignored.
func decode(c *gin.Context, v any) error {
	return decodeFrom(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody), v)
}

func decodeFrom(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return &store.FieldError{Msg: "reading the body: " + err.Error(), Err: store.ErrInvalid}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return jsonError(err, data, reflect.TypeOf(v))
	}
	if d.More() {
		return &store.FieldError{Msg: "malformed JSON: data after the object", Err: store.ErrInvalid}
	}
	return nil
}

// jsonError names the field of a JSON decoding error: encoding/json reports the path of a type
// error but only the name of an unknown field, whose path unknownField finds.
func jsonError(err error, data []byte, t reflect.Type) error {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return &store.FieldError{Field: te.Field, Msg: fmt.Sprintf("must be a JSON %s", jsonType(te.Type.Kind().String())), Err: store.ErrInvalid}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		var doc any
		if json.Unmarshal(data, &doc) == nil {
			if path := unknownField(doc, t, ""); path != "" {
				return &store.FieldError{Field: path, Msg: "unknown field", Err: store.ErrInvalid}
			}
		}
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &store.FieldError{Field: field, Msg: "unknown field", Err: store.ErrInvalid}
	}
	return &store.FieldError{Msg: "malformed JSON: " + err.Error(), Err: store.ErrInvalid}
}

// unknownField returns the dotted path of the first key of doc that type t has no field for.
func unknownField(doc any, t reflect.Type, prefix string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := doc.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return ""
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				return path
			}
			if p := unknownField(v[k], ft, path); p != "" {
				return p
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return ""
		}
		for i, e := range v {
			if p := unknownField(e, t.Elem(), fmt.Sprintf("%s[%d]", prefix, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "number in range"
	case kind == "slice":
		return "array"
	case kind == "struct", kind == "map", kind == "ptr":
		return "object"
	}
	return kind
}

// notification is a message to a serving node after a change was stored.
type notification struct {
	what string // "PPR", "IDR", "RTR"
	id   string // the IMPI or IMSI
	send func(context.Context) error
}

// notifyAll sends the notifications. A failure does not undo the stored change: it is logged
// and returned as a warning for the response, so an operator can retry.
func (a *API) notifyAll(c *gin.Context, ns []notification) []string {
	var warnings []string
	for _, n := range ns {
		if err := n.send(c.Request.Context()); err != nil {
			a.log.Warn("hss api: notification failed", "notification", n.what, "id", n.id, "err", err)
			warnings = append(warnings, fmt.Sprintf("%s for %s failed: %v", n.what, n.id, err))
		}
	}
	return warnings
}
