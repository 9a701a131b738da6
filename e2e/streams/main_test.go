package streams

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
