package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"

	"github.com/imscore/imscore/pkg/diameter/msg"
	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/diameter/wire"
)

// Disconnect-Cause values (RFC 6733 §5.4.3).
const (
	disconnectRebooting = 0
)

// conn is one transport connection to a peer after a successful capabilities exchange. One
// goroutine reads, one writes (every message goes through out), one runs the watchdog.
type conn struct {
	n        *Node
	nc       net.Conn
	addr     string // remote address, kept: an SCTP conn forgets it once closed
	network  string
	outbound bool
	host     string
	realm    string
	apps     []App // common applications
	relay    bool  // the peer is a relay: any application may go to it

	out       chan []byte
	done      chan struct{}
	closeOnce sync.Once
	rx        chan bool // watchdog events: true for a DWA, false for any other message

	mu      sync.Mutex
	pending map[uint32]chan []byte // answers awaited, by Hop-by-Hop Identifier

	state       atomic.Int32
	requestsIn  atomic.Uint64
	requestsOut atomic.Uint64
}

func (n *Node) newConn(nc net.Conn, network string, outbound bool) *conn {
	return &conn{
		n: n, nc: nc, addr: addrString(nc.RemoteAddr()), network: network, outbound: outbound,
		out:     make(chan []byte, 256),
		done:    make(chan struct{}),
		rx:      make(chan bool, 16),
		pending: map[uint32]chan []byte{},
	}
}

// dial connects to pc and runs the capabilities exchange as initiator.
func (n *Node) dial(ctx context.Context, pc PeerConfig, reopen bool) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, ceTimeout)
	defer cancel()
	nc, err := transport.Dial(dctx, pc.Endpoint.Network, pc.Endpoint.Addr)
	if err != nil {
		return nil, err
	}
	c := n.newConn(nc, pc.Endpoint.Network, true)
	if err := c.exchangeAsInitiator(pc); err != nil {
		nc.Close()
		return nil, err
	}
	if !n.register(c) {
		nc.Close()
		return nil, errors.New("election lost to the connection the peer opened")
	}
	c.start(reopen)
	return c, nil
}

func (c *conn) exchangeAsInitiator(pc PeerConfig) error {
	stop := time.AfterFunc(ceTimeout, func() { c.nc.Close() })
	defer stop.Stop()
	cer := c.n.newCER(c.nc.LocalAddr())
	if _, err := cer.WriteTo(c.nc); err != nil {
		return fmt.Errorf("send CER: %w", err)
	}
	frame, err := wire.ReadFrame(c.nc, c.n.cfg.MaxMessage)
	if err != nil {
		return fmt.Errorf("read CEA: %w", err)
	}
	cea, err := c.n.decode(frame)
	if err != nil {
		return fmt.Errorf("decode CEA: %w", err)
	}
	if cea.Header.CommandCode != diam.CapabilitiesExchange || cea.Header.CommandFlags&diam.RequestFlag != 0 {
		return fmt.Errorf("expected CEA, got command %d", cea.Header.CommandCode)
	}
	code, err := resultCode(cea)
	if err != nil {
		return fmt.Errorf("CEA: %w", err)
	}
	if code != msg.ResultSuccess {
		return fmt.Errorf("CEA Result-Code %d", code)
	}
	c.host, c.realm = identity(cea)
	if !strings.EqualFold(c.host, pc.Host) {
		return fmt.Errorf("CEA from Origin-Host %q, configured %q", c.host, pc.Host)
	}
	theirs := advertised(cea)
	c.apps = commonApps(c.n.cfg.Apps, theirs)
	c.relay = hasRelay(theirs)
	if len(c.apps) == 0 {
		// RFC 6733 §5.3: no common application, the initiator disconnects.
		return fmt.Errorf("no common application (peer advertises %v)", theirs)
	}
	return nil
}

// accept runs the capabilities exchange as responder on an accepted connection.
func (n *Node) accept(ctx context.Context, nc net.Conn, network string) {
	c := n.newConn(nc, network, false)
	if err := c.exchangeAsResponder(); err != nil {
		if ctx.Err() == nil {
			n.log.Warn("diameter capabilities exchange failed", "peer", c.host, "addr", c.addr, "err", err)
		}
		nc.Close()
		return
	}
	c.start(false)
}

