// Package header parses and prints the SIP header fields an IMS core needs beyond RFC 3261:
// Path, Service-Route, the P- headers of RFC 3325 and RFC 7315, Security-Client/-Server/-Verify
// (RFC 3329, TS 33.203) and the digest authentication headers with the AKA parameters
// (RFC 2617, RFC 3310, TS 24.229 7.2A).
//
// sipgo keeps these fields as generic headers holding the raw value, one per line. Every
// parser here takes one such value, which may hold several comma-separated elements; [All]
// gathers the elements of every line of one name, and [New] renders typed values back into a
// sipgo header. Parsers return an error, never panic, on anything a peer can send.
package header

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Syntax errors wrap ErrSyntax so callers can map them to 400 Bad Request in one place.
var ErrSyntax = errors.New("header syntax")

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// All parses every line of one header name (as returned by sip.Message.GetHeaders) with parse
// and returns the elements in message order: RFC 3261 7.3.1 makes "a, b" on one line and "a"
// and "b" on two lines equivalent.
func All[T any](hs []sip.Header, parse func(string) ([]T, error)) ([]T, error) {
	var out []T
	for _, h := range hs {
		vs, err := parse(h.Value())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name(), err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

// New renders values as one sipgo header line, comma-separated (RFC 3261 7.3.1).
func New[T fmt.Stringer](name string, values ...T) sip.Header {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.String())
	}
	return sip.NewHeader(name, b.String())
}

// isLWS reports whether c is linear white space; folded lines (CRLF followed by a space) are
// white space too (RFC 3261 25.1).
func isLWS(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

func trimLWS(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r < 0x80 && isLWS(byte(r)) })
}

// isTokenChar: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
// (RFC 3261 25.1).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", c) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isGenValue: gen-value = token / host / quoted-string (RFC 3261 25.1); a host adds ":" and
// brackets for IPv6 references to the token characters.
func isGenValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isTokenChar(c) && c != ':' && c != '[' && c != ']' {
			return false
		}
	}
	return true
}

// quote renders s as a quoted-string, escaping '"' and '\' with quoted-pair (RFC 3261 25.1).
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// quotedEnd returns the index just after the closing quote of the quoted-string that starts at
// s[0] == '"'.
func quotedEnd(s string) (int, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			// quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
			if i+1 >= len(s) || s[i+1] == '\r' || s[i+1] == '\n' || s[i+1] >= 0x80 {
				return 0, syntaxErr("bad quoted-pair in %q", s)
			}
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, syntaxErr("unterminated quoted-string %q", s)
}

// unquote decodes a complete quoted-string.
func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' {
		return "", syntaxErr("not a quoted-string: %q", s)
	}
	end, err := quotedEnd(s)
	if err != nil {
		return "", err
	}
	if end != len(s) {
		return "", syntaxErr("text after quoted-string %q", s)
	}
	inner := s[1 : end-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	var b strings.Builder
	b.Grow(len(inner))
	for i := 1; i < end-1; i++ {
		if s[i] == '\\' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// split cuts s at every sep that is outside quoted-strings and outside <...>, and trims white
// space around the pieces. Commas and semicolons inside quotes or inside a bracketed URI do not
// split. An empty piece is an error.
func split(s string, sep byte) ([]string, error) {
	out := make([]string, 0, strings.Count(s, string(sep))+1)
	start, angle := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			end, err := quotedEnd(s[i:])
			if err != nil {
				return nil, err
			}
			i += end - 1
		case c == '<':
			if angle {
				return nil, syntaxErr("nested '<' in %q", s)
			}
			angle = true
		case c == '>':
			if !angle {
				return nil, syntaxErr("unbalanced '>' in %q", s)
			}
			angle = false
		case c == sep && !angle:
			piece := trimLWS(s[start:i])
			if piece == "" {
				return nil, syntaxErr("empty element in %q", s)
			}
			out = append(out, piece)
			start = i + 1
		}
	}
	if angle {
		return nil, syntaxErr("missing '>' in %q", s)
	}
	piece := trimLWS(s[start:])
	if piece == "" {
		return nil, syntaxErr("empty element in %q", s)
	}
	return append(out, piece), nil
}
