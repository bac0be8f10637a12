package scscf

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// registrationJSON is what the admin API shows of a registration.
type registrationJSON struct {
	IMPU          string        `json:"impu"`
	IMPI          string        `json:"impi"`
	Implicit      []string      `json:"implicit"`
	Contacts      []contactJSON `json:"contacts"`
	Subscriptions int           `json:"subscriptions"`
}

type contactJSON struct {
	URI     string    `json:"uri"`
	Expires time.Time `json:"expires"`
	Path    []string  `json:"path,omitempty"`
}

// routes mounts GET /api/v1/registrations?impu=<public identity> on the admin server.
func (n *Node) routes(r gin.IRouter) {
	r.GET("/api/v1/registrations", func(c *gin.Context) {
		impu := c.Query("impu")
		if impu == "" {
			c.JSON(http.StatusBadRequest, gin.H{"error": "impu is required", "field": "impu"})
			return
		}
		reg, ok := n.registrar.Registration(impu)
		if !ok {
			c.JSON(http.StatusNotFound, gin.H{"error": "not registered", "field": "impu"})
			return
		}
		out := registrationJSON{IMPU: reg.IMPU, IMPI: reg.IMPI, Implicit: reg.Implicit, Subscriptions: len(reg.Subscriptions)}
		for _, ct := range reg.Contacts {
			out.Contacts = append(out.Contacts, contactJSON{URI: ct.URI, Expires: ct.Expires, Path: ct.Path})
		}
		c.JSON(http.StatusOK, out)
	})
}
