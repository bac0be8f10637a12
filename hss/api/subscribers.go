package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/imscore/imscore/hss/store"
)

// subscriberJSON is a subscriber as clients write it (POST, PUT, import) and as export writes it.
type subscriberJSON struct {
	IMSI    string    `json:"imsi"`
	MSISDN  string    `json:"msisdn,omitempty"`
	Enabled *bool     `json:"enabled,omitempty"`
	Auth    authJSON  `json:"auth"`
	IMS     *imsJSON  `json:"ims,omitempty"`
	APNs    []string  `json:"apns,omitempty"`
	AMBR    *ambrJSON `json:"ambr,omitempty"`
}

type authJSON struct {
	K         string  `json:"k,omitempty"`
	OP        string  `json:"op,omitempty"`
	OPc       string  `json:"opc,omitempty"`
	AMF       string  `json:"amf,omitempty"`
	SQN       *uint64 `json:"sqn,omitempty"`
	Algorithm string  `json:"algorithm,omitempty"`
	Password  string  `json:"password,omitempty"`
}

type imsJSON struct {
	IMPI          string        `json:"impi"`
	IMPUs         []impuJSON    `json:"impus"`
	IFCSet        string        `json:"ifc_set,omitempty"`
	CapabilitySet string        `json:"capability_set,omitempty"`
	Charging      *chargingJSON `json:"charging,omitempty"`
}

// impuJSON is a public identity: a plain URI string, or an object for barring, the implicit
// registration set and the default flag.
type impuJSON struct {
	URI     string `json:"uri"`
	Barred  bool   `json:"barred,omitempty"`
	IRS     string `json:"irs,omitempty"`
	Default bool   `json:"default,omitempty"`
}

func (u *impuJSON) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &u.URI)
	}
	type plain impuJSON
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode((*plain)(u))
}

type chargingJSON struct {
	CCFPrimary   string `json:"ccf_primary,omitempty"`
	CCFSecondary string `json:"ccf_secondary,omitempty"`
	ECFPrimary   string `json:"ecf_primary,omitempty"`
	ECFSecondary string `json:"ecf_secondary,omitempty"`
}

type ambrJSON struct {
	UL uint64 `json:"ul"`
	DL uint64 `json:"dl"`
}

// hexField decodes a hex field of n bytes; the empty string is absent (nil).
func hexField(field, s string, n int) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != n {
		return nil, &store.FieldError{Field: field, Msg: fmt.Sprintf("must be %d hex digits", 2*n), Err: store.ErrInvalid}
	}
	return b, nil
}

// toStore converts to the store's subscriber. Defaults: enabled, algorithm milenage, AMF 8000
// (TS 33.102 Annex H: the separation bit E-UTRAN needs), SQN 0 on creation.
func (j *subscriberJSON) toStore() (*store.Subscriber, error) {
	s := &store.Subscriber{IMSI: j.IMSI, MSISDN: j.MSISDN, Enabled: j.Enabled == nil || *j.Enabled, APNs: j.APNs}
	if j.AMBR != nil {
		s.AMBRUL, s.AMBRDL = j.AMBR.UL, j.AMBR.DL
	}
	a := &s.Auth
	var err error
	if a.K, err = hexField("auth.k", j.Auth.K, 16); err != nil {
		return nil, err
	}
	if a.OP, err = hexField("auth.op", j.Auth.OP, 16); err != nil {
		return nil, err
	}
	if a.OPc, err = hexField("auth.opc", j.Auth.OPc, 16); err != nil {
		return nil, err
	}
	amf := j.Auth.AMF
	if amf == "" {
		amf = "8000"
	}
	if a.AMF, err = hexField("auth.amf", amf, 2); err != nil {
		return nil, err
	}
	if j.Auth.SQN != nil {
		a.SQN = *j.Auth.SQN
	}
	a.Algorithm = store.Algorithm(j.Auth.Algorithm)
	if a.Algorithm == "" {
		a.Algorithm = store.AlgorithmMilenage
	}
	a.Password = j.Auth.Password
	if j.IMS != nil {
		ims := &store.IMS{IMPI: j.IMS.IMPI, IFCSet: j.IMS.IFCSet, CapabilitySet: j.IMS.CapabilitySet}
		for _, u := range j.IMS.IMPUs {
			ims.IMPUs = append(ims.IMPUs, store.IMPU{URI: u.URI, Barred: u.Barred, IRS: u.IRS, Default: u.Default})
		}
		if c := j.IMS.Charging; c != nil {
			ims.Charging = store.Charging{CCFPrimary: c.CCFPrimary, CCFSecondary: c.CCFSecondary,
				ECFPrimary: c.ECFPrimary, ECFSecondary: c.ECFSecondary}
		}
		s.IMS = ims
	}
	return s, nil
}

