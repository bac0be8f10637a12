package api

import (
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

func (a *API) listAPNs(c *gin.Context) {
	apns, err := a.store.ListAPNs(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]apnJSON, len(apns))
	for i, p := range apns {
		out[i] = apnView(p)
	}
	c.JSON(http.StatusOK, gin.H{"apns": out})
}

func (a *API) createAPN(c *gin.Context) {
	var j apnJSON
	if err := decode(c, &j); err != nil {
		a.fail(c, err)
		return
	}
	p := j.toStore()
	if err := a.store.CreateAPN(c.Request.Context(), p); err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", Base+"/apns/"+p.Name)
	c.JSON(http.StatusCreated, apnView(p))
}

func (a *API) getAPN(c *gin.Context) {
	p, err := a.store.APN(c.Request.Context(), c.Param("name"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, apnView(p))
}

func (a *API) updateAPN(c *gin.Context) {
	var j apnJSON
	if err := decode(c, &j); err != nil {
		a.fail(c, err)
		return
	}
	if err := checkName(c.Param("name"), &j.Name); err != nil {
		a.fail(c, err)
		return
	}
	p := j.toStore()
	if err := a.store.UpdateAPN(c.Request.Context(), p); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, apnView(p))
}

func (a *API) deleteAPN(c *gin.Context) {
	if err := a.store.DeleteAPN(c.Request.Context(), c.Param("name")); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
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

func (a *API) listCapabilitySets(c *gin.Context) {
	sets, err := a.store.ListCapabilitySets(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]capabilitySetJSON, len(sets))
	for i, s := range sets {
		out[i] = capabilitySetView(s)
	}
	c.JSON(http.StatusOK, gin.H{"scscf_capabilities": out})
}

func (a *API) createCapabilitySet(c *gin.Context) {
	var j capabilitySetJSON
	if err := decode(c, &j); err != nil {
		a.fail(c, err)
		return
	}
	s := j.toStore()
	if err := a.store.CreateCapabilitySet(c.Request.Context(), s); err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", Base+"/scscf-capabilities/"+s.Name)
	c.JSON(http.StatusCreated, capabilitySetView(s))
}

func (a *API) getCapabilitySet(c *gin.Context) {
	s, err := a.store.CapabilitySet(c.Request.Context(), c.Param("name"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, capabilitySetView(s))
}

func (a *API) updateCapabilitySet(c *gin.Context) {
	var j capabilitySetJSON
	if err := decode(c, &j); err != nil {
		a.fail(c, err)
		return
	}
	if err := checkName(c.Param("name"), &j.Name); err != nil {
		a.fail(c, err)
		return
	}
	s := j.toStore()
	if err := a.store.UpdateCapabilitySet(c.Request.Context(), s); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, capabilitySetView(s))
}

func (a *API) deleteCapabilitySet(c *gin.Context) {
	if err := a.store.DeleteCapabilitySet(c.Request.Context(), c.Param("name")); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