func (c *conn) exchangeAsResponder() error {
	n := c.n
	stop := time.AfterFunc(ceTimeout, func() { c.nc.Close() })
	defer stop.Stop()
	frame, err := wire.ReadFrame(c.nc, n.cfg.MaxMessage)
	if err != nil {
		return fmt.Errorf("read CER: %w", err)
	}
	cer, err := n.decode(frame)
	if err != nil {
		return fmt.Errorf("decode CER: %w", err)
	}
	if cer.Header.CommandCode != diam.CapabilitiesExchange || cer.Header.CommandFlags&diam.RequestFlag == 0 {
		return fmt.Errorf("expected CER, got command %d", cer.Header.CommandCode)
	}
	c.host, c.realm = identity(cer)
	theirs := advertised(cer)
	c.apps = commonApps(n.cfg.Apps, theirs)
	c.relay = hasRelay(theirs)
	reply := func(code uint32) error {
		_, err := n.newCEA(cer, code, c.nc.LocalAddr()).WriteTo(c.nc)
		return err
	}
	switch {
	case c.host == "":
		reply(msg.ResultMissingAVP)
		return errors.New("CER without Origin-Host")
	case !n.cfg.AcceptUnknownPeers && !n.knows(c.host):
		reply(msg.ResultUnknownPeer)
		return fmt.Errorf("CER from unknown peer %q", c.host)
	case len(c.apps) == 0:
		reply(msg.ResultNoCommonApplication)
		return fmt.Errorf("no common application (peer advertises %v)", theirs)
	case !n.register(c):
		reply(msg.ResultElectionLost)
		return errors.New("election lost: keeping the connection we initiated")
	}
	if err := reply(msg.ResultSuccess); err != nil {
		c.close(err)
		return fmt.Errorf("send CEA: %w", err)
	}
	return nil
}

func (n *Node) knows(host string) bool {
	for _, pc := range n.cfg.Peers {
		if strings.EqualFold(pc.Host, host) {
			return true
		}
	}
	return false
}

func hasRelay(apps []App) bool {
	for _, a := range apps {
		if a.ID == Relay {
			return true
		}
	}
	return false
}

// start runs the connection's goroutines once the capabilities exchange succeeded.
func (c *conn) start(reopen bool) {
	n := c.n
	n.track(c)
	initial := stateOkay
	if reopen {
		initial = stateReopen
	}
	c.setState(initial)
	n.log.Info("diameter peer connected", "peer", c.host, "realm", c.realm, "network", c.network,
		"addr", c.addr, "outbound", c.outbound, "apps", c.apps, "state", initial.String())
	n.wg.Go(c.writeLoop)
	n.wg.Go(c.readLoop)
	n.wg.Go(func() { c.watchdog(initial) })
}

func (c *conn) writeLoop() {
	var batch net.Buffers
	for {
		select {
		case b := <-c.out:
			batch = append(batch[:0], b)
			if c.network == transport.TCP {
				// Messages queued meanwhile go in the same write: one system call for a burst
				// (a TCP stream has no message boundaries; SCTP keeps one message per write).
				batch = c.drain(batch)
			}
			for i, b := range batch {
				if b == nil { // queued by answerBase after a DPA
					if err := c.write(batch[:i]); err == nil {
						c.close(errors.New("peer sent DPR"))
					}
					return
				}
			}
			if err := c.write(batch); err != nil {
				return
			}
		case <-c.done:
			return
		}
	}
}

// maxBatch bounds the messages writeLoop puts in one write.
const maxBatch = 64

// drain appends the messages already queued, up to maxBatch in all, without waiting.
func (c *conn) drain(batch net.Buffers) net.Buffers {
	for len(batch) < maxBatch {
		select {
		case b := <-c.out:
			batch = append(batch, b)
			if b == nil {
				return batch
			}
		default:
			return batch
		}
	}
	return batch
}

