package peer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/wire"
)

// Request sends req to a peer and returns its answer. It sets the Hop-by-Hop Identifier, the
// End-to-End Identifier when zero, and Origin-Host/Origin-Realm when missing. The peer is the
// Destination-Host when that host is an OKAY peer (whichever side opened the connection: the
// HSS sends RTR/PPR back over the connection the S-CSCF or the DRA opened), else one of the
// OKAY peers that serve the application (and, when they can be told apart, the
// Destination-Realm), chosen round robin. A lost connection gives ErrPeerDown, no answer within
// RequestTimeout gives ErrTimeout: a request is never silently dropped.
func (n *Node) Request(ctx context.Context, req *diam.Message) (*diam.Message, error) {
	if !hasAVP(req, avp.OriginHost) {
		req.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(n.cfg.Identity.Host))
	}
	if !hasAVP(req, avp.OriginRealm) {
		req.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(n.cfg.Identity.Realm))
	}
	if req.Header.EndToEndID == 0 {
		req.Header.EndToEndID = n.nextEndToEnd()
	}
	req.Header.CommandFlags |= diam.RequestFlag
	frame, err := req.Serialize()
	if err != nil {
		return nil, fmt.Errorf("diameter request: encode: %w", err)
	}
	ans, err := n.forward(ctx, frame)
	if err != nil {
		return nil, err
	}
	m, err := n.decode(ans)
	if err != nil {
		return nil, fmt.Errorf("diameter request: decode answer: %w", err)
	}
	return m, nil
}

// RequestRaw sends a request frame as it is, apart from a new Hop-by-Hop Identifier
// (RFC 6733 §6.1.9), to the peer Request would choose, and returns the answer frame. The
// caller (a relay) restores its own Hop-by-Hop Identifier in the answer it passes back.
func (n *Node) RequestRaw(ctx context.Context, req []byte) ([]byte, error) {
	if _, err := wire.ParseHeader(req); err != nil {
		return nil, fmt.Errorf("diameter relay: %w", err)
	}
	return n.forward(ctx, slices.Clone(req))
}

// forward sends a request frame, which it owns, with a new Hop-by-Hop Identifier and returns
// the answer frame.
func (n *Node) forward(ctx context.Context, frame []byte) ([]byte, error) {
	h, _ := wire.ParseHeader(frame)
	c, err := n.pick(frame, h.App)
	if err != nil {
		return nil, err
	}
	return n.forwardOn(ctx, c, frame)
}

// forwardOn sends a request frame, which it owns, on c with a new Hop-by-Hop Identifier and
// returns the answer frame.
func (n *Node) forwardOn(ctx context.Context, c *conn, frame []byte) ([]byte, error) {
	h, _ := wire.ParseHeader(frame)
	h.HopByHop = n.nextHopByHop()
	wire.SetHopByHop(frame, h.HopByHop)
	cmd := n.cmdName(h, true)
	c.requestsOut.Add(1)
	n.metrics.requests.WithLabelValues(cmd, appLabel(h.App), c.host, dirOut).Inc()
	start := time.Now()
	ans, err := c.roundTrip(ctx, h.HopByHop, frame)
	if err != nil {
		return nil, fmt.Errorf("diameter %s to %s: %w", cmd, c.host, err)
	}
	n.metrics.duration.WithLabelValues(cmd).Observe(time.Since(start).Seconds())
	return ans, nil
}

// pick chooses the connection for a request frame of application app.
func (n *Node) pick(frame []byte, app uint32) (*conn, error) {
	if host, ok := wire.DestinationHost(frame); ok {
		if c := n.connFor(host); c != nil && c.usable(app) {
			return c, nil
		}
	}
	realm, _ := wire.DestinationRealm(frame)
	// A relayed request never goes back to the peer it came from.
	origin, _ := wire.OriginHost(frame)
	n.mu.Lock()
	var inRealm, other []*conn
	for _, c := range n.conns {
		switch {
		case !c.usable(app), strings.EqualFold(c.host, origin):
		case realm == "" || strings.EqualFold(c.realm, realm):
			inRealm = append(inRealm, c)
		case c.relay:
			other = append(other, c)
		}
	}
	n.mu.Unlock()
	candidates := inRealm
	if len(candidates) == 0 {
		candidates = other
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("%w: application %d realm %q", ErrNoPeer, app, realm)
	}
	// Map order is random: sort for a stable round robin.
	sortConns(candidates)
	return candidates[int(n.rr.Add(1)%uint32(len(candidates)))], nil
}

func hasAVP(m *diam.Message, code uint32) bool {
	for _, a := range m.AVP {
		if a.Code == code && a.VendorID == 0 {
			return true
		}
	}
	return false
}
