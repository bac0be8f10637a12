package registrar

import (
	"context"
	"time"

	"github.com/imscore/imscore/pkg/ifc"
	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/scscf/regstore"
)

// Writing registrations to the store (issue 5: a re-registration must not cost a SQLite
// transaction of its own). With store_flush_interval set, save and remove change the live
// state and mark the identity dirty; Run writes the current state of every dirty registration
// each interval in one transaction (regstore.Apply): many changes of one registration cost one
// row, many registrations one commit. When Run stops (SIGTERM) it writes what is left and from
// then on every change is written through, so a clean stop loses nothing. A crash (SIGKILL,
// power cut) loses the changes of the last interval: a registration made or refreshed then is
// restored as it was before, or not at all, and the UE's next REGISTER is challenged as an
// initial one. With store_flush_interval 0 every change is written through in its own
// transaction before the response.

// flushTimeout bounds one flush.
const flushTimeout = 10 * time.Second

// save makes reg the live registration of its IMPU and persists it; prof is its parsed
// profile when the caller has it (install).
func (r *Registrar) save(ctx context.Context, reg *regstore.Registration, prof *ifc.IMSSubscription) error {
	if r.later(func() { r.install(reg, prof) }, reg.IMPU) {
		return nil
	}
	r.storeMu.Lock()
	defer r.storeMu.Unlock()
	if err := r.store.Put(ctx, reg); err != nil {
		return err
	}
	r.install(reg, prof)
	return nil
}

// remove deletes reg from the live state and the store.
func (r *Registrar) remove(ctx context.Context, reg *regstore.Registration) error {
	if r.later(func() { r.uninstall(reg) }, reg.IMPU) {
		return nil
	}
	r.uninstall(reg)
	r.storeMu.Lock()
	defer r.storeMu.Unlock()
	return r.store.Delete(ctx, reg.IMPU)
}

// later applies change to the live state and marks impu for the next flush, and reports true;
// or, when changes are written through, does nothing and reports false. Both happen under
// dirtyMu, so the last flush sees every change it reported true for.
func (r *Registrar) later(change func(), impu string) bool {
	r.dirtyMu.Lock()
	defer r.dirtyMu.Unlock()
	if r.dirty == nil {
		return false
	}
	change()
	r.dirty[impu] = struct{}{}
	return true
}

// flush writes the current state of every dirty registration in one transaction: the ones
// gone are deleted. On failure they stay dirty for the next flush. last switches to writing
// through, for the changes that follow the final flush.
func (r *Registrar) flush(last bool) {
	r.storeMu.Lock()
	defer r.storeMu.Unlock()
	r.dirtyMu.Lock()
	dirty := r.dirty
	if dirty == nil {
		r.dirtyMu.Unlock()
		return
	}
	if last {
		r.dirty = nil
	} else {
		r.dirty = make(map[string]struct{}, len(dirty))
	}
	r.dirtyMu.Unlock()
	if len(dirty) == 0 {
		return
	}
	var puts []*regstore.Registration
	var deletes []string
	r.mu.RLock()
	for impu := range dirty {
		if reg := r.regs[impu]; reg != nil {
			puts = append(puts, reg) // never modified in place: safe to encode outside mu
		} else {
			deletes = append(deletes, impu)
		}
	}
	r.mu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	start := time.Now()
	if err := r.store.Apply(ctx, puts, deletes); err != nil {
		r.metrics.flushes.WithLabelValues("error").Inc()
		if last {
			r.log.Error("registrations not saved at shutdown", "registrations", len(dirty), logging.KeyErr, err)
			return
		}
		r.log.Warn("registrations not saved, retrying", "registrations", len(dirty), logging.KeyErr, err)
		r.dirtyMu.Lock()
		for impu := range dirty {
			r.dirty[impu] = struct{}{}
		}
		r.dirtyMu.Unlock()
		return
	}
	r.metrics.flushes.WithLabelValues("ok").Inc()
	r.metrics.flushed.Add(float64(len(dirty)))
	r.metrics.flushSeconds.Observe(time.Since(start).Seconds())
}