// record is the export form of s: what import reads back. Keys are included only with secrets.
func record(s *store.Subscriber, secrets bool) subscriberJSON {
	enabled := s.Enabled
	sqn := s.Auth.SQN
	j := subscriberJSON{IMSI: s.IMSI, MSISDN: s.MSISDN, Enabled: &enabled, APNs: s.APNs,
		Auth: authJSON{AMF: hex.EncodeToString(s.Auth.AMF), SQN: &sqn, Algorithm: string(s.Auth.Algorithm)}}
	if s.AMBRUL != 0 || s.AMBRDL != 0 {
		j.AMBR = &ambrJSON{UL: s.AMBRUL, DL: s.AMBRDL}
	}
	if secrets {
		j.Auth.K, j.Auth.OP, j.Auth.OPc = hex.EncodeToString(s.Auth.K), hex.EncodeToString(s.Auth.OP), hex.EncodeToString(s.Auth.OPc)
		j.Auth.Password = s.Auth.Password
	}
	if s.IMS != nil {
		j.IMS = &imsJSON{IMPI: s.IMS.IMPI, IFCSet: s.IMS.IFCSet, CapabilitySet: s.IMS.CapabilitySet, Charging: charging(s.IMS.Charging)}
		for _, u := range s.IMS.IMPUs {
			j.IMS.IMPUs = append(j.IMS.IMPUs, impuJSON{URI: u.URI, Barred: u.Barred, IRS: u.IRS, Default: u.Default})
		}
	}
	return j
}

func charging(c store.Charging) *chargingJSON {
	if c == (store.Charging{}) {
		return nil
	}
	return &chargingJSON{CCFPrimary: c.CCFPrimary, CCFSecondary: c.CCFSecondary, ECFPrimary: c.ECFPrimary, ECFSecondary: c.ECFSecondary}
}

