package server

import (
	"fmt"
	"log/slog"
	"reflect"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
)

// The shipped config.yaml, mapped to the library's options as the server
// does, is exactly the library's presets: an embedder who starts from
// socketio.DefaultOptions gets what `go run .` serves, and neither can
// change without the other.
func TestShippedConfigIsDefaultOptions(t *testing.T) {
	cfg, err := config.Load("../../config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ioOptions(cfg, socketIOEngine(cfg, engineOptions(cfg, nil)), nil, nil)
	for _, d := range diffFields("socketio.Options", reflect.ValueOf(*got), reflect.ValueOf(socketio.DefaultOptions())) {
		t.Error(d)
	}

	// Recovery is off in both; turned on, config.yaml's section is the
	// preset.
	rc := cfg.SocketIO.ConnectionStateRecovery
	rc.Enabled = true
	for _, d := range diffFields("socketio.RecoveryOptions", reflect.ValueOf(*recoveryOptions(rc)), reflect.ValueOf(socketio.DefaultRecoveryOptions())) {
		t.Error(d)
	}
}

var loggerType = reflect.TypeFor[*slog.Logger]()

// diffFields compares two values field by field and describes each
// difference by its field path. Functions and loggers are left out: they
// are code and wiring, not defaults.
func diffFields(path string, a, b reflect.Value) []string {
	if a.Kind() == reflect.Func || a.Type() == loggerType {
		return nil
	}
	switch a.Kind() {
	case reflect.Struct:
		var out []string
		for i := range a.NumField() {
			out = append(out, diffFields(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))...)
		}
		return out
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return []string{fmt.Sprintf("%s: config.yaml gives %v, the preset %v", path, a, b)}
			}
			return nil
		}
		return diffFields(path, a.Elem(), b.Elem())
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{fmt.Sprintf("%s: config.yaml gives %#v, the preset %#v", path, a.Interface(), b.Interface())}
	}
	return nil
}
