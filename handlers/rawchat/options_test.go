package rawchat

import (
	"log/slog"
	"testing"
)

// A nil Logger is slog.Default(): dropped messages are not lost silently.
func TestNilLoggerIsDefault(t *testing.T) {
	if got := (&Options{}).withDefaults().Logger; got != slog.Default() {
		t.Fatalf("nil Logger became %v, want slog.Default()", got)
	}
}
