//go:build bench

// Command profnode runs one node as cmd/<node> does, with a CPU profile: the nodes serve no
// /debug/pprof, so the registration benchmark (test/bench/register.sh, PROFILE=1) runs this
// binary under each node's name. The node is the binary's base name (pcscf, icscf, scscf, hss
// or dra); IMS_CPUPROFILE names the profile file, written when the node stops (SIGTERM), and
// IMS_CPUPROFILE.allocs gets the allocation profile (go tool pprof -sample_index=alloc_space).
//
//	go build -tags bench -o bin/scscf ./test/bench/profnode
//	IMS_CPUPROFILE=scscf.pprof bin/scscf -config scscf.yaml
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"

	"github.com/imscore/imscore/dra"
	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/icscf"
	"github.com/imscore/imscore/pcscf"
	"github.com/imscore/imscore/pkg/cli"
	"github.com/imscore/imscore/scscf"
)

func main() {
	name := filepath.Base(os.Args[0])
	var run func(context.Context) int
	switch name {
	case pcscf.Name:
		run = serve(name, pcscf.New)
	case icscf.Name:
		run = serve(name, icscf.New)
	case scscf.Name:
		run = serve(name, scscf.New)
	case hss.Name:
		run = serve(name, hss.New)
	case dra.Name:
		run = serve(name, dra.New)
	default:
		fmt.Fprintf(os.Stderr, "profnode: unknown node %q: name the binary pcscf, icscf, scscf, hss or dra\n", name)
		os.Exit(cli.ExitConfig)
	}
	if path := os.Getenv("IMS_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "profnode: %v\n", err)
			os.Exit(cli.ExitConfig)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "profnode: %v\n", err)
			os.Exit(cli.ExitConfig)
		}
	}
	if err := cli.TuneGC(); err != nil { // as cli.Main does
		fmt.Fprintf(os.Stderr, "profnode: %v\n", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	pprof.StopCPUProfile() // a no-op without IMS_CPUPROFILE
	if path := os.Getenv("IMS_CPUPROFILE"); path != "" {
		writeAllocs(path + ".allocs")
	}
	os.Exit(code)
}

// serve returns cli.Run for a node: New(cfg, log) then Run(ctx), as every cmd/<node> does.
func serve[C any, PC interface {
	*C
	cli.Config
}, N interface{ Run(context.Context) error }](name string, newNode func(C, *slog.Logger) (N, error)) func(context.Context) int {
	return func(ctx context.Context) int {
		var cfg C
		return cli.Run(ctx, name, os.Args[1:], os.Stdout, os.Stderr, PC(&cfg), func(ctx context.Context, log *slog.Logger) error {
			node, err := newNode(cfg, log)
			if err != nil {
				return err
			}
			return node.Run(ctx)
		})
	}
}

// writeAllocs writes the allocation profile since the start to path.
func writeAllocs(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "profnode: %v\n", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintf(os.Stderr, "profnode: %v\n", err)
	}
}
