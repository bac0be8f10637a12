package msg_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/imscore/imscore/pkg/diameter/msg"
)

// FuzzUnmarshalMatchesGoDiameter checks that msg.Unmarshal fills every typed message exactly
// as go-diameter's Message.Unmarshal, whose rules it keeps: the same values, the same error,
// a panic (returned as an error) where go-diameter panics. Its seeds are FuzzReadMessage's.
func FuzzUnmarshalMatchesGoDiameter(f *testing.F) {
	for _, b := range readCorpus(f, filepath.Join("testdata", "fuzz", "FuzzReadMessage")) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := readMessage(b)
		if m == nil {
			return
		}
		for _, got := range append(typedMessages(), &sample{}) {
			want := reflect.New(reflect.TypeOf(got).Elem()).Interface()
			wantPanic, wantErr := goDiameterUnmarshal(m, want)
			err := msg.Unmarshal(m, got)
			switch {
			case wantPanic:
				if err == nil || !strings.Contains(err.Error(), ": panic: ") {
					t.Fatalf("%T: go-diameter panics, msg.Unmarshal returned %v", got, err)
				}
			case wantErr != nil:
				if err == nil || !strings.HasSuffix(err.Error(), ": "+wantErr.Error()) {
					t.Fatalf("%T: err = %v, go-diameter's is %v", got, err, wantErr)
				}
			case err != nil:
				t.Fatalf("%T: err = %v, go-diameter's is nil", got, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%T differs from go-diameter's\n got %+v\nwant %+v", got, got, want)
			}
		}
	})
}

func goDiameterUnmarshal(m *diam.Message, v any) (panicked bool, err error) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	return false, m.Unmarshal(v)
}

// readCorpus returns the inputs of a "go test fuzz v1" corpus directory of []byte entries.
func readCorpus(tb testing.TB, dir string) [][]byte {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		_, value, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n")
		quoted, ok := strings.CutPrefix(value, "[]byte(")
		if !ok {
			tb.Fatalf("%s: not a []byte entry", e.Name())
		}
		s, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
		if err != nil {
			tb.Fatalf("%s: %v", e.Name(), err)
		}
		out = append(out, []byte(s))
	}
	return out
}
