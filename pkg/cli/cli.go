// Package cli is the code path every thin main shares: flags, config loading and validation,
// the logger, signal handling and the exit code.
//
//	flags -> Defaults -> config.Load -> Validate -> logger -> run(ctx) until SIGINT/SIGTERM
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/logging"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // the node failed while running
	ExitConfig = 2 // bad flags or configuration, or -check found problems
)

// Config is a node's configuration as the runner needs it.
type Config interface {
	// Defaults fills in the single-host defaults; the config file then overrides them.
	Defaults()
	// Validate reports every problem at once (a *config.ValidationError).
	Validate() error
	// Logging is the log section, which the -log-format flag overrides.
	Logging() config.Log
}

// RunFunc runs the node until ctx is done. It returns nil on a clean shutdown. log has no node
// attribute: each node's New adds its own, so that imslab's nodes log under their own names.
type RunFunc func(ctx context.Context, log *slog.Logger) error

// Main runs a node binary and exits with its code. SIGINT and SIGTERM cancel the context passed
// to run, which should then shut down cleanly and return nil.
func Main(name string, cfg Config, run RunFunc) {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, name, os.Args[1:], os.Stdout, os.Stderr, cfg, run)
	stop()
	os.Exit(code)
}

// DefaultGCPercent is the garbage collector's target (GOGC) of every node binary, unless the
// environment sets GOGC. A node's live heap is small (bindings, registrations, profiles), and
// every SIP and Diameter message allocates, so at Go's default of 100 the collector runs many
// times a second. At 400 the CSCFs spend 14-18% less CPU per re-REGISTER, for 50-100 MB more
// memory each (docs/PERFORMANCE.md, "GC target").
const DefaultGCPercent = 400

// tuneGC sets DefaultGCPercent when GOGC is not in the environment; GOGC and GOMEMLIMIT keep
// their meaning.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(DefaultGCPercent)
	}
}

// Run is Main without the process: it parses args, loads and validates cfg and calls run,
// returning the exit code. stdout receives the -check verdict and the -healthcheck answer;
// stderr usage, problems and logs.
func Run(ctx context.Context, name string, args []string, stdout, stderr io.Writer, cfg Config, run RunFunc) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file` (default: the built-in single-host defaults)")
	check := fs.Bool("check", false, "validate the configuration, print every problem and exit")
	logFormat := fs.String("log-format", "", "log `format`: text or json (overrides the config file)")
	health := fs.Bool("healthcheck", false, "GET /healthz of the running node (admin.listen) and exit 0 when it answers, for container healthchecks")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [-config FILE] [-check | -healthcheck] [-log-format text|json]\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		fs.Usage()
		return ExitConfig
	}

	cfg.Defaults()
	if *configPath != "" {
		if err := config.Load(*configPath, cfg); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return ExitConfig
		}
	}
	var problems config.Problems
	problems.Merge("", cfg.Validate())
	if err := logging.CheckFormat(*logFormat); err != nil {
		problems.Addf("-log-format", "%v", err)
	}
	if err := problems.Err(); err != nil {
		var ve *config.ValidationError
		errors.As(err, &ve)
		fmt.Fprintf(stderr, "%s: %d configuration problem(s):\n", name, len(ve.Problems))
		for _, p := range ve.Problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		return ExitConfig
	}
	if *check {
		fmt.Fprintf(stdout, "%s: configuration ok\n", name)
		return ExitOK
	}
	if *health {
		return healthcheck(ctx, cfg, stdout, stderr)
	}

	logCfg := cfg.Logging()
	if *logFormat != "" {
		logCfg.Format = *logFormat
	}
	log, err := logging.New(logCfg.Format, logCfg.Level, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitConfig
	}
	log.Info("starting", logging.KeyNode, name)
	if err := run(ctx, log); err != nil {
		log.Error("stopped", logging.KeyNode, name, logging.KeyErr, err)
		return ExitFailed
	}
	log.Info("stopped", logging.KeyNode, name)
	return ExitOK
}
