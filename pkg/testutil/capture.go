package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ArtifactsEnv names a directory where Stop copies every capture, so that a person can open the
// pcaps of a test run in Wireshark.
const ArtifactsEnv = "IMS_ARTIFACTS"

const (
	// captureStartTimeout bounds how long tshark may take to open the interface.
	captureStartTimeout = 15 * time.Second
	// captureSettle lets dumpcap's first read loop begin after it announced the capture, and
	// captureDrain lets it read what the kernel still buffers before Stop interrupts it (dumpcap
	// polls with a 250 ms timeout).
	captureSettle = 100 * time.Millisecond
	captureDrain  = 300 * time.Millisecond
	// captureStopTimeout bounds how long tshark may take to finish the file after SIGINT.
	captureStopTimeout = 10 * time.Second
)

// Capture is a running tshark capture started by StartCapture.
type Capture struct {
	t      testing.TB
	cmd    *exec.Cmd
	path   string
	stderr *Buffer // tshark's messages, shown when it fails
	exited chan struct{}
	err    error // tshark's exit status, valid once exited is closed
	ended  bool  // Stop or abandon ran
}

// StartCapture starts `tshark -i iface -f bpf -w <temp dir>/capture.pcap` and returns once tshark
// captures. The test is skipped when tshark is missing (see NeedTool) or may not capture on iface
// (not root and no capture capabilities), or fails in both cases when IMS_REQUIRE_TOOLS=1. The
// capture is stopped when the test ends if Stop was not called.
func StartCapture(t testing.TB, iface, bpf string) *Capture {
	t.Helper()
	tshark := NeedTool(t, "tshark")
	path := filepath.Join(t.TempDir(), "capture.pcap")
	c := &Capture{
		t:      t,
		path:   path,
		stderr: &Buffer{},
		exited: make(chan struct{}),
		cmd:    exec.Command(tshark, "-i", iface, "-f", bpf, "-F", "pcap", "-w", path),
	}
	c.cmd.Stderr = c.stderr
	// dumpcap, tshark's child, shares the stderr pipe: do not wait for it forever if it outlives tshark.
	c.cmd.WaitDelay = captureStopTimeout
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start tshark: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() { c.Stop() })

	deadline := time.After(captureStartTimeout)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for !c.capturing() {
		select {
		case <-poll.C:
		case <-c.exited:
			c.abandon()
			msg := strings.TrimSpace(c.stderr.String())
			if strings.Contains(strings.ToLower(msg), "permission") && os.Getenv(RequireToolsEnv) != "1" {
				t.Skipf("tshark may not capture on %s: %s", iface, msg)
			}
			t.Fatalf("tshark -i %s -f %q exited before capturing (%v): %s", iface, bpf, c.err, msg)
		case <-deadline:
			c.abandon()
			t.Fatalf("tshark -i %s: not capturing after %v: %s", iface, captureStartTimeout, c.stderr.String())
		}
	}
	time.Sleep(captureSettle)
	return c
}

// capturing reports whether dumpcap has opened the interface, set the filter and written the file
// header. tshark's "Capturing on" line comes before all that (a bad filter is reported after it), so
// it is no proof; its "Capture started." log line, or the 24-byte pcap header on disk, is.
func (c *Capture) capturing() bool {
	if strings.Contains(c.stderr.String(), "Capture started") {
		return true
	}
	fi, err := os.Stat(c.path)
	return err == nil && fi.Size() >= 24
}

// abandon kills a capture that never started, so that the cleanup does not Stop it.
func (c *Capture) abandon() {
	c.ended = true
	c.cmd.Process.Kill()
	<-c.exited
}

// Stop ends the capture and returns the path of the complete pcap. It may be called more than once,
// from the test's goroutine. When IMS_ARTIFACTS is set the pcap is also copied there, named after
// the test.
func (c *Capture) Stop() string {
	c.t.Helper()
	if !c.ended {
		c.ended = true
		c.stop()
	}
	return c.path
}

