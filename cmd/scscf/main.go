// Command scscf runs the scscf node. With no arguments it uses the single-host defaults; see
// docs/CONFIG.md for -config, -check and -log-format.
package main

import (
	"context"
	"log/slog"

	"github.com/imscore/imscore/pkg/cli"
	"github.com/imscore/imscore/scscf"
)

func main() {
	var cfg scscf.Config
	cli.Main(scscf.Name, &cfg, func(ctx context.Context, log *slog.Logger) error {
		node, err := scscf.New(cfg, log)
		if err != nil {
			return err
		}
		return node.Run(ctx)
	})
}
