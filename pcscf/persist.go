package pcscf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/logging"
	"github.com/imscore/imscore/pkg/sip/header"
)

// The bindings survive a restart, and a crash, in two files under data_dir (CONTRACT.md: a
// restart loses no registration): a snapshot of every binding, and a journal that the
// persister appends the bindings changed since its last write to, every flush interval (write
// behind: the registration path only marks the AOR changed). A start reads the snapshot, then
// the journal over it, and compacts both into a new snapshot; so does a stop, and a journal
// grown past twice the bindings. Without fsync: a killed process loses nothing written, a
// host crash may lose the last seconds.
const (
	bindingsFile = "pcscf-bindings.json"
	journalFile  = "pcscf-bindings.journal"
)

// minCompactLines is the journal length below which it is never compacted.
const minCompactLines = 1024

// storedBinding is a Binding as written to the files: URIs as strings, since tel URIs keep
// their number in a field of sipgo's Uri that JSON cannot see.
type storedBinding struct {
	AOR            string          `json:"aor"`
	Contacts       []storedContact `json:"contacts"`
	Transport      string          `json:"transport"`
	Source         string          `json:"source"`
	ServiceRoute   []string        `json:"service_route"`
	AssociatedURIs []string        `json:"associated_uris"`
}

type storedContact struct {
	URI     string    `json:"uri"`
	Expires time.Time `json:"expires"`
}

// journalEntry is one line of the journal: the binding of AOR as it is now, none when it was
// removed.
type journalEntry struct {
	AOR     string         `json:"aor"`
	Binding *storedBinding `json:"binding,omitempty"`
}

func toStored(b Binding) storedBinding {
	sb := storedBinding{AOR: b.AOR, Transport: b.Transport, Source: b.Source}
	for _, c := range b.Contacts {
		sb.Contacts = append(sb.Contacts, storedContact{URI: c.URI.String(), Expires: c.Expires})
	}
	for _, a := range b.ServiceRoute {
		sb.ServiceRoute = append(sb.ServiceRoute, a.String())
	}
	for _, a := range b.AssociatedURIs {
		sb.AssociatedURIs = append(sb.AssociatedURIs, a.String())
	}
	return sb
}

func (sb storedBinding) binding() (Binding, error) {
	b := Binding{AOR: sb.AOR, Transport: sb.Transport, Source: sb.Source}
	for _, c := range sb.Contacts {
		var u gosip.Uri
		if err := gosip.ParseUri(c.URI, &u); err != nil {
			return Binding{}, fmt.Errorf("%s: %w", sb.AOR, err)
		}
		b.Contacts = append(b.Contacts, Contact{URI: u, Expires: c.Expires})
	}
	for _, list := range []struct {
		in  []string
		out *[]header.NameAddr
	}{{sb.ServiceRoute, &b.ServiceRoute}, {sb.AssociatedURIs, &b.AssociatedURIs}} {
		for _, v := range list.in {
			as, err := header.ParseNameAddrs(v)
			if err != nil {
				return Binding{}, fmt.Errorf("%s: %w", sb.AOR, err)
			}
			*list.out = append(*list.out, as...)
		}
	}
	return b, nil
}

// persister keeps the files of a bindings set up to date.
type persister struct {
	b        *bindings
	dir      string
	interval time.Duration
	log      *slog.Logger
	journal  *os.File
	lines    int // in the journal
}

func (p *persister) snapshotPath() string { return filepath.Join(p.dir, bindingsFile) }
func (p *persister) journalPath() string  { return filepath.Join(p.dir, journalFile) }

// load reads the snapshot, then the journal over it; missing files are an empty set. A torn
// last journal line (the process died while writing it) ends the journal.
func (p *persister) load() error {
	data, err := os.ReadFile(p.snapshotPath())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	if err == nil {
		var in []storedBinding
		if err := json.Unmarshal(data, &in); err != nil {
			return fmt.Errorf("pcscf bindings %s: %w", p.snapshotPath(), err)
		}
		for _, sb := range in {
			if err := p.b.restore(sb.AOR, &sb); err != nil {
				return fmt.Errorf("pcscf bindings %s: %w", p.snapshotPath(), err)
			}
		}
	}
	data, err = os.ReadFile(p.journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	line := 0
	for raw := range bytes.Lines(data) {
		line++
		var e journalEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			p.log.Warn("pcscf: journal ends in a torn line, the rest is ignored", "path", p.journalPath(), "line", line, logging.KeyErr, err)
			break
		}
		if err := p.b.restore(e.AOR, e.Binding); err != nil {
			return fmt.Errorf("pcscf bindings %s line %d: %w", p.journalPath(), line, err)
		}
	}
	return nil
}

