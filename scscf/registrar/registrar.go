// Package registrar is the S-CSCF registrar and authenticator (TS 24.229 5.4.1): REGISTER
// with IMS AKA or SIP digest through Cx MAR/SAR, the bindings and the service profile of each
// registered identity, network-initiated deregistration (RTR) and profile updates (PPR), the
// reg event package (RFC 3680) and third-party REGISTER to application servers.
//
// The live state is in memory; changes are written behind to a regstore.Store in batches
// (persist.go) and restored by New, so a restart keeps the registrations.
package registrar

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/ifc"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/sip/auth"
	"github.com/imscore/imscore/scscf/regstore"
)

// Diameter sends Cx requests to the HSS (directly or through the DRA); *peer.Node is one.
type Diameter interface {
	Request(ctx context.Context, req *diam.Message) (*diam.Message, error)
	Identity() msg.Identity
}

// Requester sends SIP requests the S-CSCF originates (NOTIFY, third-party REGISTER) and
// returns the final response; the node's *sip.Proxy (pkg/sip) is one.
type Requester interface {
	Request(ctx context.Context, req *sip.Request) (*sip.Response, error)
}

// stripes serialises the work on one registration without a lock per identity.
const stripes = 64

// Registrar is the S-CSCF registrar.
type Registrar struct {
	cfg          Config
	self         sip.Uri // ServerName
	serviceRoute sip.Header
	dia          Diameter
	store        regstore.Store
	sipc         Requester
	digest       *auth.Digest
	log          *slog.Logger
	metrics      *registrarMetrics

	locks [stripes]sync.Mutex

	mu       sync.RWMutex
	regs     map[string]*regstore.Registration // by registered IMPU
	alias    map[string]string                 // any IMPU of an implicit set -> registered IMPU
	profiles map[string]*ifc.IMSSubscription   // by registered IMPU

	authMu sync.Mutex
	auths  map[string]*authState // by IMPI and IMPU

	cxSlowUntil atomic.Int64 // unix ns: new registrations are refused until then (overload.go)

	storeMu sync.Mutex          // one writer to the store at a time: flushes, written-through changes
	dirtyMu sync.Mutex          // guards dirty
	dirty   map[string]struct{} // IMPUs changed since the last flush; nil: changes are written through

	ctx      context.Context // Run's context, for work that outlives a transaction
	stopping bool            // set under mu once Run waits for bg: no new background work
	bg       sync.WaitGroup
}

// New builds the registrar and restores the registrations of st. reg may be nil.
func New(ctx context.Context, cfg Config, dia Diameter, st regstore.Store, sipc Requester, log *slog.Logger, reg prometheus.Registerer) (*Registrar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("registrar config: %w", err)
	}
	var self sip.Uri
	if err := sip.ParseUri(cfg.ServerName, &self); err != nil {
		return nil, fmt.Errorf("registrar: server_name: %w", err)
	}
	digest, err := auth.NewDigest(auth.DigestConfig{Realm: cfg.Domain, NonceLifetime: cfg.NonceLifetime.D()})
	if err != nil {
		return nil, err
	}
	// TS 24.229 5.4.1.2.2: the Service-Route names this S-CSCF with a user part that marks the
	// originating side and lr.
	orig := sip.Uri{Scheme: "sip", User: "orig", Host: self.Host, Port: self.Port, UriParams: sip.NewParams()}
	orig.UriParams.Add("lr", "")
	r := &Registrar{
		cfg:          cfg,
		self:         self,
		serviceRoute: sip.NewHeader("Service-Route", "<"+orig.String()+">"),
		dia:          dia,
		store:        st,
		sipc:         sipc,
		digest:       digest,
		log:          log,
		metrics:      newMetrics(reg),
		regs:         map[string]*regstore.Registration{},
		alias:        map[string]string{},
		profiles:     map[string]*ifc.IMSSubscription{},
		auths:        map[string]*authState{},
		ctx:          context.Background(),
	}
	if cfg.StoreFlushInterval > 0 {
		r.dirty = map[string]struct{}{}
	}
	all, err := st.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("registrar: restore: %w", err)
	}
	for _, reg := range all {
		r.install(reg, nil)
	}
	r.log.Info("registrations restored", "count", len(all))
	return r, nil
}

// Run removes expired bindings and subscriptions and writes the changed registrations to the
// store until ctx is done, then waits for the NOTIFYs and third-party REGISTERs in flight and
// writes what is left (persist.go).
func (r *Registrar) Run(ctx context.Context) error {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
	t := time.NewTicker(r.cfg.ExpiryInterval.D())
	defer t.Stop()
	var flushes <-chan time.Time
	if d := r.cfg.StoreFlushInterval.D(); d > 0 {
		ft := time.NewTicker(d)
		defer ft.Stop()
		flushes = ft.C
	}
	for {
		select {
		case <-ctx.Done():
			// Every bg.Go happens under mu before stopping is set, so none races the Wait.
			r.mu.Lock()
			r.stopping = true
			r.mu.Unlock()
			r.bg.Wait()
			r.flush(true)
			return nil
		case now := <-t.C:
			r.expire(now)
		case <-flushes:
			r.flush(false)
		}
	}
}

