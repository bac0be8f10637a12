// Command imslab runs every node of the suite in one process on the single-host defaults
// (CONTRACT.md), each with its own admin server and metrics registry, and prints where everything
// listens and the demo subscribers, which it provisions in the HSS store when they are absent (a
// second start keeps the data under ./data). Ctrl-C (or SIGTERM) stops every node cleanly.
//
// Environment: HSS_API_TOKEN, when set, is the HSS REST API token (default imslab-admin).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/pkg/cli"
	"github.com/imscore/imscore/pkg/logging"
)

func main() {
	var cfg Config
	cli.Main("imslab", &cfg, func(ctx context.Context, log *slog.Logger) error {
		if token := os.Getenv("HSS_API_TOKEN"); token != "" {
			cfg.HSS.APIToken = token
		}
		members := cfg.members()
		nodes := make(map[string]node, len(members))
		for _, m := range members {
			n, err := m.build(log)
			if err != nil {
				return err
			}
			nodes[m.name] = n
		}
		// The demo subscribers go straight into the store the HSS has just opened, before any
		// node serves: a UE that registers at once finds them.
		if h, ok := nodes[hss.Name].(*hss.Node); ok {
			if err := provision(ctx, h.Store(), demoSubscribers, log.With(logging.KeyNode, "imslab")); err != nil {
				return err
			}
		}
		printBanner(os.Stdout, members, cfg.HSS.APIToken, demoSubscribers)
		return runAll(ctx, nodes)
	})
}

// node is what imslab needs of each node package.
type node interface {
	Run(ctx context.Context) error
}

// runAll runs every node until ctx is done or one fails; a failure stops the others. It returns
// every node's error.
func runAll(ctx context.Context, nodes map[string]node) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for name, n := range nodes {
		wg.Go(func() {
			if err := n.Run(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
