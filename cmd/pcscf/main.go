// Command pcscf runs the pcscf node. With no arguments it uses the single-host defaults; see
// docs/CONFIG.md for -config, -check and -log-format.
package main

import (
	"context"
	"log/slog"

	"github.com/imscore/imscore/pcscf"
	"github.com/imscore/imscore/pkg/cli"
)

func main() {
	var cfg pcscf.Config
	cli.Main(pcscf.Name, &cfg, func(ctx context.Context, log *slog.Logger) error {
		node, err := pcscf.New(cfg, log)
		if err != nil {
			return err
		}
		return node.Run(ctx)
	})
}