func (c *Capture) stop() {
	c.t.Helper()
	select {
	case <-c.exited:
		c.t.Errorf("tshark stopped capturing before Stop (%v): %s", c.err, c.stderr.String())
		return
	default:
	}
	time.Sleep(captureDrain)
	// SIGINT makes tshark tell dumpcap to stop, flush and close the file, then exit 0.
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		c.t.Errorf("interrupt tshark: %v", err)
	}
	select {
	case <-c.exited:
	case <-time.After(captureStopTimeout):
		c.cmd.Process.Kill()
		<-c.exited
		c.t.Errorf("tshark did not stop within %v after SIGINT; the pcap may be incomplete", captureStopTimeout)
		return
	}
	if c.err != nil && !interrupted(c.err) {
		c.t.Errorf("tshark: %v: %s", c.err, c.stderr.String())
		return
	}
	if _, err := os.Stat(c.path); err != nil {
		c.t.Errorf("tshark wrote no pcap: %v: %s", err, c.stderr.String())
		return
	}
	if dir := os.Getenv(ArtifactsEnv); dir != "" {
		c.keep(dir)
	}
}

// interrupted reports whether err is tshark dying of the SIGINT Stop sent, which some versions do
// after closing the file cleanly.
func interrupted(err error) bool {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGINT
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// keep copies the pcap into dir as <test name>.pcap, or <test name>-N.pcap when the test already
// kept one.
func (c *Capture) keep(dir string) {
	c.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Errorf("%s: %v", ArtifactsEnv, err)
		return
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		c.t.Errorf("read pcap: %v", err)
		return
	}
	base := unsafeFileChars.ReplaceAllString(c.t.Name(), "_")
	for n := 1; ; n++ {
		name := base + ".pcap"
		if n > 1 {
			name = base + "-" + strconv.Itoa(n) + ".pcap"
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			continue
		}
		if err == nil {
			_, err = f.Write(data)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			c.t.Errorf("keep pcap in %s: %v", dir, err)
			return
		}
		c.t.Logf("pcap kept as %s", f.Name())
		return
	}
}

// Dissector reads capture files with tshark. DecodeAs holds tshark -d rules for the random ports
// tests listen on, e.g. "tcp.port==38123,diameter", "sctp.port==38123,diameter" or
// "udp.port==5099,sip"; the zero Dissector uses only tshark's standard ports.
type Dissector struct {
	DecodeAs []string
}

