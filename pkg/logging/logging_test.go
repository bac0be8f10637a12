package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name, format, level string
		wantErr             bool
		wantDebug           bool // a debug line is written
		wantJSON            bool
	}{
		{name: "defaults", wantDebug: false},
		{name: "text debug", format: "text", level: "debug", wantDebug: true},
		{name: "json warn", format: "json", level: "warn", wantJSON: true},
		{name: "json upper-case level", format: "json", level: "DEBUG", wantDebug: true, wantJSON: true},
		{name: "bad format", format: "xml", wantErr: true},
		{name: "bad level", level: "verbose", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(tt.format, tt.level, &buf)
			if tt.wantErr {
				if err == nil {
					t.Fatal("New succeeded")
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			log.Debug("dbg")
			if got := strings.Contains(buf.String(), "dbg"); got != tt.wantDebug {
				t.Errorf("debug line written = %v, want %v", got, tt.wantDebug)
			}
			buf.Reset()
			log.Error("boom", KeyCallID, "abc@host")
			var rec map[string]any
			isJSON := json.Unmarshal(buf.Bytes(), &rec) == nil
			if isJSON != tt.wantJSON {
				t.Fatalf("JSON output = %v, want %v: %s", isJSON, tt.wantJSON, buf.String())
			}
			if isJSON && rec["call_id"] != "abc@host" {
				t.Errorf("call_id = %v", rec["call_id"])
			}
			if !isJSON && !strings.Contains(buf.String(), "call_id=abc@host") {
				t.Errorf("text line lacks call_id: %s", buf.String())
			}
		})
	}
}

// The attributes of With, put off until a line is written, still come out in their groups.
func TestWithAttrsAndGroups(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(FormatText, "info", &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.With(KeyCallID, "c1").Debug("not written")
	log.With(KeyCallID, "c1").With(KeyMethod, "INVITE").WithGroup("g").With("a", 1).Info("m", "b", 2)
	got := strings.TrimSpace(buf.String())
	if !strings.HasSuffix(got, `msg=m call_id=c1 method=INVITE g.a=1 g.b=2`) {
		t.Errorf("got %q", got)
	}
}
