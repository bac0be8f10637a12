// Command icscf runs the icscf node. With no arguments it uses the single-host defaults; see
// docs/CONFIG.md for -config, -check and -log-format.
package main

import (
	"context"
	"log/slog"

	"github.com/imscore/imscore/icscf"
	"github.com/imscore/imscore/pkg/cli"
)

func main() {
	var cfg icscf.Config
	cli.Main(icscf.Name, &cfg, func(ctx context.Context, log *slog.Logger) error {
		node, err := icscf.New(cfg, log)
		if err != nil {
			return err
		}
		return node.Run(ctx)
	})
}