// write sends the messages of batch, in one writev on TCP; a failure closes the connection.
func (c *conn) write(batch net.Buffers) error {
	var err error
	if len(batch) == 1 {
		_, err = c.nc.Write(batch[0])
	} else if len(batch) > 1 {
		_, err = batch.WriteTo(c.nc)
	}
	if err != nil {
		c.close(fmt.Errorf("write: %w", err))
	}
	return err
}

func (c *conn) readLoop() {
	// Buffered: a frame's header and body come in one read, often with the next frames.
	r := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		frame, err := wire.ReadFrame(r, c.n.cfg.MaxMessage)
		if err != nil {
			// A bad header leaves no way to find the next message in the stream.
			c.close(fmt.Errorf("read: %w", err))
			return
		}
		c.receive(frame)
	}
}

// send queues one message for the writer.
func (c *conn) send(b []byte) error {
	select {
	case c.out <- b:
		return nil
	case <-c.done:
		return ErrPeerDown
	}
}

// roundTrip sends a request frame whose Hop-by-Hop Identifier is hbh and waits for its answer.
func (c *conn) roundTrip(ctx context.Context, hbh uint32, frame []byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.pending[hbh] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, hbh)
		c.mu.Unlock()
	}()
	if err := c.send(frame); err != nil {
		return nil, err
	}
	timer := time.NewTimer(c.n.cfg.RequestTimeout)
	defer timer.Stop()
	select {
	case ans := <-ch:
		return ans, nil
	case <-c.done:
		select {
		case ans := <-ch:
			return ans, nil
		default:
			return nil, fmt.Errorf("%w: %s", ErrPeerDown, c.host)
		}
	case <-timer.C:
		return nil, fmt.Errorf("%w after %s (peer %s)", ErrTimeout, c.n.cfg.RequestTimeout, c.host)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// deliver hands an answer to the request waiting for it. RFC 6733 §6.2: an answer matching
// no pending request is discarded.
func (c *conn) deliver(h wire.Header, frame []byte) {
	c.mu.Lock()
	ch := c.pending[h.HopByHop]
	delete(c.pending, h.HopByHop)
	c.mu.Unlock()
	if ch == nil {
		c.n.log.Debug("diameter answer matches no request; discarded", "peer", c.host, "cmd", h.Cmd, "hop_by_hop", h.HopByHop)
		return
	}
	ch <- frame
}

// close tears the connection down once; requests awaiting answers get ErrPeerDown.
func (c *conn) close(reason error) {
	c.closeOnce.Do(func() {
		close(c.done)
		c.nc.Close()
		c.n.unregister(c)
		c.setState(stateDown)
		c.n.log.Info("diameter peer disconnected", "peer", c.host, "addr", c.addr, "reason", reason)
	})
}

// disconnect sends DPR with cause and closes after the DPA or when ctx ends (RFC 6733 §5.4).
func (c *conn) disconnect(ctx context.Context, cause int32) {
	n := c.n
	dpr := diam.NewMessage(diam.DisconnectPeer, diam.RequestFlag, 0, n.nextHopByHop(), n.nextEndToEnd(), n.dict)
	dpr.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(n.cfg.Identity.Host))
	dpr.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(n.cfg.Identity.Realm))
	dpr.NewAVP(avp.DisconnectCause, avp.Mbit, 0, datatype.Enumerated(cause))
	if b, err := dpr.Serialize(); err == nil {
		rctx, cancel := context.WithCancel(ctx)
		_, _ = c.roundTrip(rctx, dpr.Header.HopByHopID, b)
		cancel()
	}
	c.close(errors.New("disconnected (DPR sent)"))
}

func (c *conn) status() PeerStatus {
	return PeerStatus{
		Host: c.host, Realm: c.realm, Addr: c.addr, Network: c.network,
		Outbound: c.outbound, State: state(c.state.Load()).String(), Apps: c.apps,
		RequestsIn: c.requestsIn.Load(), RequestsOut: c.requestsOut.Load(),
	}
}

// usable reports whether requests for app may go to this connection.
func (c *conn) usable(app uint32) bool {
	if state(c.state.Load()) != stateOkay {
		return false
	}
	if c.relay {
		return true
	}
	for _, a := range c.apps {
		if a.ID == app {
			return true
		}
	}
	return false
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
