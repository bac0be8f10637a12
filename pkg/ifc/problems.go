package ifc

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a document or model: Field is its path in the XML element
// names of TS 29.228 ("InitialFilterCriteria[1].TriggerPoint.SPT[0].Method"), so an HTTP layer
// can return it as the "field" of its error.
type Problem struct {
	Field   string
	Message string
}

func (p Problem) Error() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Problems is every Problem found, in document order. The parsers and the Validate methods
// return it as their error; use errors.As to get the list.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// collector gathers Problems under a field path prefix.
type collector struct {
	ps Problems
}

func (c *collector) add(field, format string, args ...any) {
	c.ps = append(c.ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was collected, so callers can return it directly.
func (c *collector) err() error {
	if len(c.ps) == 0 {
		return nil
	}
	return c.ps
}

// join builds a field path: join("A", "B") is "A.B", join("", "B") is "B".
func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// index builds "Name[i]" under prefix.
func index(prefix, name string, i int) string {
	return join(prefix, fmt.Sprintf("%s[%d]", name, i))
}
