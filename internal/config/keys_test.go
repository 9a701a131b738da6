package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// configKeys lists every key of the configuration schema that holds a
// value (not a section of keys) by its path, "socketio.ping_interval"
// ("[]" marks a list's elements), walking the yaml tags of Config's fields.
func configKeys() []string {
	var keys []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			key, ft := prefix+name, f.Type
			for ft.Kind() == reflect.Pointer || (ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.String) {
				if ft.Kind() == reflect.Slice {
					key += "[]"
				}
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
				walk(key+".", ft)
			} else {
				keys = append(keys, key)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return keys
}

// docs/options.md maps every configuration key to its Go option: a key
// added to the schema must be added there too.
func TestOptionsDocListsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/options.md")
	if err != nil {
		t.Fatal(err)
	}
	keys := configKeys()
	if len(keys) < 100 {
		t.Fatalf("only %d keys found walking Config: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.Contains(string(doc), "| `"+k+"` |") {
			t.Errorf("docs/options.md has no row for %s", k)
		}
	}
}
