// Package logging builds the slog.Logger every node writes to stderr and fixes the attribute keys
// that log lines about messages carry, so that one grep follows a call or a Diameter session
// across nodes.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
)

// Attribute keys. A log line about a SIP message carries KeyCallID; one about a Diameter
// message carries KeySessionID and KeyCmd.
const (
	KeyCallID    = "call_id"
	KeyMethod    = "method"
	KeySessionID = "session_id"
	KeyCmd       = "cmd"
	KeyIMPU      = "impu"
	KeyIMPI      = "impi"
	KeyPeer      = "peer"
	KeyNode      = "node"
	KeyErr       = "err"
)

// Output formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// New returns a logger writing to w in format (text, the default when empty, or json) at level
// (debug, info — the default when empty —, warn or error).
func New(format, level string, w io.Writer) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	if err := CheckFormat(format); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == FormatJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(&deferred{h: h}), nil
}

// deferred puts off WithAttrs until a record is written. The nodes make a logger with the
// Call-ID or Session-Id of every message they handle, and most of those loggers write nothing
// at the configured level: slog's text and JSON handlers would format the attributes at once.
type deferred struct {
	h     slog.Handler
	attrs []slog.Attr
}

func (d *deferred) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, l) }

func (d *deferred) Handle(ctx context.Context, r slog.Record) error {
	return d.materialize().Handle(ctx, r)
}

func (d *deferred) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return d
	}
	return &deferred{h: d.h, attrs: append(slices.Clip(d.attrs), attrs...)}
}

func (d *deferred) WithGroup(name string) slog.Handler {
	return &deferred{h: d.materialize().WithGroup(name)}
}

func (d *deferred) materialize() slog.Handler {
	if len(d.attrs) == 0 {
		return d.h
	}
	return d.h.WithAttrs(d.attrs)
}

// CheckFormat reports a format other than text, json or empty.
func CheckFormat(format string) error {
	switch format {
	case "", FormatText, FormatJSON:
		return nil
	}
	return fmt.Errorf("log format must be %s or %s, got %q", FormatText, FormatJSON, format)
}

// ParseLevel reads debug, info, warn or error (any case); empty is info.
func ParseLevel(level string) (slog.Level, error) {
	switch strings.ToLower(level) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level must be debug, info, warn or error, got %q", level)
}
