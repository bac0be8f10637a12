package pcscf

import (
	"slices"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/sip/header"
)

// Binding is what the P-CSCF keeps of a UE's registration from the 200 OK to its REGISTER
// (TS 24.229 5.2.2.1): the contacts, the flow the UE reached us over, the Service-Route to the
// S-CSCF and the public identities registered with it.
type Binding struct {
	AOR       string
	Contacts  []Contact
	Transport string // the flow (RFC 5626 3): the transport and source address of the REGISTER
	Source    string
	// ServiceRoute is the S-CSCF's Service-Route (RFC 3608), the route of the UE's requests.
	ServiceRoute []header.NameAddr
	// AssociatedURIs are the UE's other public identities (RFC 7315 4.1).
	AssociatedURIs []header.NameAddr
	// routeValues are the Service-Route and P-Associated-URI header values (an empty one between
	// the two) that ServiceRoute and AssociatedURIs were parsed from: a re-registration whose
	// 200 OK repeats them reuses the parsed lists.
	routeValues []string
}

// Contact is one registered contact and when it expires.
type Contact struct {
	URI     gosip.Uri
	Expires time.Time
}

// bindings are the registrations, in memory, by address-of-record. The AORs changed since the
// persister last took them are in dirty.
type bindings struct {
	mu    sync.Mutex
	m     map[string]*Binding
	dirty map[string]struct{}
}

func newBindings() *bindings {
	return &bindings{m: map[string]*Binding{}, dirty: map[string]struct{}{}}
}

// put stores b and reports whether the AOR had no binding before (an initial registration).
func (s *bindings) put(b Binding) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.m[b.AOR]
	s.m[b.AOR] = &b
	s.dirty[b.AOR] = struct{}{}
	return !had
}

func (s *bindings) delete(aor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, aor)
	s.dirty[aor] = struct{}{}
}

// routes returns the route set of aor's binding when it was parsed from the header values
// vals (Binding.routeValues).
func (s *bindings) routes(aor string, vals []string) (sr, pau []header.NameAddr, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[aor]
	if !ok || !slices.Equal(b.routeValues, vals) {
		return nil, nil, false
	}
	return b.ServiceRoute, b.AssociatedURIs, true
}

// get returns a copy of the binding of aor.
func (s *bindings) get(aor string) (Binding, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[aor]
	if !ok {
		return Binding{}, false
	}
	return b.clone(), true
}

// clone is a copy of b that shares no contact list with it.
func (b *Binding) clone() Binding {
	c := *b
	c.Contacts = slices.Clone(b.Contacts)
	return c
}

// terminate removes the registration of aor, which may be the registered AOR or one of its
// associated identities (the S-CSCF reports the whole implicit set, TS 24.229 5.4.2.1.2).
// With contact set, only that contact goes, and the binding when it was the last.
func (s *bindings) terminate(aor string, contact *gosip.Uri) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, b := range s.m {
		if !b.names(aor) {
			continue
		}
		s.dirty[key] = struct{}{}
		if contact != nil {
			b.Contacts = slices.DeleteFunc(b.Contacts, func(c Contact) bool { return sameURI(c.URI, *contact) })
			if len(b.Contacts) > 0 {
				continue
			}
		}
		delete(s.m, key)
	}
}

// list returns a copy of the bindings with at least one unexpired contact; expired ones are
// dropped.
func (s *bindings) list(now time.Time) []Binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Binding
	for key, b := range s.m {
		b.Contacts = slices.DeleteFunc(b.Contacts, func(c Contact) bool { return !c.Expires.After(now) })
		if len(b.Contacts) == 0 {
			delete(s.m, key)
			continue
		}
		out = append(out, b.clone())
	}
	slices.SortFunc(out, func(a, b Binding) int {
		if a.AOR < b.AOR {
			return -1
		}
		if a.AOR > b.AOR {
			return 1
		}
		return 0
	})
	return out
}

// names reports whether aor is the binding's AOR or one of its associated URIs.
func (b *Binding) names(aor string) bool {
	if b.AOR == aor {
		return true
	}
	for _, a := range b.AssociatedURIs {
		if a.URI.String() == aor {
			return true
		}
	}
	return false
}

// sameURI compares two contact URIs by scheme, user, host and port (RFC 3261 19.1.4 without
// the parameters, which UEs add and drop between registrations).
func sameURI(a, b gosip.Uri) bool {
	pa, pb := a.Port, b.Port
	if pa == 0 {
		pa = 5060
	}
	if pb == 0 {
		pb = 5060
	}
	return a.Scheme == b.Scheme && a.User == b.User && pa == pb && strings.EqualFold(a.Host, b.Host)
}
