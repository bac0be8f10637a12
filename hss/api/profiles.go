package api

import (
	"context"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/imscore/imscore/hss/store"
)

// iFC sets, APN profiles and S-CSCF capability sets.

// checkName rejects a body whose name differs from the URL's, and fills an absent one.
func checkName(url string, body *string) error {
	if *body == "" {
		*body = url
	}
	if *body != url {
		return &store.FieldError{Field: "name", Msg: "differs from the name of the URL", Err: store.ErrInvalid}
	}
	return nil
}

type ifcSetJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	XML         string    `json:"xml"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

func ifcSetView(s *store.IFCSet) ifcSetJSON {
	return ifcSetJSON{Name: s.Name, Description: s.Description, XML: s.XML, UpdatedAt: s.UpdatedAt}
}

func (a *API) listIFCSets(c *gin.Context) {
	sets, err := a.store.ListIFCSets(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]ifcSetJSON, len(sets))
	for i, s := range sets {
		out[i] = ifcSetView(s)
	}
	c.JSON(http.StatusOK, gin.H{"ifc_sets": out})
}

func (a *API) createIFCSet(c *gin.Context) {
	var j ifcSetJSON
	if err := decode(c, &j); err != nil {
		a.fail(c, err)
		return
	}
	set := &store.IFCSet{Name: j.Name, Description: j.Description, XML: j.XML}
	if err := a.store.CreateIFCSet(c.Request.Context(), set); err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", Base+"/ifc-sets/"+set.Name)
	a.respondIFCSet(c, http.StatusCreated, set.Name, nil)
}

func (a *API) respondIFCSet(c *gin.Context, status int, name string, extra gin.H) {
	set, err := a.store.IFCSet(c.Request.Context(), name)
	if err != nil {
		a.fail(c, err)
		return
	}
	if extra == nil {
		c.JSON(status, ifcSetView(set))
		return
	}
	extra["ifc_set"] = ifcSetView(set)
	c.JSON(status, extra)
}

// getIFCSet answers JSON, or the bare XML document when the client accepts only XML.
func (a *API) getIFCSet(c *gin.Context) {
	if c.NegotiateFormat(gin.MIMEJSON, gin.MIMEXML, gin.MIMEXML2) == gin.MIMEJSON {
		a.respondIFCSet(c, http.StatusOK, c.Param("name"), nil)
		return
	}
	set, err := a.store.IFCSet(c.Request.Context(), c.Param("name"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Data(http.StatusOK, gin.MIMEXML+"; charset=utf-8", []byte(set.XML))
}

// updateIFCSet replaces an iFC set, from JSON or from a bare XML body (which keeps the
// description), then sends a PPR to the S-CSCF of every registered user of the set
// (TS 29.228 6.1.4): the iFCs are part of the user profile it holds.
func (a *API) updateIFCSet(c *gin.Context) {
	name := c.Param("name")
	ctx := c.Request.Context()
	var set *store.IFCSet
	media, _, _ := mime.ParseMediaType(c.ContentType())
	switch media {
	case gin.MIMEXML, gin.MIMEXML2:
		old, err := a.store.IFCSet(ctx, name)
		if err != nil {
			a.fail(c, err)
			return
		}
		doc, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
		if err != nil {
			a.fail(c, &store.FieldError{Field: "xml", Msg: err.Error(), Err: store.ErrInvalid})
			return
		}
		set = &store.IFCSet{Name: name, Description: old.Description, XML: string(doc)}
	default:
		var j ifcSetJSON
		if err := decode(c, &j); err != nil {
			a.fail(c, err)
			return
		}
		if err := checkName(name, &j.Name); err != nil {
			a.fail(c, err)
			return
		}
		set = &store.IFCSet{Name: name, Description: j.Description, XML: j.XML}
	}
	if err := a.store.UpdateIFCSet(ctx, set); err != nil {
		a.fail(c, err)
		return
	}
	impis, err := a.store.AssignedIMPIs(ctx, name)
	if err != nil {
		a.fail(c, err)
		return
	}
	ns := make([]notification, len(impis))
	for i, impi := range impis {
		ns[i] = a.ppr(impi)
	}
	extra := gin.H{"notified": append([]string{}, impis...)}
	if warnings := a.notifyAll(c, ns); len(warnings) > 0 {
		extra["warnings"] = warnings
	}
	a.respondIFCSet(c, http.StatusOK, name, extra)
}

func (a *API) deleteIFCSet(c *gin.Context) {
	if err := a.store.DeleteIFCSet(c.Request.Context(), c.Param("name")); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type apnJSON struct {
	Name                    string   `json:"name"`
	QCI                     uint8    `json:"qci"`
	ARPPriority             uint8    `json:"arp_priority"`
	PreemptionCapability    bool     `json:"preemption_capability"`
	PreemptionVulnerability bool     `json:"preemption_vulnerability"`
	AMBR                    ambrJSON `json:"ambr"`
	PDNType                 string   `json:"pdn_type"`
}

func (j *apnJSON) toStore() *store.APNProfile {
	return &store.APNProfile{Name: j.Name, QCI: j.QCI, ARPPriority: j.ARPPriority,
		PreemptionCapability: j.PreemptionCapability, PreemptionVulnerability: j.PreemptionVulnerability,
		AMBRUL: j.AMBR.UL, AMBRDL: j.AMBR.DL, PDNType: store.PDNType(j.PDNType)}
}

func apnView(p *store.APNProfile) apnJSON {
	return apnJSON{Name: p.Name, QCI: p.QCI, ARPPriority: p.ARPPriority, PreemptionCapability: p.PreemptionCapability,
		PreemptionVulnerability: p.PreemptionVulnerability, AMBR: ambrJSON{UL: p.AMBRUL, DL: p.AMBRDL}, PDNType: string(p.PDNType)}
}

type capabilitySetJSON struct {
	Name        string   `json:"name"`
	Mandatory   []uint32 `json:"mandatory"`
	Optional    []uint32 `json:"optional"`
	ServerNames []string `json:"server_names"`
}

func (j *capabilitySetJSON) toStore() *store.CapabilitySet {
	return &store.CapabilitySet{Name: j.Name, Mandatory: j.Mandatory, Optional: j.Optional, ServerNames: j.ServerNames}
}

func capabilitySetView(s *store.CapabilitySet) capabilitySetJSON {
	j := capabilitySetJSON{Name: s.Name, Mandatory: s.Mandatory, Optional: s.Optional, ServerNames: s.ServerNames}
	for _, list := range []*[]uint32{&j.Mandatory, &j.Optional} {
		if *list == nil {
			*list = []uint32{}
		}
	}
	if j.ServerNames == nil {
		j.ServerNames = []string{}
	}
	return j
}

// named is a provisioning resource kept by name (APN profiles, S-CSCF capability sets): its
// JSON form J, its store form S and the store calls the five CRUD routes use.
type named[J any, S any] struct {
	path, listKey string
	name          func(*J) *string
	toStore       func(*J) *S
	view          func(*S) J
	list          func(context.Context) ([]*S, error)
	get           func(context.Context, string) (*S, error)
	create        func(context.Context, *S) error
	update        func(context.Context, *S) error
	remove        func(context.Context, string) error
}

// routes mounts GET/POST on the collection and GET/PUT/DELETE on one item.
func (r named[J, S]) routes(a *API, g gin.IRouter) {
	g.GET(r.path, func(c *gin.Context) {
		items, err := r.list(c.Request.Context())
		if err != nil {
			a.fail(c, err)
			return
		}
		out := make([]J, len(items))
		for i, it := range items {
			out[i] = r.view(it)
		}
		c.JSON(http.StatusOK, gin.H{r.listKey: out})
	})
	g.POST(r.path, func(c *gin.Context) {
		var j J
		if err := decode(c, &j); err != nil {
			a.fail(c, err)
			return
		}
		it := r.toStore(&j)
		if err := r.create(c.Request.Context(), it); err != nil {
			a.fail(c, err)
			return
		}
		c.Header("Location", Base+r.path+"/"+*r.name(&j))
		c.JSON(http.StatusCreated, r.view(it))
	})
	g.GET(r.path+"/:name", func(c *gin.Context) {
		it, err := r.get(c.Request.Context(), c.Param("name"))
		if err != nil {
			a.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, r.view(it))
	})
	g.PUT(r.path+"/:name", func(c *gin.Context) {
		var j J
		if err := decode(c, &j); err != nil {
			a.fail(c, err)
			return
		}
		if err := checkName(c.Param("name"), r.name(&j)); err != nil {
			a.fail(c, err)
			return
		}
		it := r.toStore(&j)
		if err := r.update(c.Request.Context(), it); err != nil {
			a.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, r.view(it))
	})
	g.DELETE(r.path+"/:name", func(c *gin.Context) {
		if err := r.remove(c.Request.Context(), c.Param("name")); err != nil {
			a.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})
}

func (a *API) apns() named[apnJSON, store.APNProfile] {
	return named[apnJSON, store.APNProfile]{
		path: "/apns", listKey: "apns",
		name:    func(j *apnJSON) *string { return &j.Name },
		toStore: (*apnJSON).toStore,
		view:    apnView,
		list:    a.store.ListAPNs, get: a.store.APN,
		create: a.store.CreateAPN, update: a.store.UpdateAPN, remove: a.store.DeleteAPN,
	}
}

func (a *API) capabilitySets() named[capabilitySetJSON, store.CapabilitySet] {
	return named[capabilitySetJSON, store.CapabilitySet]{
		path: "/scscf-capabilities", listKey: "scscf_capabilities",
		name:    func(j *capabilitySetJSON) *string { return &j.Name },
		toStore: (*capabilitySetJSON).toStore,
		view:    capabilitySetView,
		list:    a.store.ListCapabilitySets, get: a.store.CapabilitySet,
		create: a.store.CreateCapabilitySet, update: a.store.UpdateCapabilitySet, remove: a.store.DeleteCapabilitySet,
	}
}
