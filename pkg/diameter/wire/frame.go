// Package wire handles Diameter messages as raw bytes: framing off a stream, header and AVP
// parsing, structural validation with the RFC 6733 error code to answer, and the few edits a
// relay makes to a message it forwards untouched. It never needs the message to be decodable
// by a dictionary, so a malformed request still gets a proper error answer.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderLen is the size of the Diameter header (RFC 6733 §3).
const HeaderLen = 20

// Command flags (RFC 6733 §3).
const (
	FlagRequest       = 0x80
	FlagProxiable     = 0x40
	FlagError         = 0x20
	FlagRetransmitted = 0x10
)

// Framing errors. A stream that produced one of these cannot be resynchronised: the caller
// closes the connection.
var (
	ErrVersion = errors.New("diameter: unsupported version")
	ErrLength  = errors.New("diameter: invalid message length")
)

// Header is the decoded Diameter header.
type Header struct {
	Version  uint8
	Length   uint32
	Flags    uint8
	Cmd      uint32
	App      uint32
	HopByHop uint32
	EndToEnd uint32
}

// IsRequest reports whether the R bit is set.
func (h Header) IsRequest() bool { return h.Flags&FlagRequest != 0 }

// ParseHeader decodes the first 20 bytes of b. It does not check the version or the length.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: %d bytes, header needs %d", ErrLength, len(b), HeaderLen)
	}
	return Header{
		Version:  b[0],
		Length:   uint24(b[1:4]),
		Flags:    b[4],
		Cmd:      uint24(b[5:8]),
		App:      binary.BigEndian.Uint32(b[8:12]),
		HopByHop: binary.BigEndian.Uint32(b[12:16]),
		EndToEnd: binary.BigEndian.Uint32(b[16:20]),
	}, nil
}

// ReadFrame reads one whole message from r: the header, a check that the version is 1 and the
// length is at least a header, a multiple of 4 (RFC 6733 §3: "always a multiple of 4") and at
// most max, then the body. The returned slice holds header and body.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != 1 {
		return nil, fmt.Errorf("%w %d", ErrVersion, hdr[0])
	}
	n := int(uint24(hdr[1:4]))
	if n < HeaderLen || n%4 != 0 || n > max {
		return nil, fmt.Errorf("%w %d (max %d)", ErrLength, n, max)
	}
	frame := make([]byte, n)
	copy(frame, hdr[:])
	if _, err := io.ReadFull(r, frame[HeaderLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return frame, nil
}

// SetHopByHop rewrites the Hop-by-Hop Identifier in place (RFC 6733 §6.1.9: a relay replaces it
// with a locally unique one before forwarding).
func SetHopByHop(frame []byte, id uint32) {
	binary.BigEndian.PutUint32(frame[12:16], id)
}

// SetFlags ORs flags into the command flags in place, e.g. FlagRetransmitted (the T bit of
// RFC 6733 §3) when a request is resent after a failover.
func SetFlags(frame []byte, flags uint8) {
	frame[4] |= flags
}

func uint24(b []byte) uint32 {
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}

func putUint24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}
