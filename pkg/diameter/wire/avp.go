package wire

import (
	"encoding/binary"
	"fmt"
)

// AVP flags (RFC 6733 §4.1).
const (
	AVPFlagVendor    = 0x80
	AVPFlagMandatory = 0x40
	// AVPFlagProtected is the P bit of RFC 3588, reserved by RFC 6733; old peers still set it.
	AVPFlagProtected = 0x20
)

// Base protocol AVP codes used on the raw path (RFC 6733 §4.5).
const (
	CodeSessionID        = 263
	CodeOriginHost       = 264
	CodeOriginRealm      = 296
	CodeDestinationHost  = 293
	CodeDestinationRealm = 283
	CodeRouteRecord      = 282
	CodeResultCode       = 268
	CodeFailedAVP        = 279
	CodeProxyInfo        = 284
)

// AVP is one raw AVP. Data and Raw alias the message they were parsed from.
type AVP struct {
	Code   uint32
	Flags  uint8
	Vendor uint32
	Data   []byte // the payload, without padding
	Raw    []byte // header, payload and padding: what to copy into another message
}

// LengthError is returned by NextAVP when an AVP header cannot be trusted: its length is below
// the header size or runs past the end of the message (RFC 6733 §7.5, 5014).
type LengthError struct {
	Code   uint32 // AVP code, 0 when fewer than 4 bytes were left
	Flags  uint8
	Vendor uint32
	Reason string
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("diameter: AVP %d: %s", e.Code, e.Reason)
}

// NextAVP parses the AVP at the start of b and returns it with the bytes after its padding.
func NextAVP(b []byte) (AVP, []byte, error) {
	if len(b) < 8 {
		e := &LengthError{Reason: fmt.Sprintf("%d bytes left, AVP header needs 8", len(b))}
		if len(b) >= 4 {
			e.Code = binary.BigEndian.Uint32(b)
		}
		if len(b) >= 5 {
			e.Flags = b[4]
		}
		return AVP{}, nil, e
	}
	a := AVP{Code: binary.BigEndian.Uint32(b), Flags: b[4]}
	n := int(uint24(b[5:8]))
	hdr := 8
	if a.Flags&AVPFlagVendor != 0 {
		hdr = 12
		if len(b) >= 12 {
			a.Vendor = binary.BigEndian.Uint32(b[8:12])
		}
	}
	if n < hdr || n > len(b) {
		return AVP{}, nil, &LengthError{Code: a.Code, Flags: a.Flags, Vendor: a.Vendor,
			Reason: fmt.Sprintf("length %d, header %d, %d bytes left", n, hdr, len(b))}
	}
	padded := min(len(b), (n+3)&^3)
	a.Data = b[hdr:n]
	a.Raw = b[:padded]
	return a, b[padded:], nil
}

// Walk calls fn for each AVP of body (a message body or a Grouped payload) until fn returns
// false. It returns the first framing error met.
func Walk(body []byte, fn func(AVP) bool) error {
	for len(body) > 0 {
		a, rest, err := NextAVP(body)
		if err != nil {
			return err
		}
		if !fn(a) {
			return nil
		}
		body = rest
	}
	return nil
}

// Find returns the first top-level AVP of the message frame with that code and vendor. It stops
// quietly at a framing error: the caller validates separately when it has to.
func Find(frame []byte, code, vendor uint32) (AVP, bool) {
	var found AVP
	ok := false
	if len(frame) < HeaderLen {
		return found, false
	}
	_ = Walk(frame[HeaderLen:], func(a AVP) bool {
		if a.Code == code && a.Vendor == vendor {
			found, ok = a, true
		}
		return !ok
	})
	return found, ok
}

// FindAll returns every top-level AVP of the message frame with that code and vendor.
func FindAll(frame []byte, code, vendor uint32) []AVP {
	var all []AVP
	if len(frame) < HeaderLen {
		return nil
	}
	_ = Walk(frame[HeaderLen:], func(a AVP) bool {
		if a.Code == code && a.Vendor == vendor {
			all = append(all, a)
		}
		return true
	})
	return all
}

// findString returns the payload of the first top-level base AVP with that code, for the
// OctetString-derived AVPs (DiameterIdentity, UTF8String) the helpers below read.
func findString(frame []byte, code uint32) (string, bool) {
	a, ok := Find(frame, code, 0)
	return string(a.Data), ok
}

// SessionID returns the Session-Id of the message, if any.
func SessionID(frame []byte) (string, bool) { return findString(frame, CodeSessionID) }

// OriginHost returns the Origin-Host of the message, if any.
func OriginHost(frame []byte) (string, bool) { return findString(frame, CodeOriginHost) }

// OriginRealm returns the Origin-Realm of the message, if any.
func OriginRealm(frame []byte) (string, bool) { return findString(frame, CodeOriginRealm) }

// DestinationHost returns the Destination-Host of the message, if any.
func DestinationHost(frame []byte) (string, bool) { return findString(frame, CodeDestinationHost) }

// DestinationRealm returns the Destination-Realm of the message, if any.
func DestinationRealm(frame []byte) (string, bool) { return findString(frame, CodeDestinationRealm) }

// RouteRecords returns the Route-Record AVPs in order (RFC 6733 §6.7.1), used by a relay for
// loop detection.
func RouteRecords(frame []byte) []string {
	var hosts []string
	for _, a := range FindAll(frame, CodeRouteRecord, 0) {
		hosts = append(hosts, string(a.Data))
	}
	return hosts
}

// AppendAVP appends the encoding of one AVP, padding included, to b.
func AppendAVP(b []byte, code uint32, flags uint8, vendor uint32, data []byte) []byte {
	hdr := 8
	flags &^= AVPFlagVendor
	if vendor != 0 {
		hdr = 12
		flags |= AVPFlagVendor
	}
	n := hdr + len(data)
	var h [12]byte
	binary.BigEndian.PutUint32(h[0:4], code)
	h[4] = flags
	putUint24(h[5:8], uint32(n))
	binary.BigEndian.PutUint32(h[8:12], vendor)
	b = append(b, h[:hdr]...)
	b = append(b, data...)
	for ; n%4 != 0; n++ {
		b = append(b, 0)
	}
	return b
}

// AddAVP appends an already encoded AVP (e.g. from AppendAVP) to the message frame and updates
// the message length. It returns the new frame, which may share frame's storage.
func AddAVP(frame []byte, avp []byte) []byte {
	frame = append(frame, avp...)
	putUint24(frame[1:4], uint32(len(frame)))
	return frame
}
