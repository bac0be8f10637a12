package dra

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imscore/imscore/pkg/diameter/msg"
)

// table is the realm routing table of RFC 6733 2.7, built once from the configuration.
type table struct {
	routes map[routeKey]*group
	realms map[string]bool // realms some route names: an application they lack is 3002, not 3003
	def    map[uint32]*group
}

type routeKey struct {
	realm string // lower case
	app   uint32 // anyApp: every application
}

// group is a route's peers, ordered by priority.
type group struct {
	route  Route
	tiers  [][]member // one tier per priority, lowest first
	sticky *stickiness
}

type member struct {
	host   string
	weight int
}

func newTable(routes []Route, sticky *stickiness) *table {
	t := &table{routes: map[routeKey]*group{}, realms: map[string]bool{}, def: map[uint32]*group{}}
	for _, r := range routes {
		g := &group{route: r}
		if r.Sticky {
			g.sticky = sticky
		}
		peers := slices.Clone(r.Peers)
		slices.SortStableFunc(peers, func(a, b RoutePeer) int { return cmp.Compare(a.Priority, b.Priority) })
		for i, p := range peers {
			if i == 0 || p.Priority != peers[i-1].Priority {
				g.tiers = append(g.tiers, nil)
			}
			g.tiers[len(g.tiers)-1] = append(g.tiers[len(g.tiers)-1], member{host: p.Host, weight: max(p.Weight, 1)})
		}
		apps, _ := appIDs(r.Apps) // Validate rejected unknown names
		realm := strings.ToLower(r.Realm)
		for _, app := range apps {
			if realm == DefaultRealm {
				t.def[app] = g
				continue
			}
			t.routes[routeKey{realm, app}] = g
			t.realms[realm] = true
		}
	}
	return t
}

// lookup finds the group for a Destination-Realm and Application-Id: the route naming both,
// else the realm's route for every application, else the default route. Without a route the
// answer is 3003 DIAMETER_REALM_NOT_SERVED for a realm no route names and 3002
// DIAMETER_UNABLE_TO_DELIVER for an application the realm's routes do not take (RFC 6733 7.1.3).
func (t *table) lookup(realm string, app uint32) (*group, uint32) {
	realm = strings.ToLower(realm)
	for _, k := range []routeKey{{realm, app}, {realm, anyApp}} {
		if g := t.routes[k]; g != nil {
			return g, 0
		}
	}
	for _, a := range []uint32{app, anyApp} {
		if g := t.def[a]; g != nil {
			return g, 0
		}
	}
	if t.realms[realm] {
		return nil, msg.ResultUnableToDeliver
	}
	return nil, msg.ResultRealmNotServed
}

// pick chooses the peer for the next attempt: the Session-Id's sticky peer when it is usable,
// else among the usable peers of the first priority tier that has one, at random in proportion
// to their weights. Peers in skip (tried already, or the sender) are never chosen. It returns
// "" when no peer is usable.
func (g *group) pick(sessionID string, usable func(host string) bool, skip []string) string {
	ok := func(host string) bool {
		return usable(host) && !slices.ContainsFunc(skip, func(s string) bool { return strings.EqualFold(s, host) })
	}
	if g.sticky != nil && sessionID != "" {
		if host := g.sticky.get(sessionID); host != "" && g.has(host) && ok(host) {
			return host
		}
	}
	var candidates []member
	for _, tier := range g.tiers {
		total := 0
		candidates = candidates[:0]
		for _, m := range tier {
			if ok(m.host) {
				candidates = append(candidates, m)
				total += m.weight
			}
		}
		if total == 0 {
			continue
		}
		n := rand.N(total)
		for _, m := range candidates {
			if n < m.weight {
				return m.host
			}
			n -= m.weight
		}
	}
	return ""
}

func (g *group) has(host string) bool {
	for _, tier := range g.tiers {
		for _, m := range tier {
			if strings.EqualFold(m.host, host) {
				return true
			}
		}
	}
	return false
}

// bind records the peer that answered a Session-Id on a sticky route.
func (g *group) bind(sessionID, host string) {
	if g.sticky != nil && sessionID != "" {
		g.sticky.set(sessionID, host)
	}
}

// stickiness maps Session-Ids to peers; entries idle for longer than ttl are swept.
type stickiness struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]stickyEntry
}

type stickyEntry struct {
	host string
	seen time.Time
}

func newStickiness(ttl time.Duration) *stickiness {
	return &stickiness{ttl: ttl, m: map[string]stickyEntry{}}
}

func (s *stickiness) get(sid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[sid].host
}

func (s *stickiness) set(sid, host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sid] = stickyEntry{host: host, seen: time.Now()}
}

// sweep forgets the Session-Ids idle since before now-ttl.
func (s *stickiness) sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sid, e := range s.m {
		if now.Sub(e.seen) > s.ttl {
			delete(s.m, sid)
		}
	}
}

func (s *stickiness) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
