// Command hss runs the HSS. With no arguments it uses the single-host defaults; see
// docs/CONFIG.md for -config, -check and -log-format.
//
// Environment: HSS_API_TOKEN, when set, is the REST API bearer token (it overrides api_token).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/imscore/imscore/hss"
	"github.com/imscore/imscore/pkg/cli"
)

func main() {
	var cfg hss.Config
	cli.Main(hss.Name, &cfg, func(ctx context.Context, log *slog.Logger) error {
		if token := os.Getenv("HSS_API_TOKEN"); token != "" {
			cfg.APIToken = token
		}
		node, err := hss.New(cfg, log)
		if err != nil {
			return err
		}
		return node.Run(ctx)
	})
}
