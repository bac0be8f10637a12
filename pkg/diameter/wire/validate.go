package wire

import (
	"fmt"
	"unicode/utf8"

	"github.com/fiorix/go-diameter/v4/diam/datatype"
	godict "github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/imscore/imscore/pkg/diameter/msg"
)

// maxGroupDepth bounds the recursion into Grouped AVPs so that a hostile nesting cannot
// exhaust the stack.
const maxGroupDepth = 16

// Problem is why a request cannot be processed, as RFC 6733 §7 wants it reported: the
// Result-Code and the AVP to put in Failed-AVP (nil when the header is at fault).
type Problem struct {
	Code      uint32
	FailedAVP []byte // an encoded AVP, ready for Failed-AVP
	Reason    string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("diameter: %d: %s", p.Code, p.Reason)
}

// Validate checks a whole request frame (as returned by ReadFrame) before it is decoded:
//   - header: version 1, length matching the frame, no E bit in a request (3008);
//   - AVP framing: lengths within the message and at least the header (5014);
//   - AVP flags: no unrecognised flag bit (RFC 6733 §4.1 "an unrecognized bit SHOULD be
//     considered an error", 3009). The old P bit is tolerated for RFC 3588 peers.
//
// When d is not nil it also checks against the dictionary for the message's application:
//   - an unknown AVP with the M bit set (5001);
//   - fixed-size types with the wrong size (5014), values the type rejects (5004);
//   - the AVPs the command's request rules mark required (5005).
//
// It returns nil when the request is fine.
func Validate(frame []byte, d *godict.Parser) *Problem {
	h, err := ParseHeader(frame)
	if err != nil || h.Version != 1 || int(h.Length) != len(frame) || h.Length%4 != 0 {
		return &Problem{Code: msg.ResultInvalidMessageLength, Reason: "header length does not match the message"}
	}
	if h.IsRequest() && h.Flags&FlagError != 0 {
		// RFC 6733 §3: the E bit is only for answers.
		return &Problem{Code: msg.ResultInvalidHdrBits, Reason: "E bit set in a request"}
	}
	v := validator{d: d, app: h.App}
	if d != nil {
		if _, err := d.App(h.App); err != nil {
			// An application the dictionary does not know (a relay forwards those): only the
			// base AVPs can be checked, and no AVP can be called unsupported.
			v.app, v.foreign = 0, true
		}
	}
	if p := v.avps(frame[HeaderLen:], 0); p != nil {
		return p
	}
	if d != nil && h.IsRequest() && !v.foreign {
		return v.required(h.Cmd, frame)
	}
	return nil
}

type validator struct {
	d       *godict.Parser
	app     uint32
	foreign bool // the dictionary does not know the application
}

func (v validator) avps(body []byte, depth int) *Problem {
	for len(body) > 0 {
		a, rest, err := NextAVP(body)
		if err != nil {
			le := err.(*LengthError)
			return &Problem{Code: msg.ResultInvalidAVPLength, Reason: le.Error(),
				FailedAVP: v.zeroAVP(le.Code, le.Flags, le.Vendor)}
		}
		if p := v.avp(a, depth); p != nil {
			return p
		}
		body = rest
	}
	return nil
}

func (v validator) avp(a AVP, depth int) *Problem {
	if a.Flags&^(AVPFlagVendor|AVPFlagMandatory|AVPFlagProtected) != 0 {
		return &Problem{Code: msg.ResultInvalidAVPBits, FailedAVP: a.Raw,
			Reason: fmt.Sprintf("AVP %d: unrecognised flags %#x", a.Code, a.Flags)}
	}
	if v.d == nil {
		return nil
	}
	def, err := v.d.FindAVPByCode(v.app, a.Code, a.Vendor)
	if err != nil {
		if a.Flags&AVPFlagMandatory != 0 && !v.foreign {
			return &Problem{Code: msg.ResultAVPUnsupported, FailedAVP: a.Raw,
				Reason: fmt.Sprintf("AVP %d vendor %d unknown with the M bit", a.Code, a.Vendor)}
		}
		return nil
	}
	if def.Data.Type == datatype.GroupedType {
		if depth >= maxGroupDepth {
			return &Problem{Code: msg.ResultInvalidAVPValue, FailedAVP: a.Raw, Reason: "Grouped AVPs nested too deep"}
		}
		return v.avps(a.Data, depth+1)
	}
	if n := fixedSize(def.Data.Type); n > 0 && len(a.Data) != n {
		return &Problem{Code: msg.ResultInvalidAVPLength, FailedAVP: v.zeroAVP(a.Code, a.Flags, a.Vendor),
			Reason: fmt.Sprintf("%s: %d bytes, want %d", def.Name, len(a.Data), n)}
	}
	if _, err := datatype.Decode(def.Data.Type, a.Data); err != nil {
		return &Problem{Code: msg.ResultInvalidAVPValue, FailedAVP: a.Raw, Reason: fmt.Sprintf("%s: %v", def.Name, err)}
	}
	if def.Data.Type == datatype.UTF8StringType && !utf8.Valid(a.Data) {
		return &Problem{Code: msg.ResultInvalidAVPValue, FailedAVP: a.Raw, Reason: def.Name + ": invalid UTF-8"}
	}
	return nil
}

// required checks the top-level AVPs the dictionary marks required in the request.
func (v validator) required(cmd uint32, frame []byte) *Problem {
	c, err := v.d.FindCommand(v.app, cmd)
	if err != nil {
		return nil
	}
	for _, r := range c.Request.Rule {
		if !r.Required {
			continue
		}
		def, err := v.d.FindAVP(v.app, r.AVP)
		if err != nil {
			continue
		}
		if _, ok := Find(frame, def.Code, def.VendorID); !ok {
			flags := uint8(AVPFlagMandatory)
			return &Problem{Code: msg.ResultMissingAVP, FailedAVP: v.zeroAVP(def.Code, flags, def.VendorID),
				Reason: "missing " + def.Name}
		}
	}
	return nil
}

// zeroAVP builds the Failed-AVP content RFC 6733 §7.5 asks for when the offending AVP cannot be
// copied: its code and a zero-filled payload of the minimum size for its type.
func (v validator) zeroAVP(code uint32, flags uint8, vendor uint32) []byte {
	size := 0
	if v.d != nil {
		if def, err := v.d.FindAVPByCode(v.app, code, vendor); err == nil {
			size = fixedSize(def.Data.Type)
		}
	}
	return AppendAVP(nil, code, flags&AVPFlagMandatory, vendor, make([]byte, size))
}

func fixedSize(t datatype.TypeID) int {
	switch t {
	case datatype.Unsigned32Type, datatype.Integer32Type, datatype.Float32Type,
		datatype.EnumeratedType, datatype.TimeType:
		return 4
	case datatype.Unsigned64Type, datatype.Integer64Type, datatype.Float64Type:
		return 8
	}
	return 0
}
