// Command dra runs the dra node. With no arguments it uses the single-host defaults; see
// docs/CONFIG.md for -config, -check and -log-format.
package main

import (
	"context"
	"log/slog"

	"github.com/imscore/imscore/dra"
	"github.com/imscore/imscore/pkg/cli"
)

func main() {
	var cfg dra.Config
	cli.Main(dra.Name, &cfg, func(ctx context.Context, log *slog.Logger) error {
		node, err := dra.New(cfg, log)
		if err != nil {
			return err
		}
		return node.Run(ctx)
	})
}
