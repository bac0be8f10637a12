package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/wire"
)

// receive handles one message read from the connection.
func (c *conn) receive(frame []byte) {
	h, _ := wire.ParseHeader(frame) // ReadFrame returned at least a header
	base := h.App == 0
	c.notify(base && !h.IsRequest() && h.Cmd == diam.DeviceWatchdog)
	if !h.IsRequest() {
		c.countAnswer(h, frame, dirIn)
		if !(base && h.Cmd == diam.DeviceWatchdog) { // DWAs only feed the watchdog
			c.deliver(h, frame)
		}
		return
	}
	c.requestsIn.Add(1)
	c.n.metrics.requests.WithLabelValues(c.n.cmdName(h, true), appLabel(h.App), c.host, dirIn).Inc()
	switch {
	case base && h.Cmd == diam.DeviceWatchdog:
		c.answerBase(frame, false)
	case base && h.Cmd == diam.DisconnectPeer:
		// RFC 6733 §5.4: answer, then the sender of the DPR closes; we close too once the DPA
		// is written so that neither side waits for the other.
		c.answerBase(frame, true)
	default:
		select {
		case c.n.inflight <- struct{}{}:
		case <-c.done:
			return
		}
		go func() {
			defer func() { <-c.n.inflight }()
			c.serve(h, frame)
		}()
	}
}

// answerBase answers DWR (§5.5.2) and DPR (§5.4.2) with success, then closes the connection
// if asked.
func (c *conn) answerBase(frame []byte, closeAfter bool) {
	req, err := c.n.decode(frame)
	var ans []byte
	if err != nil {
		ans = c.rawError(frame, msg.ResultUnableToComply, nil)
	} else {
		a := req.Answer(msg.ResultSuccess)
		a.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(c.n.cfg.Identity.Host))
		a.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(c.n.cfg.Identity.Realm))
		if req.Header.CommandCode == diam.DeviceWatchdog {
			a.NewAVP(avp.OriginStateID, avp.Mbit, 0, datatype.Unsigned32(c.n.stateID))
		}
		if ans, err = a.Serialize(); err != nil {
			ans = c.rawError(frame, msg.ResultUnableToComply, nil)
		}
	}
	c.writeAnswer(ans)
	if closeAfter {
		_ = c.send(nil) // the writer closes once the answer is out
	}
}

// serve runs the checks of RFC 6733 §6.1 and §7 on an inbound request, then its handler.
func (c *conn) serve(h wire.Header, frame []byte) {
	n := c.n
	sid, _ := wire.SessionID(frame)
	cmd := n.cmdName(h, true)
	if h.App != 0 && !c.serves(h.App) {
		c.writeAnswer(c.rawError(frame, msg.ResultApplicationUnsupported, nil))
		n.log.Info("diameter request for an application not served", "peer", c.host, "session_id", sid, "cmd", cmd, "app", h.App)
		return
	}
	handler := n.handlers[handlerKey{h.App, h.Cmd}]
	if handler == nil && n.relay != nil {
		c.relayRequest(h, frame, sid, cmd)
		return
	}
	if _, err := n.dict.FindCommand(h.App, h.Cmd); err != nil || handler == nil {
		c.writeAnswer(c.rawError(frame, msg.ResultCommandUnsupported, nil))
		n.log.Info("diameter command not supported", "peer", c.host, "session_id", sid, "cmd", cmd, "app", h.App)
		return
	}
	if p := wire.Validate(frame, n.dict); p != nil {
		c.writeAnswer(c.rawError(frame, p.Code, p.FailedAVP))
		n.log.Info("diameter request malformed", "peer", c.host, "session_id", sid, "cmd", cmd, "code", p.Code, "err", p.Reason)
		return
	}
	req, err := n.decode(frame)
	if err != nil {
		c.writeAnswer(c.rawError(frame, msg.ResultUnableToComply, nil))
		n.log.Warn("diameter request not decodable", "peer", c.host, "session_id", sid, "cmd", cmd, "err", err)
		return
	}
	ans := c.call(handler, req, sid, cmd)
	// The answer travels back with the request's identifiers (RFC 6733 §6.2).
	ans.Header.CommandFlags &^= diam.RequestFlag | diam.RetransmittedFlag
	ans.Header.CommandCode = h.Cmd
	ans.Header.ApplicationID = h.App
	ans.Header.HopByHopID = h.HopByHop
	ans.Header.EndToEndID = h.EndToEnd
	b, err := ans.Serialize()
	if err != nil {
		n.log.Error("diameter answer not encodable", "peer", c.host, "session_id", sid, "cmd", cmd, "err", err)
		b = c.rawError(frame, msg.ResultUnableToComply, nil)
	}
	c.writeAnswer(b)
}

