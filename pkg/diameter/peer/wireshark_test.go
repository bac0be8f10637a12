package peer

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imscore/imscore/pkg/diameter/transport"
	"github.com/imscore/imscore/pkg/testutil"
)

// TestWireshark runs the TCP end-to-end test under a tshark capture and has Wireshark's
// Diameter dissector check what we sent: every command is one it names, and nothing is
// malformed or raises an expert warning, except the deliberately malformed request and its
// answer (found by their Hop-by-Hop Identifier).
func TestWireshark(t *testing.T) {
	tshark := testutil.NeedTool(t, "tshark")
	pcap := filepath.Join(t.TempDir(), "diameter.pcap")
	var port string
	var capture *exec.Cmd
	runEndToEnd(t, transport.TCP, func(p string) {
		port = p
		capture = startCapture(t, tshark, port, pcap)
	})
	time.Sleep(300 * time.Millisecond) // let dumpcap write the last packets
	capture.Process.Signal(syscall.SIGINT)
	if err := capture.Wait(); err != nil {
		t.Fatalf("tshark capture: %v", err)
	}
	decode := "tcp.port==" + port + ",diameter"

	out := tsharkRun(t, tshark, "-r", pcap, "-d", decode, "-Y", "diameter",
		"-T", "fields", "-E", "separator=|", "-e", "frame.number", "-e", "diameter.cmd.code",
		"-e", "diameter.applicationId", "-e", "diameter.flags.request", "-e", "diameter.hopbyhopid")
	named := tsharkRun(t, tshark, "-r", pcap, "-d", decode, "-Y", "diameter", "-T", "fields", "-e", "_ws.col.Info")
	for _, want := range []string{"cmd=Capabilities-Exchange", "cmd=Device-Watchdog", "cmd=User-Authorization", "cmd=Disconnect-Peer", "cmd=Multimedia-Auth"} {
		if !strings.Contains(named, want) {
			t.Errorf("no %s in the capture", want)
		}
	}
	if strings.Contains(named, "cmd=Unknown") {
		// The raw test sends command 9999 on purpose; anything else unnamed is ours.
		for _, line := range strings.Split(named, "\n") {
			if strings.Contains(line, "cmd=Unknown") && !strings.Contains(line, "9999") {
				t.Errorf("unnamed command: %s", line)
			}
		}
	}
	if len(strings.TrimSpace(out)) == 0 {
		t.Fatal("no Diameter message in the capture")
	}

	excluded := fmt.Sprintf("(diameter.hopbyhopid == 0x%08x || diameter.hopbyhopid == 0x%08x)", malformedHopByHop, missingHopByHop)
	bad := tsharkRun(t, tshark, "-r", pcap, "-d", decode,
		"-Y", "(_ws.malformed || _ws.expert.severity >= warning) && !("+excluded+") && !(diameter.cmd.code == 9999)",
		"-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info", "-e", "_ws.expert.message")
	if strings.TrimSpace(bad) != "" {
		t.Errorf("Wireshark flags these packets:\n%s", bad)
	}
	flagged := tsharkRun(t, tshark, "-r", pcap, "-d", decode, "-Y", "_ws.expert.severity >= warning && "+excluded,
		"-T", "fields", "-e", "frame.number")
	if strings.TrimSpace(flagged) == "" {
		t.Errorf("the deliberately malformed request was not flagged: the check above proves nothing")
	}
	t.Logf("%d Diameter packets checked", strings.Count(out, "\n"))
}

// startCapture starts tshark on lo for the port and returns once it is capturing.
func startCapture(t *testing.T, tshark, port, pcap string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(tshark, "-i", "lo", "-f", "tcp port "+port, "-w", pcap)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Capturing on") {
				close(ready)
				signalled = true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("tshark did not start capturing")
	}
	time.Sleep(200 * time.Millisecond) // "Capturing on" is printed just before the capture loop
	return cmd
}

func tsharkRun(t *testing.T, tshark string, args ...string) string {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command(tshark, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}
