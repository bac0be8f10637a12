package config

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration: the dotted path of the field
// ("diameter.peers[0].addr") and what is wrong with it.
type Problem struct {
	Field string
	Msg   string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Msg
	}
	return p.Field + ": " + p.Msg
}

// Problems collects every problem a Validate method finds, so that an operator fixes a config
// file in one pass instead of one error per run. The zero value is ready to use.
type Problems struct {
	list []Problem
}

// Addf records a problem with the field at path field.
func (p *Problems) Addf(field, format string, args ...any) {
	p.list = append(p.list, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Check runs v.Validate and records its problems with their fields prefixed by prefix, so a
// shared section validated inside a node reports "diameter.origin_host" rather than "origin_host".
func (p *Problems) Check(prefix string, v interface{ Validate() error }) {
	p.Merge(prefix, v.Validate())
}

// Merge records the problems carried by err (a *ValidationError from another collector) under
// prefix. Any other non-nil error is recorded as one problem of the field prefix.
func (p *Problems) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		p.list = append(p.list, Problem{Field: prefix, Msg: err.Error()})
		return
	}
	for _, q := range ve.Problems {
		p.list = append(p.list, Problem{Field: join(prefix, q.Field), Msg: q.Msg})
	}
}

// Err returns nil when nothing was recorded, else a *ValidationError listing every problem.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: append([]Problem(nil), p.list...)}
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case strings.HasPrefix(field, "["):
		return prefix + field
	default:
		return prefix + "." + field
	}
}

// ValidationError lists every problem found in a configuration, one per line.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
