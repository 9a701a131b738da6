package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that Parse never panics, that every failure is an Errors
// value naming the file, and that every accepted config is valid and survives
// a yaml.Marshal/Parse round trip. The seed corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("listen: \":8080\"\nnamespaces:\n  - {name: /, app: chat}\n"))
	f.Add([]byte("socketio:\n  ping_interval: abc\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		c, err := Parse(data, file, testApps)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned both a config and an error: %v", err)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 || len(es) > maxErrors+1 {
				t.Fatalf("error is not a non-empty, bounded Errors: %#v", err)
			}
			for _, e := range es {
				if e == nil || e.File != file || e.Line < 0 || e.Msg == "" {
					t.Fatalf("bad *Error: %#v", e)
				}
				if !strings.HasPrefix(e.Error(), file+":") {
					t.Fatalf("error %q does not start with the file name", e.Error())
				}
			}
			return
		}
		if err := c.Validate(testApps); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		c2, err := Parse(out, "marshalled", testApps)
		if err != nil {
			t.Fatalf("Parse(Marshal(c)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, c2)
		}
	})
}
