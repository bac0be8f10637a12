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
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"

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
	if err := TuneGC(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, name, os.Args[1:], os.Stdout, os.Stderr, cfg, run)
	stop()
	os.Exit(code)
}

// DefaultGCPercent is the garbage collector's target (GOGC) of every node binary, unless the
// environment sets GOGC. Every SIP and Diameter message allocates, so at Go's default of 100 the
// collector runs many times a second; at 400 the CSCFs spend 14-22% less CPU per re-REGISTER.
// The price is memory: the heap may grow to five times what is live, and under sustained load
// the live heap is mostly the completed SIP transactions kept for Timer J (RFC 3261 17.2.2),
// hundreds of MB at 1,000 re-REGISTER/s (docs/PERFORMANCE.md, "Memory under sustained load").
// memLimitRatio bounds that inside a container.
const DefaultGCPercent = 400

// memLimitRatio is the share of the container's memory limit (cgroup v1 or v2) that becomes
// the heap's soft limit (GOMEMLIMIT) when the environment sets none: near it the collector
// works harder instead of the kernel killing the node.
const memLimitRatio = 0.9

// TuneGC applies the nodes' GC settings (tuneGC) with the container's limit from its cgroup.
// Main calls it; a binary that runs a node through Run calls it first. The error says why the
// container's limit could not be read; the GC target is set all the same.
func TuneGC() error { return tuneGC(cgroupOptional(memlimit.FromCgroup)) }

// cgroupOptional makes a process outside any cgroup, or on a system without them, one with no
// limit instead of an error at every start.
func cgroupOptional(limit memlimit.Provider) memlimit.Provider {
	return func() (uint64, error) {
		l, err := limit()
		if errors.Is(err, memlimit.ErrNoCgroup) || errors.Is(err, memlimit.ErrCgroupsNotSupported) {
			return 0, memlimit.ErrNoLimit
		}
		return l, err
	}
}

// tuneGC sets DefaultGCPercent when GOGC is not in the environment, and a soft memory limit of
// memLimitRatio of the limit limit reports when GOMEMLIMIT is not; AUTOMEMLIMIT=off keeps Go's
// default (no soft limit), and so does no limit (memlimit.ErrNoLimit).
func tuneGC(limit memlimit.Provider) error {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(DefaultGCPercent)
	}
	if _, err := memlimit.Set(memlimit.WithProvider(limit), memlimit.WithRatio(memLimitRatio)); err != nil {
		return fmt.Errorf("soft memory limit from the container not set: %w", err)
	}
	return nil
}

// runtimeGC is the GC target and soft memory limit in force, for the starting log line:
// gomemlimit is "none" without a limit.
func runtimeGC() (gogc int64, gomemlimit string) {
	samples := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(samples)
	gomemlimit = "none"
	if l := samples[1].Value.Uint64(); l < math.MaxInt64 {
		gomemlimit = strconv.FormatUint(l, 10)
	}
	return int64(samples[0].Value.Uint64()), gomemlimit
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
	gogc, gomemlimit := runtimeGC()
	log.Info("starting", logging.KeyNode, name, "gogc", gogc, "gomemlimit", gomemlimit)
	if err := run(ctx, log); err != nil {
		log.Error("stopped", logging.KeyNode, name, logging.KeyErr, err)
		return ExitFailed
	}
	log.Info("stopped", logging.KeyNode, name)
	return ExitOK
}