// Contacts returns the bindings of a public identity (any of its implicit set) that have not
// expired, for routing terminating requests.
func (r *Registrar) Contacts(impu string) []regstore.Contact {
	reg := r.lookup(impu)
	if reg == nil {
		return nil
	}
	now := time.Now()
	var out []regstore.Contact
	for _, c := range reg.Contacts {
		if c.Expires.After(now) {
			out = append(out, c)
		}
	}
	return out
}

// Registration returns a copy of the registration holding impu (any identity of its implicit
// set), for the admin API.
func (r *Registrar) Registration(impu string) (regstore.Registration, bool) {
	reg := r.lookup(impu)
	if reg == nil {
		return regstore.Registration{}, false
	}
	return *clone(reg), true
}

// Profile returns the service profile of a registered public identity, or nil.
func (r *Registrar) Profile(impu string) *ifc.IMSSubscription {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.profiles[r.alias[impu]]
}

func (r *Registrar) runCtx() context.Context {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.ctx
}

func (r *Registrar) lock(impu string) func() {
	h := fnv.New32a()
	h.Write([]byte(impu))
	m := &r.locks[h.Sum32()%stripes]
	m.Lock()
	return m.Unlock
}

// lookup returns the registration holding impu in its implicit set, or nil. The result is
// never modified in place: changes install a new one.
func (r *Registrar) lookup(impu string) *regstore.Registration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.regs[r.alias[impu]]
}

func (r *Registrar) get(impu string) *regstore.Registration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.regs[impu]
}

// byIMPI returns the registrations of a private identity.
func (r *Registrar) byIMPI(impi string) []*regstore.Registration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*regstore.Registration
	for _, reg := range r.regs {
		if reg.IMPI == impi {
			out = append(out, reg)
		}
	}
	return out
}

// install makes reg the live registration of its IMPU, with its profile: parsed, the one
// of reg.UserData; nil when the caller has none, so that install parses it if needed.
func (r *Registrar) install(reg *regstore.Registration, parsed *ifc.IMSSubscription) {
	r.mu.Lock()
	old, prof := r.regs[reg.IMPU], r.profiles[reg.IMPU]
	r.mu.Unlock()
	if parsed != nil {
		prof = parsed
	} else if old == nil || old.UserData != reg.UserData {
		// A re-registration keeps its User-Data (the SAA has none): its profile is parsed once.
		prof = nil
		if reg.UserData != "" {
			if p, err := ifc.ParseSubscription([]byte(reg.UserData)); err == nil {
				prof = p
			} else {
				r.log.Warn("stored user data does not parse", logging.KeyIMPU, reg.IMPU, logging.KeyErr, err)
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.regs[reg.IMPU]; old != nil {
		r.unalias(old)
	}
	r.regs[reg.IMPU] = reg
	r.profiles[reg.IMPU] = prof
	for _, u := range append([]string{reg.IMPU}, reg.Implicit...) {
		r.alias[u] = reg.IMPU
	}
	r.metrics.registrations.Set(float64(len(r.regs)))
}

func (r *Registrar) uninstall(reg *regstore.Registration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.regs[reg.IMPU] == nil {
		return
	}
	r.unalias(r.regs[reg.IMPU])
	delete(r.regs, reg.IMPU)
	delete(r.profiles, reg.IMPU)
	r.metrics.registrations.Set(float64(len(r.regs)))
}

func (r *Registrar) unalias(reg *regstore.Registration) {
	for _, u := range append([]string{reg.IMPU}, reg.Implicit...) {
		if r.alias[u] == reg.IMPU {
			delete(r.alias, u)
		}
	}
}

// clone deep-copies a registration before a change.
func clone(reg *regstore.Registration) *regstore.Registration {
	c := *reg
	c.Implicit = slices.Clone(reg.Implicit)
	c.Contacts = slices.Clone(reg.Contacts)
	for i := range c.Contacts {
		c.Contacts[i].Path = slices.Clone(c.Contacts[i].Path)
	}
	c.Subscriptions = slices.Clone(reg.Subscriptions)
	for i := range c.Subscriptions {
		c.Subscriptions[i].RouteSet = slices.Clone(c.Subscriptions[i].RouteSet)
	}
	return &c
}

// goBG runs f in the background, tracked so that Run waits for it at shutdown. Work handed
// over once shutdown has begun is dropped.
func (r *Registrar) goBG(f func(ctx context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		r.log.Debug("shutting down: background work dropped")
		return
	}
	ctx := r.ctx
	r.bg.Go(func() { f(context.WithoutCancel(ctx)) })
}