// subscriberView is a subscriber as the API returns it: K, OP, OPc and the password are
// write-only and shown only as set or not.
type subscriberView struct {
	IMSI      string    `json:"imsi"`
	MSISDN    string    `json:"msisdn,omitempty"`
	Enabled   bool      `json:"enabled"`
	Auth      authView  `json:"auth"`
	IMS       *imsView  `json:"ims,omitempty"`
	APNs      []string  `json:"apns"`
	AMBR      ambrJSON  `json:"ambr"`
	MME       *mmeView  `json:"mme,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Warnings lists notifications to serving nodes that failed after the change was stored.
	Warnings []string `json:"warnings,omitempty"`
}

type authView struct {
	KSet        bool   `json:"k_set"`
	OPSet       bool   `json:"op_set"`
	OPcSet      bool   `json:"opc_set"`
	PasswordSet bool   `json:"password_set"`
	AMF         string `json:"amf"`
	SQN         uint64 `json:"sqn"`
	Algorithm   string `json:"algorithm"`
}

type imsView struct {
	IMPI          string        `json:"impi"`
	IMPUs         []impuView    `json:"impus"`
	IFCSet        string        `json:"ifc_set,omitempty"`
	CapabilitySet string        `json:"capability_set,omitempty"`
	Charging      *chargingJSON `json:"charging,omitempty"`
	SCSCF         string        `json:"scscf,omitempty"`
}

type impuView struct {
	URI     string `json:"uri"`
	Barred  bool   `json:"barred"`
	IRS     string `json:"irs"`
	Default bool   `json:"default"`
	State   string `json:"state"`
	SCSCF   string `json:"scscf,omitempty"`
}

type mmeView struct {
	Host  string `json:"host"`
	Realm string `json:"realm"`
}

func view(s *store.Subscriber) subscriberView {
	v := subscriberView{IMSI: s.IMSI, MSISDN: s.MSISDN, Enabled: s.Enabled, APNs: s.APNs,
		AMBR: ambrJSON{UL: s.AMBRUL, DL: s.AMBRDL}, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		Auth: authView{KSet: s.Auth.K != nil, OPSet: s.Auth.OP != nil, OPcSet: s.Auth.OPc != nil,
			PasswordSet: s.Auth.Password != "", AMF: hex.EncodeToString(s.Auth.AMF), SQN: s.Auth.SQN,
			Algorithm: string(s.Auth.Algorithm)}}
	if v.APNs == nil {
		v.APNs = []string{}
	}
	if s.MMEHost != "" {
		v.MME = &mmeView{Host: s.MMEHost, Realm: s.MMERealm}
	}
	if s.IMS != nil {
		v.IMS = &imsView{IMPI: s.IMS.IMPI, IFCSet: s.IMS.IFCSet, CapabilitySet: s.IMS.CapabilitySet,
			Charging: charging(s.IMS.Charging), SCSCF: s.IMS.SCSCFName, IMPUs: []impuView{}}
		for _, u := range s.IMS.IMPUs {
			v.IMS.IMPUs = append(v.IMS.IMPUs, impuView{URI: u.URI, Barred: u.Barred, IRS: u.IRS,
				Default: u.Default, State: string(u.State), SCSCF: u.SCSCFName})
		}
	}
	return v
}

// Pagination of GET /subscribers.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

func queryInt(c *gin.Context, name string, def, max int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, &store.FieldError{Field: name, Msg: fmt.Sprintf("must be an integer 0..%d", max), Err: store.ErrInvalid}
	}
	return n, nil
}

func (a *API) listSubscribers(c *gin.Context) {
	limit, err := queryInt(c, "limit", defaultLimit, maxLimit)
	if err != nil {
		a.fail(c, err)
		return
	}
	offset, err := queryInt(c, "offset", 0, 1<<31-1)
	if err != nil {
		a.fail(c, err)
		return
	}
	subs, total, err := a.store.ListSubscribers(c.Request.Context(), offset, limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	views := make([]subscriberView, len(subs))
	for i, s := range subs {
		views[i] = view(s)
	}
	c.JSON(http.StatusOK, gin.H{"subscribers": views, "total": total, "limit": limit, "offset": offset})
}

func (a *API) createSubscriber(c *gin.Context) {
	var j subscriberJSON
	if err := decode(c, &j); err != nil {
		a.fail(c, err)
		return
	}
	sub, err := j.toStore()
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.store.CreateSubscribers(c.Request.Context(), sub); err != nil {
		a.fail(c, err)
		return
	}
	a.respondSubscriber(c, http.StatusCreated, sub.IMSI, nil)
}

// respondSubscriber answers with the subscriber as now stored.
func (a *API) respondSubscriber(c *gin.Context, status int, imsi string, warnings []string) {
	sub, err := a.store.Subscriber(c.Request.Context(), imsi)
	if err != nil {
		a.fail(c, err)
		return
	}
	v := view(sub)
	v.Warnings = warnings
	if status == http.StatusCreated {
		c.Header("Location", Base+"/subscribers/"+imsi)
	}
	c.JSON(status, v)
}

func (a *API) getSubscriber(c *gin.Context) {
	a.respondSubscriber(c, http.StatusOK, c.Param("imsi"), nil)
}

// updateSubscriber replaces a subscriber. K, OP/OPc and the password are kept when absent (they
// are never returned, so a GET-modify-PUT cannot resend them); the SQN only changes when given.
// A registered subscriber's S-CSCF gets a PPR, or an RTR when its private identity went away;
// the serving MME gets an IDR.
func (a *API) updateSubscriber(c *gin.Context) {
	imsi := c.Param("imsi")
	var j subscriberJSON
	if err := decode(c, &j); err != nil {
		a.fail(c, err)
		return
	}
	if j.IMSI == "" {
		j.IMSI = imsi
	}
	if j.IMSI != imsi {
		a.fail(c, &store.FieldError{Field: "imsi", Msg: "differs from the IMSI of the URL", Err: store.ErrInvalid})
		return
	}
	sub, err := j.toStore()
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	before, err := a.store.Subscriber(ctx, imsi)
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.store.UpdateSubscriber(ctx, sub, j.Auth.SQN != nil); err != nil {
		a.fail(c, err)
		return
	}
	var ns []notification
	if old := before.IMS; old != nil && old.SCSCFName != "" {
		if sub.IMS == nil || sub.IMS.IMPI != old.IMPI {
			ns = append(ns, a.rtr(old.IMPI, DeregistrationReason{Code: ReasonPermanentTermination, Info: "subscription changed"}))
		} else {
			ns = append(ns, a.ppr(old.IMPI))
		}
	}
	if before.MMEHost != "" {
		ns = append(ns, notification{"IDR", imsi, func(ctx context.Context) error { return a.notifier.SubscriptionChanged(ctx, imsi) }})
	}
	a.respondSubscriber(c, http.StatusOK, imsi, a.notifyAll(c, ns))
}

func (a *API) ppr(impi string) notification {
	return notification{"PPR", impi, func(ctx context.Context) error { return a.notifier.ProfileChanged(ctx, impi) }}
}

func (a *API) rtr(impi string, reason DeregistrationReason) notification {
	return notification{"RTR", impi, func(ctx context.Context) error { return a.notifier.Deregister(ctx, impi, reason) }}
}

// deleteSubscriber removes a subscriber; a registered one is first de-registered at its S-CSCF
// (TS 29.228 6.1.3, PERMANENT_TERMINATION).
func (a *API) deleteSubscriber(c *gin.Context) {
	imsi := c.Param("imsi")
	ctx := c.Request.Context()
	sub, err := a.store.Subscriber(ctx, imsi)
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.store.DeleteSubscriber(ctx, imsi); err != nil {
		a.fail(c, err)
		return
	}
	var ns []notification
	if sub.IMS != nil && sub.IMS.SCSCFName != "" {
		ns = append(ns, a.rtr(sub.IMS.IMPI, DeregistrationReason{Code: ReasonPermanentTermination, Info: "subscription removed"}))
	}
	if warnings := a.notifyAll(c, ns); len(warnings) > 0 {
		c.JSON(http.StatusOK, gin.H{"warnings": warnings})
		return
	}
	c.Status(http.StatusNoContent)
}

// deregisterRequest is the optional body of POST /subscribers/{imsi}/deregister.
type deregisterRequest struct {
	Reason string `json:"reason"`
	Info   string `json:"info"`
}

var reasonCodes = map[string]ReasonCode{
	"permanent_termination": ReasonPermanentTermination,
	"new_server_assigned":   ReasonNewServerAssigned,
	"server_change":         ReasonServerChange,
	"remove_scscf":          ReasonRemoveSCSCF,
}

// deregister sends an RTR for the subscriber's private identity (TS 29.228 6.1.3) and, once the
// S-CSCF confirmed it, records every public identity as not registered.
func (a *API) deregister(c *gin.Context) {
	req := deregisterRequest{Reason: "permanent_termination"}
	if c.Request.ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			a.fail(c, err)
			return
		}
	}
	code, ok := reasonCodes[req.Reason]
	if !ok {
		a.fail(c, &store.FieldError{Field: "reason", Msg: "must be permanent_termination, new_server_assigned, server_change or remove_scscf", Err: store.ErrInvalid})
		return
	}
	ctx := c.Request.Context()
	sub, err := a.store.Subscriber(ctx, c.Param("imsi"))
	if err != nil {
		a.fail(c, err)
		return
	}
	if sub.IMS == nil {
		a.fail(c, fmt.Errorf("subscriber %s has no IMS subscription: %w", sub.IMSI, store.ErrNotFound))
		return
	}
	if sub.IMS.SCSCFName == "" {
		a.fail(c, fmt.Errorf("%s has no S-CSCF assigned: %w", sub.IMS.IMPI, errNotRegistered))
		return
	}
	if err := a.notifier.Deregister(ctx, sub.IMS.IMPI, DeregistrationReason{Code: code, Info: req.Info}); err != nil {
		a.fail(c, fmt.Errorf("%w: RTR: %w", errNotify, err))
		return
	}
	reg := store.Registration{IMPI: sub.IMS.IMPI, State: store.StateNotRegistered}
	for _, u := range sub.IMS.IMPUs {
		reg.IMPUs = append(reg.IMPUs, u.URI)
	}
	if err := a.store.SetRegistration(ctx, reg); err != nil {
		a.fail(c, err)
		return
	}
	a.respondSubscriber(c, http.StatusOK, sub.IMSI, nil)
}

// errNotRegistered: de-registering a subscriber that no S-CSCF serves.
var errNotRegistered = fmt.Errorf("not registered: %w", store.ErrConflict)

// sqnRequest is the body of PUT /subscribers/{imsi}/sqn.
type sqnRequest struct {
	SQN *uint64 `json:"sqn"`
}

// setSQN sets the last used SQN (the next vector uses SQN+1), e.g. 0 after a USIM swap.
func (a *API) setSQN(c *gin.Context) {
	var req sqnRequest
	if err := decode(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if req.SQN == nil {
		a.fail(c, &store.FieldError{Field: "sqn", Msg: "is required", Err: store.ErrInvalid})
		return
	}
	if err := a.store.SetSQN(c.Request.Context(), c.Param("imsi"), *req.SQN); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"sqn": *req.SQN})
}
