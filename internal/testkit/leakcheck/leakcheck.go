// Package leakcheck checks test binaries for leaked goroutines, knowing
// which long-lived goroutines belong to the process rather than a test.
package leakcheck

import (
	"testing"

	"go.uber.org/goleak"
)

// Options are the goleak options for this module: the engine's netpoller
// goroutine lives as long as the process, and its idle writer goroutines
// for a couple of seconds after their last write, by design.
func Options() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/switchboard/switchboard/engineio.(*netpoller).loop"),
		goleak.IgnoreTopFunction("github.com/switchboard/switchboard/engineio.writer"),
	}
}

// VerifyTestMain runs the tests, then fails if goroutines were leaked.
func VerifyTestMain(m *testing.M) { goleak.VerifyTestMain(m, Options()...) }
