package pcscf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/sip/header"
)

// bindingsFile holds the bindings across restarts, under data_dir: written when the node stops
// (CONTRACT.md: SIGTERM keeps the registrations), read when it starts.
const bindingsFile = "pcscf-bindings.json"

// storedBinding is a Binding as written to the file: URIs as strings, since tel URIs keep
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

// save writes the unexpired bindings to path, replacing the file atomically.
func (s *bindings) save(path string, now time.Time) error {
	var out []storedBinding
	for _, b := range s.list(now) {
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
		out = append(out, sb)
	}
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	return nil
}

// load reads the bindings saved at path; a missing file is an empty set.
func (s *bindings) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pcscf bindings: %w", err)
	}
	var in []storedBinding
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("pcscf bindings %s: %w", path, err)
	}
	for _, sb := range in {
		b := Binding{AOR: sb.AOR, Transport: sb.Transport, Source: sb.Source}
		for _, c := range sb.Contacts {
			var u gosip.Uri
			if err := gosip.ParseUri(c.URI, &u); err != nil {
				return fmt.Errorf("pcscf bindings %s: %s: %w", path, sb.AOR, err)
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
					return fmt.Errorf("pcscf bindings %s: %s: %w", path, sb.AOR, err)
				}
				*list.out = append(*list.out, as...)
			}
		}
		s.put(b)
	}
	return nil
}