// call runs the handler; a panic or a missing answer becomes 5012 DIAMETER_UNABLE_TO_COMPLY.
func (c *conn) call(h Handler, req *diam.Message, sid, cmd string) (ans *diam.Message) {
	n := c.n
	defer func() {
		if r := recover(); r != nil {
			n.log.Error("diameter handler panicked", "peer", c.host, "session_id", sid, "cmd", cmd,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			ans = msg.ErrorAnswer(req, n.cfg.Identity, fmt.Errorf("handler panic: %v", r))
		}
	}()
	ans, err := h(n.runCtx(), req)
	if err != nil {
		n.log.Info("diameter handler error", "peer", c.host, "session_id", sid, "cmd", cmd, "err", err)
		return msg.ErrorAnswer(req, n.cfg.Identity, err)
	}
	if ans == nil {
		n.log.Error("diameter handler returned no answer", "peer", c.host, "session_id", sid, "cmd", cmd)
		return msg.ErrorAnswer(req, n.cfg.Identity, errors.New("no answer"))
	}
	return ans
}

// relayRequest gives a request no Handle registration covers to the relay handler, raw. Only
// its structure is checked (header, AVP lengths and flags): RFC 6733 4.1, "Diameter Relay and
// Redirect agents MUST NOT reject messages with unrecognized AVPs"; the server the request is
// for checks it against its application.
func (c *conn) relayRequest(h wire.Header, frame []byte, sid, cmd string) {
	n := c.n
	if p := wire.Validate(frame, nil); p != nil {
		c.writeAnswer(c.rawError(frame, p.Code, p.FailedAVP))
		n.log.Info("diameter request malformed", "peer", c.host, "session_id", sid, "cmd", cmd, "code", p.Code, "err", p.Reason)
		return
	}
	ans, err := func() (ans []byte, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("relay handler panic: %v", r)
				n.log.Error("diameter relay handler panicked", "peer", c.host, "session_id", sid, "cmd", cmd,
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
		return n.relay(n.runCtx(), c.host, frame)
	}()
	if err == nil && len(ans) < wire.HeaderLen {
		err = errors.New("relay handler returned no answer")
	}
	if err != nil {
		n.log.Info("diameter relay failed", "peer", c.host, "session_id", sid, "cmd", cmd, "err", err)
		ans = c.rawError(frame, msg.ResultUnableToComply, nil)
	}
	// The answer goes back with this hop's identifiers (RFC 6733 §6.2).
	ans[4] &^= wire.FlagRequest | wire.FlagRetransmitted
	wire.SetHopByHop(ans, h.HopByHop)
	binary.BigEndian.PutUint32(ans[16:20], h.EndToEnd)
	c.answerPath().writeAnswer(ans)
}

func (c *conn) rawError(frame []byte, code uint32, failed []byte) []byte {
	id := c.n.cfg.Identity
	return wire.ErrorAnswer(frame, id.Host, id.Realm, code, failed)
}

func (c *conn) writeAnswer(b []byte) {
	h, _ := wire.ParseHeader(b)
	c.countAnswer(h, b, dirOut)
	_ = c.send(b) // a closed connection has nobody to answer
}

// serves reports whether we serve app on this connection: one of the common applications, or
// any application when we are a relay.
func (c *conn) serves(app uint32) bool {
	if hasRelay(c.n.cfg.Apps) {
		return true
	}
	for _, a := range c.apps {
		if a.ID == app {
			return true
		}
	}
	return false
}

func (c *conn) countAnswer(h wire.Header, frame []byte, dir string) {
	c.n.metrics.answers.WithLabelValues(c.n.cmdName(h, false), strconv.FormatUint(uint64(answerCode(frame)), 10), dir).Inc()
}

// answerCode is the Result-Code of an answer, else the Experimental-Result-Code, else 0.
func answerCode(frame []byte) uint32 {
	if a, ok := wire.Find(frame, avp.ResultCode, 0); ok && len(a.Data) == 4 {
		return binary.BigEndian.Uint32(a.Data)
	}
	if g, ok := wire.Find(frame, avp.ExperimentalResult, 0); ok {
		var code uint32
		_ = wire.Walk(g.Data, func(a wire.AVP) bool {
			if a.Code == avp.ExperimentalResultCode && len(a.Data) == 4 {
				code = binary.BigEndian.Uint32(a.Data)
				return false
			}
			return true
		})
		return code
	}
	return 0
}

// cmdName is the command's abbreviation for labels and logs ("UAR", "CEA"), or its code.
func (n *Node) cmdName(h wire.Header, request bool) string {
	cmd, err := n.dict.FindCommand(h.App, h.Cmd)
	if err != nil || cmd.Short == "" {
		return strconv.FormatUint(uint64(h.Cmd), 10)
	}
	if request {
		return cmd.Short + "R"
	}
	return cmd.Short + "A"
}

// decode decodes a whole frame with the dictionary. go-diameter can panic on malformed
// Grouped AVPs; what a peer sends must never crash the node.
func (n *Node) decode(frame []byte) (m *diam.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("diameter decoder panic: %v", r)
		}
	}()
	return diam.ReadMessage(bytes.NewReader(frame), n.dict)
}
