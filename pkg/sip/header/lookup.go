package header

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Message is what Named and First read: a sipgo request or response.
type Message interface {
	Headers() []sip.Header
}

// Named returns m's header lines called name, in message order (names compare without case,
// RFC 3261 7.3.5). sipgo's GetHeaders lower-cases the name of every line of the message on
// each call, one allocation per line whose name it does not know; the CSCFs look up several
// names in every message they relay.
func Named(m Message, name string) []sip.Header {
	var out []sip.Header
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			out = append(out, h)
		}
	}
	return out
}

// IsEvent reports whether m's Event header (or its compact form o, RFC 6665 8.2.1) names the
// event package pkg, whatever its parameters (RFC 6665 8.4).
func IsEvent(m Message, pkg string) bool {
	h := First(m, "Event")
	if h == nil {
		h = First(m, "o")
	}
	if h == nil {
		return false
	}
	name, _, _ := strings.Cut(h.Value(), ";")
	return strings.EqualFold(strings.TrimSpace(name), pkg)
}

// First is m's first header line called name, nil when there is none (as Named).
func First(m Message, name string) sip.Header {
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			return h
		}
	}
	return nil
}
