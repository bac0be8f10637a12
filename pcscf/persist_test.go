package pcscf

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/sip/header"
	"github.com/imscore/imscore/pkg/sip/siptest"
)

// Environment of the P-CSCF child process of TestCrashKeepsBindings.
const (
	childDirEnv   = "PCSCF_TEST_CHILD_DIR"
	childICSCFEnv = "PCSCF_TEST_CHILD_ICSCF"
)

// TestCrashChild is the P-CSCF that TestCrashKeepsBindings kills: it runs only as that child,
// prints its SIP address and serves until killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("runs as the child of TestCrashKeepsBindings")
	}
	n := listeningNode(t, dir, os.Getenv(childICSCFEnv), func(cfg *Config) {
		cfg.BindingsFlushInterval = config.Duration(50 * time.Millisecond)
	})
	go func() {
		<-n.SIP().Ready()
		fmt.Println("sip", n.SIP().Addr())
	}()
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestCrashKeepsBindings: a P-CSCF killed with SIGKILL after a registration knows the binding
// when it starts again (the journal, written behind, survives the process).
func TestCrashKeepsBindings(t *testing.T) {
	core := fakeCore(t, make(chan *gosip.Request, 4))
	dir := t.TempDir()
	icscf := core.URI("")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childICSCFEnv+"="+icscf.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var addr string
	sc := bufio.NewScanner(out)
	for addr == "" && sc.Scan() {
		fmt.Sscanf(sc.Text(), "sip %s", &addr)
	}
	if addr == "" {
		t.Fatalf("child P-CSCF printed no address (%v)", sc.Err())
	}

	req := registerTo(addr, "600")
	req.AppendHeader(gosip.NewHeader("Authorization", `Digest username="u", realm="r", nonce="n", uri="sip:r", response="00"`))
	if res := siptest.Do(t, siptest.NewClient(t), req); res.StatusCode != 200 {
		t.Fatalf("REGISTER %d", res.StatusCode)
	}
	// The binding reaches the journal within the flush interval; then the process dies
	// without any chance to save.
	journal := filepath.Join(dir, journalFile)
	waitFor(t, "the binding in the journal", func() bool {
		b, _ := os.ReadFile(journal)
		return bytes.Contains(b, []byte(impu))
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	n, _ := startNodeIn(t, core.URI(""), dir)
	bs := n.Bindings()
	if len(bs) != 1 || bs[0].AOR != impu || len(bs[0].Contacts) != 1 || bs[0].Contacts[0].URI.Host != "192.0.2.10" ||
		len(bs[0].ServiceRoute) != 1 || len(bs[0].AssociatedURIs) != 2 {
		t.Fatalf("bindings after SIGKILL and restart: %+v", bs)
	}
}

func TestJournal(t *testing.T) {
	dir := t.TempDir()
	b := newBindings()
	p := &persister{b: b, dir: dir, interval: time.Hour, log: siptest.Logger()}
	if err := p.open(); err != nil {
		t.Fatal(err)
	}
	binding := func(aor string, contacts ...string) Binding {
		nb := Binding{AOR: aor, Transport: "UDP", Source: "192.0.2.10:5070"}
		for _, c := range contacts {
			var u gosip.Uri
			gosip.ParseUri(c, &u)
			nb.Contacts = append(nb.Contacts, Contact{URI: u, Expires: time.Now().Add(time.Hour)})
		}
		return nb
	}
	b.put(binding("sip:a@example.org", "sip:a@192.0.2.1"))
	b.put(binding("sip:b@example.org", "sip:b@192.0.2.2", "sip:b@192.0.2.3"))
	b.put(binding("sip:c@example.org", "sip:c@192.0.2.4"))
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	b.delete("sip:a@example.org")
	var gone gosip.Uri
	gosip.ParseUri("sip:b@192.0.2.2", &gone)
	b.terminate("sip:b@example.org", &gone)
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	// A process killed in the middle of a write leaves a torn line.
	f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"aor":"sip:c@example.org","bind`)
	f.Close()

	check := func(what string) {
		t.Helper()
		again := newBindings()
		if err := (&persister{b: again, dir: dir, log: siptest.Logger()}).load(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got := again.list(time.Now())
		if len(got) != 2 || got[0].AOR != "sip:b@example.org" || len(got[0].Contacts) != 1 ||
			got[0].Contacts[0].URI.Host != "192.0.2.3" || got[1].AOR != "sip:c@example.org" {
			t.Errorf("%s: bindings %+v", what, got)
		}
	}
	check("journal over the start snapshot")
	p.lines = minCompactLines + 1
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, journalFile)); err != nil || fi.Size() != 0 {
		t.Errorf("journal after compaction: %v, %v", fi, err)
	}
	check("compacted snapshot")
}

// BenchmarkJournalFlush is the persister's work per changed binding (a registration or
// re-registration), done every flush interval off the request path: encoding the binding and
// its share of one append to the journal.
func BenchmarkJournalFlush(b *testing.B) {
	bs := newBindings()
	p := &persister{b: bs, dir: b.TempDir(), interval: time.Hour, log: siptest.Logger()}
	if err := p.open(); err != nil {
		b.Fatal(err)
	}
	defer p.journal.Close()
	var contact gosip.Uri
	gosip.ParseUri("sip:001010000000001@192.0.2.10:5060", &contact)
	sr, _ := header.ParseNameAddrs("<sip:orig@127.0.0.1:6060;lr>")
	pau, _ := header.ParseNameAddrs("<" + impu + ">, <tel:+15550001>")
	const batch = 100 // 500 registrations/s, 200 ms
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			bs.put(Binding{AOR: fmt.Sprintf("sip:%d@ims.mnc001.mcc001.3gppnetwork.org", i), Transport: "UDP", Source: "192.0.2.10:5060",
				Contacts: []Contact{{URI: contact, Expires: time.Now().Add(time.Hour)}}, ServiceRoute: sr, AssociatedURIs: pau})
		}
		if err := p.flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/binding")
}
