// Command ussd runs the ussd node. With no arguments it uses the single-host defaults; see
// docs/CONFIG.md for -config, -check and -log-format.
package main

import (
	"context"
	"log/slog"

	"github.com/imscore/imscore/pkg/cli"
	"github.com/imscore/imscore/ussd"
)

func main() {
	var cfg ussd.Config
	cli.Main(ussd.Name, &cfg, func(ctx context.Context, log *slog.Logger) error {
		node, err := ussd.New(cfg, log)
		if err != nil {
			return err
		}
		return node.Run(ctx)
	})
}
