package testutil

import (
	"bytes"
	"fmt"
	"os"
)

// UDPBound reports whether a UDP socket is bound to 127.0.0.1:port. It reads /proc/net/udp
// (addresses in hex, host byte order) instead of probing with a bind of its own, which would
// make the program starting on that port fail with EADDRINUSE when the two meet.
func UDPBound(port int) bool {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte(fmt.Sprintf(" 0100007F:%04X ", port)))
}