// Decode runs `tshark -r pcap -Y displayFilter -T fields -e field...` and returns one row per
// matching frame, one column per field; a field that occurs more than once in a frame is joined
// with ",", one that is absent is "". The test fails when tshark rejects the file, filter or fields.
func (d Dissector) Decode(t testing.TB, pcap, displayFilter string, fields ...string) [][]string {
	t.Helper()
	if len(fields) == 0 {
		t.Fatalf("Decode %s: no fields", pcap)
	}
	args := []string{"-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := d.run(t, pcap, displayFilter, args...)
	var rows [][]string
	for line := range strings.SplitSeq(out, "\n") {
		if line == "" {
			continue
		}
		row := strings.Split(line, "\t")
		if len(row) != len(fields) {
			t.Fatalf("tshark row %q has %d columns, want %d (%v)", line, len(row), len(fields), fields)
		}
		rows = append(rows, row)
	}
	return rows
}

// CleanOption narrows what AssertClean checks.
type CleanOption func(*cleanOptions)

type cleanOptions struct {
	frames  []int
	filters []string
}

// ExcludeFrames leaves the given frame numbers (1-based, as Wireshark shows them) out of AssertClean,
// for a test that sends a malformed message on purpose.
func ExcludeFrames(frames ...int) CleanOption {
	return func(o *cleanOptions) { o.frames = append(o.frames, frames...) }
}

// ExcludeFilter leaves the frames matching a display filter out of AssertClean.
func ExcludeFilter(displayFilter string) CleanOption {
	return func(o *cleanOptions) { o.filters = append(o.filters, displayFilter) }
}

// expertWarning is the value of _ws.expert.severity for PI_WARN (epan/proto.h); PI_ERROR is above
// it, PI_CHAT and PI_NOTE (e.g. Diameter's "answer in frame") are below.
const expertWarning = 0x00600000

// AssertClean fails the test when tshark finds a malformed packet or an expert info of severity
// warning or error in pcap, listing each such frame with its expert messages. TCP analysis counts
// too (retransmissions, segments not captured, RST): a test that resets a connection on purpose
// excludes it, e.g. with ExcludeFilter("tcp.flags.reset == 1"). A pure ACK reporting a D-SACK
// (RFC 2883: a segment received twice) is left out: on a busy machine the kernel's tail loss
// probe resends a segment on loopback after a few milliseconds without an ACK, and the receiver
// then reports the duplicate. That ACK carries no payload of ours, and nothing was lost.
func (d Dissector) AssertClean(t testing.TB, pcap string, opts ...CleanOption) {
	t.Helper()
	var o cleanOptions
	for _, opt := range opts {
		opt(&o)
	}
	filter := fmt.Sprintf("(_ws.malformed || _ws.expert.severity >= 0x%x) && !(tcp.options.sack.dsack && tcp.len == 0)", expertWarning)
	if len(o.frames) > 0 {
		nums := make([]string, len(o.frames))
		for i, n := range o.frames {
			nums[i] = strconv.Itoa(n)
		}
		filter += " && !(frame.number in {" + strings.Join(nums, " ") + "})"
	}
	for _, f := range o.filters {
		filter += " && !(" + f + ")"
	}
	rows := d.Decode(t, pcap, filter, "frame.number", "_ws.col.Protocol", "_ws.expert.message", "_ws.col.Info")
	if len(rows) == 0 {
		return
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n  frame %s %s: %s (%s)", r[0], r[1], r[2], r[3])
	}
	t.Errorf("%s: %d frame(s) malformed or with expert warnings/errors:%s", pcap, len(rows), b.String())
}

// run runs tshark -r pcap with the DecodeAs rules, the display filter and args, and returns stdout.
// Its stderr is shown only when it fails: tshark always warns when run as root.
func (d Dissector) run(t testing.TB, pcap, displayFilter string, args ...string) string {
	t.Helper()
	tshark := NeedTool(t, "tshark")
	all := []string{"-r", pcap, "-n"}
	for _, rule := range d.DecodeAs {
		all = append(all, "-d", rule)
	}
	if displayFilter != "" {
		all = append(all, "-Y", displayFilter)
	}
	all = append(all, args...)
	cmd := exec.Command(tshark, all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v: %s", strings.Join(all, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String()
}

// Decode is Dissector{}.Decode: tshark's standard ports only.
func Decode(t testing.TB, pcap, displayFilter string, fields ...string) [][]string {
	t.Helper()
	return Dissector{}.Decode(t, pcap, displayFilter, fields...)
}

// AssertClean is Dissector{}.AssertClean: tshark's standard ports only.
func AssertClean(t testing.TB, pcap string, opts ...CleanOption) {
	t.Helper()
	Dissector{}.AssertClean(t, pcap, opts...)
}

// Buffer is a bytes.Buffer that a process (cmd.Stdout/Stderr) and the test may use at once.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Command is a Diameter command a capture must hold, request and answer, with the name
// Wireshark gives it.
type Command struct {
	Code int
	Name string
}

// CxCommands are the Cx commands of a registration and a call (TS 29.229 6.1).
var CxCommands = []Command{{300, "User-Authorization"}, {301, "Server-Assignment"}, {302, "Location-Info"}, {303, "Multimedia-Auth"}}

// RequireNamed fails the test unless tshark names every SIP method and every Diameter command
// (request and answer) in pcap.
func (d Dissector) RequireNamed(t testing.TB, pcap string, methods []string, cmds []Command) {
	t.Helper()
	for _, method := range methods {
		if rows := d.Decode(t, pcap, fmt.Sprintf("sip.Method == %q", method), "frame.number"); len(rows) == 0 {
			t.Errorf("tshark names no SIP %s in the capture", method)
		}
	}
	for _, cmd := range cmds {
		for _, flag := range []int{1, 0} {
			rows := d.Decode(t, pcap, fmt.Sprintf("diameter.cmd.code == %d && diameter.flags.request == %d", cmd.Code, flag), "_ws.col.Info")
			if len(rows) == 0 {
				t.Errorf("no Diameter command %d (request flag %d) in the capture", cmd.Code, flag)
				continue
			}
			if !strings.Contains(rows[0][0], cmd.Name) {
				t.Errorf("command %d: tshark names it %q, want %s", cmd.Code, rows[0][0], cmd.Name)
			}
		}
	}
}
