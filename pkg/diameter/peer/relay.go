package peer

import (
	"context"
	"fmt"
	"slices"

	"github.com/imscore/imscore/pkg/diameter/wire"
)

// RequestRawTo sends a request frame, as RequestRaw does, to the connection to host (whichever
// side opened it), for a relay agent that routes by its own table (the DRA). The connection
// must be OKAY and serve the request's application (RFC 3539 §3.4: no new request goes to a
// peer that is not OKAY), else the error is ErrNoPeer.
func (n *Node) RequestRawTo(ctx context.Context, host string, req []byte) ([]byte, error) {
	h, err := wire.ParseHeader(req)
	if err != nil {
		return nil, fmt.Errorf("diameter relay: %w", err)
	}
	c := n.connFor(host)
	if c == nil || !c.usable(h.App) {
		return nil, fmt.Errorf("%w: %s for application %d", ErrNoPeer, host, h.App)
	}
	return n.forwardOn(ctx, c, slices.Clone(req))
}

// Usable reports whether a request of application app may go to host now: it has a connection
// in the OKAY state that serves app.
func (n *Node) Usable(host string, app uint32) bool {
	c := n.connFor(host)
	return c != nil && c.usable(app)
}

// answerPath is the connection the answer to a request received on c goes back on: c, or, when
// c closed while the request was relayed and the peer has connected again, its new connection,
// so that a relayed answer still reaches the peer the request came from (RFC 6733 §6.2).
func (c *conn) answerPath() *conn {
	select {
	case <-c.done:
		if now := c.n.connFor(c.host); now != nil {
			return now
		}
	default:
	}
	return c
}

// AnswerCode returns the Result-Code of an answer frame, else its Experimental-Result-Code,
// else 0: what a relay reads to decide on a failover and to count answers.
func AnswerCode(frame []byte) uint32 { return answerCode(frame) }
