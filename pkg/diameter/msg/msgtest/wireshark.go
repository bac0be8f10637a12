package msgtest

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imscore/imscore/pkg/testutil"
)

// Wireshark writes frames, alternately request and answer, as one TCP conversation to port
// 3868 in a pcap file, has tshark decode it and fails on anything Wireshark finds wrong:
// malformed packets, expert warnings or errors, AVPs it cannot name. Every command in want
// (as Wireshark names it, e.g. "Multimedia-Auth (303)") must be decoded twice: request and
// answer.
func Wireshark(t *testing.T, frames [][]byte, want []string) {
	tshark := testutil.NeedTool(t, "tshark")
	path := filepath.Join(t.TempDir(), "diameter.pcap")
	if err := os.WriteFile(path, pcap(frames), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-n", "-r", path, "-V").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	text := string(out)
	if n := strings.Count(text, "Diameter Protocol"); n != len(frames) {
		t.Errorf("tshark decoded %d Diameter messages, want %d", n, len(frames))
	}
	bad := regexp.MustCompile(`(?i)malformed|expert info \((warning|error)|unknown\(|undecoded|bogus|\[unknown`)
	for line := range strings.Lines(text) {
		if bad.MatchString(line) {
			t.Errorf("tshark: %s", strings.TrimSpace(line))
		}
	}
	for _, w := range want {
		if n := strings.Count(text, "Command Code: "+w); n != 2 {
			t.Errorf("tshark decoded %q %d times, want request and answer", w, n)
		}
	}
	if t.Failed() {
		t.Logf("tshark output:\n%s", text)
	}
}

// pcap builds a classic pcap (LINKTYPE_RAW, IPv4) with one TCP segment per frame: even
// frames go from 127.0.0.1:40000 to 127.0.0.2:3868, odd frames come back, sequence and
// acknowledgement numbers continuous so the TCP analysis stays quiet.
func pcap(frames [][]byte) []byte {
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	w([]uint32{0xa1b2c3d4})
	w([]uint16{2, 4})
	w([]uint32{0, 0, 65535, 101})
	seq := [2]uint32{1000, 5000}
	for i, f := range frames {
		dir := i % 2
		seg := segment(f, dir, seq[dir], seq[1-dir])
		seq[dir] += uint32(len(f))
		w([]uint32{uint32(1700000000 + i), 0, uint32(len(seg)), uint32(len(seg))})
		b.Write(seg)
	}
	return b.Bytes()
}

func segment(payload []byte, dir int, seq, ack uint32) []byte {
	src, dst := []byte{127, 0, 0, 1}, []byte{127, 0, 0, 2}
	sport, dport := uint16(40000), uint16(3868)
	if dir == 1 {
		src, dst, sport, dport = dst, src, dport, sport
	}
	tcp := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 5 << 4
	tcp[13] = 0x18 // PSH, ACK
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	tcp = append(tcp, payload...)
	pseudo := append(append(append([]byte{}, src...), dst...), 0, 6, byte(len(tcp)>>8), byte(len(tcp)))
	binary.BigEndian.PutUint16(tcp[16:], checksum(append(pseudo, tcp...)))

	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
	ip[8] = 64
	ip[9] = 6
	copy(ip[12:], src)
	copy(ip[16:], dst)
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	return append(ip, tcp...)
}

// checksum is the Internet checksum of RFC 1071.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