// run writes the changed bindings every interval until ctx is done, then compacts the files.
// The caller has compacted them first (open), so the journal holds only this run's changes.
func (p *persister) run(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := p.flush(); err != nil {
				p.log.Warn("pcscf: bindings not saved, will retry", logging.KeyErr, err)
			}
		case <-ctx.Done():
			return errors.Join(p.compact(), p.journal.Close())
		}
	}
}

// open compacts what load read and opens the journal.
func (p *persister) open() error { return p.compact() }

// flush appends the bindings changed since the last flush to the journal, in one write, and
// compacts when the journal has grown past twice the bindings.
func (p *persister) flush() error {
	changed, _, total := p.b.takeDirty(false)
	if err := p.write(changed); err != nil {
		return err
	}
	if p.lines > minCompactLines && p.lines > 2*total {
		return p.compact()
	}
	return nil
}

// write appends the changes to the journal; when that fails they stay to be written.
func (p *persister) write(changed []change) error {
	if len(changed) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, c := range changed {
		e := journalEntry{AOR: c.aor}
		if c.b != nil {
			sb := toStored(*c.b)
			e.Binding = &sb
		}
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("pcscf bindings: %w", err)
		}
	}
	if _, err := p.journal.Write(buf.Bytes()); err != nil {
		p.b.markDirty(changed)
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	p.lines += len(changed)
	return nil
}

// compact writes every binding to a new snapshot and empties the journal. The changes and the
// snapshot are taken at once and the changes journaled first: should the process die between
// the snapshot and the truncation, the journal read over the new snapshot leaves every AOR as
// the snapshot has it.
func (p *persister) compact() error {
	changed, all, _ := p.b.takeDirty(true)
	if p.journal != nil {
		if err := p.write(changed); err != nil {
			return err
		}
	}
	now := time.Now()
	out := make([]storedBinding, 0, len(all))
	for _, b := range all {
		if slices.ContainsFunc(b.Contacts, func(c Contact) bool { return c.Expires.After(now) }) {
			out = append(out, toStored(b))
		}
	}
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	if err := os.MkdirAll(p.dir, 0o750); err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	tmp := p.snapshotPath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	if err := os.Rename(tmp, p.snapshotPath()); err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	if p.journal == nil {
		f, err := os.OpenFile(p.journalPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("pcscf bindings: %w", err)
		}
		p.journal = f
	}
	if err := p.journal.Truncate(0); err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	p.lines = 0
	return nil
}

// change is an AOR whose binding changed: b is a copy of it now, nil when it was removed.
type change struct {
	aor string
	b   *Binding
}

// takeDirty returns the changes since the last call and, with all, a copy of every binding
// taken at the same instant; total is the number of bindings.
func (s *bindings) takeDirty(all bool) (changed []change, every []Binding, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for aor := range s.dirty {
		c := change{aor: aor}
		if b, ok := s.m[aor]; ok {
			cp := b.clone()
			c.b = &cp
		}
		changed = append(changed, c)
	}
	clear(s.dirty)
	if all {
		every = make([]Binding, 0, len(s.m))
		for _, b := range s.m {
			every = append(every, b.clone())
		}
	}
	return changed, every, len(s.m)
}

// markDirty puts back changes that could not be written.
func (s *bindings) markDirty(changed []change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changed {
		s.dirty[c.aor] = struct{}{}
	}
}

// restore sets the binding of aor from the files, none when sb is nil; it is no change to
// write back.
func (s *bindings) restore(aor string, sb *storedBinding) error {
	if sb == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.m, aor)
		return nil
	}
	b, err := sb.binding()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[aor] = &b
	return nil
}
