package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/imscore/imscore/pkg/testutil"
)

func TestListenDial(t *testing.T) {
	for _, network := range []string{TCP, SCTP} {
		t.Run(network, func(t *testing.T) {
			if network == SCTP {
				testutil.NeedSCTP(t)
			}
			ln, err := Listen(network, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			msg := bytes.Repeat([]byte("diameter"), 1000)
			got := make(chan []byte, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				b := make([]byte, len(msg))
				if _, err := io.ReadFull(c, b); err != nil {
					got <- nil
					return
				}
				got <- b
			}()
			c, err := Dial(context.Background(), network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			if b := <-got; !bytes.Equal(b, msg) {
				t.Fatalf("received %d bytes, want the %d sent", len(b), len(msg))
			}
		})
	}
}

func TestBadNetwork(t *testing.T) {
	if _, err := Listen("udp", "127.0.0.1:0"); !errors.Is(err, ErrNetwork) {
		t.Errorf("Listen udp: %v", err)
	}
	if _, err := Dial(context.Background(), "udp", "127.0.0.1:1"); !errors.Is(err, ErrNetwork) {
		t.Errorf("Dial udp: %v", err)
	}
}

func TestSCTPSupportedMatchesKernel(t *testing.T) {
	_, err := Listen(SCTP, "127.0.0.1:0")
	if SCTPSupported() != (err == nil) {
		t.Fatalf("SCTPSupported() = %v but Listen sctp: %v", SCTPSupported(), err)
	}
}
