package dra

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// PeerView is one peer in GET /api/v1/peers.
type PeerView struct {
	Host        string    `json:"host"`
	Realm       string    `json:"realm"`
	Addr        string    `json:"addr"`
	Network     string    `json:"network"`
	Outbound    bool      `json:"outbound"`
	State       string    `json:"state"` // RFC 3539: OKAY, SUSPECT, REOPEN, DOWN
	Apps        []AppView `json:"apps"`
	RequestsIn  uint64    `json:"requests_in"`
	RequestsOut uint64    `json:"requests_out"`
}

// AppView is an application a peer shares with the DRA.
type AppView struct {
	ID     uint32 `json:"id"`
	Vendor uint32 `json:"vendor,omitempty"`
	Name   string `json:"name"`
}

// RouteView is one route in GET /api/v1/routes, with the state of each member.
type RouteView struct {
	Realm  string          `json:"realm"`
	Apps   []string        `json:"apps"`
	Sticky bool            `json:"sticky"`
	Peers  []RoutePeerView `json:"peers"`
}

// RoutePeerView is a member of a route's peer group.
type RoutePeerView struct {
	Host     string `json:"host"`
	Priority int    `json:"priority"`
	Weight   int    `json:"weight"`
	State    string `json:"state"`
}

// routes mounts the DRA's admin API.
func (n *Node) routes(r gin.IRouter) {
	g := r.Group("/api/v1")
	g.GET("/peers", func(c *gin.Context) { c.JSON(http.StatusOK, n.peerViews()) })
	g.GET("/routes", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"routes": n.routeViews(), "sticky_sessions": n.sticky.len()})
	})
}

func (n *Node) peerViews() []PeerView {
	out := []PeerView{}
	for _, p := range n.diam.Peers() {
		v := PeerView{Host: p.Host, Realm: p.Realm, Addr: p.Addr, Network: p.Network, Outbound: p.Outbound,
			State: p.State, Apps: []AppView{}, RequestsIn: p.RequestsIn, RequestsOut: p.RequestsOut}
		for _, a := range p.Apps {
			v.Apps = append(v.Apps, AppView{ID: a.ID, Vendor: a.Vendor, Name: appName(a.ID)})
		}
		out = append(out, v)
	}
	return out
}

func (n *Node) routeViews() []RouteView {
	states := map[string]string{}
	for _, p := range n.diam.Peers() {
		states[strings.ToLower(p.Host)] = p.State
	}
	out := []RouteView{}
	for _, r := range n.cfg.Routes {
		v := RouteView{Realm: r.Realm, Apps: r.Apps, Sticky: r.Sticky, Peers: []RoutePeerView{}}
		if len(v.Apps) == 0 {
			v.Apps = []string{appName(anyApp)}
		}
		for _, p := range r.Peers {
			state := states[strings.ToLower(p.Host)]
			if state == "" {
				state = "DOWN"
			}
			v.Peers = append(v.Peers, RoutePeerView{Host: p.Host, Priority: p.Priority, Weight: max(p.Weight, 1), State: state})
		}
		out = append(out, v)
	}
	return out
}
