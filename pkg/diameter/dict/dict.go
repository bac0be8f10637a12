// Package dict loads the Diameter dictionaries the IMS nodes speak: go-diameter's default
// dictionary (base protocol, S6a, ...) extended with Cx/Dx (TS 29.229) and Sh (TS 29.329).
package dict

import (
	"bytes"
	_ "embed"
	"fmt"

	diamdict "github.com/fiorix/go-diameter/v4/diam/dict"
)

// Application and vendor identifiers (TS 29.230 Table 7.1 and IANA).
const (
	AppCx      uint32 = 16777216
	AppSh      uint32 = 16777217
	AppS6a     uint32 = 16777251
	Vendor3GPP uint32 = 10415
)

var (
	//go:embed cx.xml
	cxXML []byte
	//go:embed sh.xml
	shXML []byte
)

// loaded is go-diameter's default parser with our applications added. Loading happens during
// package initialisation because go-diameter's lookups are not safe to run concurrently with
// Load, and every user of diam.Message (which falls back to diamdict.Default) must see the
// extended dictionary.
var loaded = mustLoad(diamdict.Default)

// Default returns go-diameter's default dictionary (base, S6a, ...) with Cx/Dx and Sh loaded.
// It is the same *Parser as go-diameter's dict.Default, so messages built without an explicit
// dictionary decode the same way.
func Default() *diamdict.Parser { return loaded }

func mustLoad(p *diamdict.Parser) *diamdict.Parser {
	if err := load(p); err != nil {
		// The XML is embedded and covered by tests; failing here is a build defect.
		panic(err)
	}
	return p
}

func load(p *diamdict.Parser) error {
	for _, f := range []struct {
		name string
		xml  []byte
	}{{"cx.xml", cxXML}, {"sh.xml", shXML}} {
		if err := p.Load(bytes.NewReader(f.xml)); err != nil {
			return fmt.Errorf("dict: load %s: %w", f.name, err)
		}
	}
	return nil
}
