// Command smsip runs the smsip node. With no arguments it uses the single-host defaults; see
// docs/CONFIG.md for -config, -check and -log-format.
package main

import (
	"context"
	"log/slog"

	"github.com/imscore/imscore/pkg/cli"
	"github.com/imscore/imscore/smsip"
)

func main() {
	var cfg smsip.Config
	cli.Main(smsip.Name, &cfg, func(ctx context.Context, log *slog.Logger) error {
		node, err := smsip.New(cfg, log)
		if err != nil {
			return err
		}
		return node.Run(ctx)
	})
}
