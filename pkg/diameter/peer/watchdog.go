package peer

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
)

// state is the RFC 3539 §3.4 watchdog state of a connection; the values are those of the
// ims_diameter_peer_state gauge.
type state int32

const (
	stateDown    state = 0
	stateOkay    state = 1
	stateSuspect state = 2
	stateReopen  state = 3
)

func (s state) String() string {
	switch s {
	case stateOkay:
		return "OKAY"
	case stateSuspect:
		return "SUSPECT"
	case stateReopen:
		return "REOPEN"
	}
	return "DOWN"
}

func (c *conn) setState(s state) {
	if state(c.state.Swap(int32(s))) != s {
		c.n.metrics.peerState.WithLabelValues(c.host).Set(float64(s))
	}
}

// tw is Tw with the jitter of RFC 3539 §3.4.1 (±2s). A Tw below 6s only exists in tests; the
// jitter shrinks with it so the timer stays positive.
func (n *Node) tw() time.Duration {
	j := min(2*time.Second, n.cfg.Watchdog/3)
	return n.cfg.Watchdog - j + rand.N(2*j+1)
}

// notify tells the watchdog a message arrived. DWAs are counted in REOPEN and must not be lost;
// other messages only restart the timer, so one pending event is enough.
func (c *conn) notify(dwa bool) {
	if dwa {
		select {
		case c.rx <- true:
		case <-c.done:
		}
		return
	}
	select {
	case c.rx <- false:
	default:
	}
}

// watchdog runs the RFC 3539 §3.4.1 state machine for the connection, both for connections we
// dialled and ones we accepted: after Tw without traffic it sends a DWR; a second Tw without an
// answer makes the peer SUSPECT (no new requests go to it), a third closes the connection
// (DOWN, the dialler reconnects). A reconnection starts in REOPEN and needs three DWAs in a
// row before OKAY.
func (c *conn) watchdog(s state) {
	pending := false
	numDWA := 0
	if s == stateReopen {
		pending = c.sendDWR() == nil
	}
	timer := time.NewTimer(c.n.tw())
	defer timer.Stop()
	for {
		select {
		case <-c.done:
			return
		case dwa := <-c.rx:
			switch s {
			case stateOkay, stateSuspect:
				if dwa {
					pending = false
				}
				s = stateOkay
				timer.Reset(c.n.tw())
			case stateReopen:
				if !dwa {
					continue // Throwaway(): only DWAs count while reopening
				}
				pending = false
				numDWA++
				if numDWA == 3 {
					s = stateOkay
					timer.Reset(c.n.tw())
				}
			}
			c.setState(s)
		case <-timer.C:
			switch {
			case s == stateOkay && !pending, s == stateReopen && !pending:
				pending = c.sendDWR() == nil
			case s == stateOkay:
				s = stateSuspect // Failover(): routing skips the peer from now on
				c.n.log.Warn("diameter peer not answering DWR; SUSPECT", "peer", c.host)
			case s == stateSuspect:
				c.close(errors.New("no DWA for 2×Tw (RFC 3539 watchdog)"))
				return
			case s == stateReopen && numDWA < 0:
				c.close(errors.New("no DWA while reopening (RFC 3539 watchdog)"))
				return
			case s == stateReopen:
				numDWA = -1
			}
			c.setState(s)
			timer.Reset(c.n.tw())
		}
	}
}

// sendDWR queues a Device-Watchdog-Request (RFC 6733 §5.5.1). Its DWA is matched by the
// reader, not through the pending table.
func (c *conn) sendDWR() error {
	n := c.n
	m := diam.NewMessage(diam.DeviceWatchdog, diam.RequestFlag, 0, n.nextHopByHop(), n.nextEndToEnd(), n.dict)
	m.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity(n.cfg.Identity.Host))
	m.NewAVP(avp.OriginRealm, avp.Mbit, 0, datatype.DiameterIdentity(n.cfg.Identity.Realm))
	m.NewAVP(avp.OriginStateID, avp.Mbit, 0, datatype.Unsigned32(n.stateID))
	b, err := m.Serialize()
	if err != nil {
		return err
	}
	return c.send(b)
}
