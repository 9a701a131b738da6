//go:build !unix

package conformance

import "testing"

func startReference(t *testing.T) string {
	t.Skip("the Node.js reference runs on unix only")
	return ""
}
