// Package logging builds the slog.Logger every node writes to stderr and fixes the attribute keys
// that log lines about messages carry, so that one grep follows a call or a Diameter session
// across nodes.
package logging

import (
	"fmt"
	"io"
	"log/slog"
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
	if format == FormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
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
