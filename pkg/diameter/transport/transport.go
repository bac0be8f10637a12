// Package transport opens the stream connections Diameter runs on: TCP, or SCTP in the
// one-to-one style where the kernel has it (RFC 6733 §2.1). Callers read with io.ReadFull
// semantics and write one whole message per Write.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ishidawataru/sctp"
)

// PPID is the SCTP Payload Protocol Identifier for Diameter (IANA: 46; RFC 6733 §2.1), set on
// every message sent.
const PPID = 46

// Networks.
const (
	TCP  = "tcp"
	SCTP = "sctp"
)

// ErrNetwork is returned for a network other than "tcp" or "sctp".
var ErrNetwork = errors.New("transport: network must be tcp or sctp")

// SCTPSupported reports whether the kernel can open SCTP sockets. It probes once: on a kernel
// without SCTP, socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) fails with EPROTONOSUPPORT.
func SCTPSupported() bool { return sctpProbe() }

var sctpProbe = sync.OnceValue(func() bool {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_SCTP)
	if err != nil {
		return false
	}
	syscall.Close(fd)
	return true
})

// Listen listens on addr ("host:port") over network.
func Listen(network, addr string) (net.Listener, error) {
	switch network {
	case TCP:
		return net.Listen("tcp", addr)
	case SCTP:
		la, err := sctp.ResolveSCTPAddr("sctp", addr)
		if err != nil {
			return nil, fmt.Errorf("transport: resolve %s: %w", addr, err)
		}
		ln, err := sctp.ListenSCTP("sctp", la)
		if err != nil {
			return nil, fmt.Errorf("transport: listen sctp %s: %w", addr, err)
		}
		if err := setAcceptTimeout(ln, acceptPoll); err != nil {
			ln.Close()
			return nil, fmt.Errorf("transport: listen sctp %s: %w", addr, err)
		}
		return &sctpListener{SCTPListener: ln}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrNetwork, network)
}

// Dial connects to addr over network. The SCTP library dials synchronously, so a cancelled ctx
// abandons the attempt and closes the connection if it completes later.
func Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case TCP:
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	case SCTP:
		ra, err := sctp.ResolveSCTPAddr("sctp", addr)
		if err != nil {
			return nil, fmt.Errorf("transport: resolve %s: %w", addr, err)
		}
		type result struct {
			c   *sctp.SCTPConn
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := sctp.DialSCTP("sctp", nil, ra)
			done <- result{c, err}
		}()
		select {
		case r := <-done:
			if r.err != nil {
				return nil, fmt.Errorf("transport: dial sctp %s: %w", addr, r.err)
			}
			return sctpConn{r.c}, nil
		case <-ctx.Done():
			go func() {
				if r := <-done; r.err == nil {
					r.c.Close()
				}
			}()
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrNetwork, network)
}

// acceptPoll bounds how long an SCTP accept blocks before it looks whether the listener was
// closed: the library's accept is a plain blocking syscall outside Go's poller, and closing
// or shutting down an SCTP listening socket does not wake a thread blocked in accept(2).
const acceptPoll = 200 * time.Millisecond

// setAcceptTimeout sets SO_RCVTIMEO on the listening socket, which bounds accept(2) on Linux.
// Accepted sockets inherit it, so Accept sets it back to 0 (no timeout) on each of them.
func setAcceptTimeout(ln syscall.Conn, d time.Duration) error {
	rc, err := ln.SyscallConn()
	if err != nil {
		return err
	}
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptTimeval(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	}); err != nil {
		return err
	}
	return serr
}

type sctpListener struct {
	*sctp.SCTPListener
	closed atomic.Bool
}

func (l *sctpListener) Accept() (net.Conn, error) {
	for {
		if l.closed.Load() {
			return nil, net.ErrClosed
		}
		c, err := l.AcceptSCTP()
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			if l.closed.Load() {
				return nil, net.ErrClosed
			}
			return nil, err
		}
		if err := setAcceptTimeout(c, 0); err != nil {
			c.Close()
			return nil, fmt.Errorf("transport: accept sctp: %w", err)
		}
		return sctpConn{c}, nil
	}
}

func (l *sctpListener) Close() error {
	l.closed.Store(true)
	return l.SCTPListener.Close()
}

// sctpConn sends every message on stream 0 with the Diameter PPID.
type sctpConn struct{ *sctp.SCTPConn }

func (c sctpConn) Write(b []byte) (int, error) {
	return c.SCTPWrite(b, &sctp.SndRcvInfo{Stream: 0, PPID: PPID})
}
