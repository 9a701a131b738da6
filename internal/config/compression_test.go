package config

import (
	"os"
	"strings"
	"testing"
)

func TestCompressionDefaults(t *testing.T) {
	c := Default()
	want := Compression{Enabled: true, Threshold: 1024}
	if c.SocketIO.PerMessageDeflate != want || c.SocketIO.HTTPCompression != want {
		t.Fatalf("defaults: per_message_deflate %+v, http_compression %+v, want %+v for both",
			c.SocketIO.PerMessageDeflate, c.SocketIO.HTTPCompression, want)
	}
}

func TestCompressionValues(t *testing.T) {
	for _, tt := range []struct {
		name, in  string
		pmd, http Compression
	}{
		{"absent", "listen: \":1\"\n", Compression{true, 1024}, Compression{true, 1024}},
		{"empty mappings", "socketio:\n  per_message_deflate: {}\n  http_compression: {}\n", Compression{true, 1024}, Compression{true, 1024}},
		{"off", "socketio:\n  per_message_deflate: {enabled: false}\n  http_compression:\n    enabled: false\n", Compression{false, 1024}, Compression{true, 1024}.off()},
		{"thresholds", "socketio:\n  per_message_deflate: {threshold: 0}\n  http_compression: {threshold: 65536}\n", Compression{true, 0}, Compression{true, 65536}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), "c.yaml", testApps)
			if err != nil {
				t.Fatal(err)
			}
			if c.SocketIO.PerMessageDeflate != tt.pmd || c.SocketIO.HTTPCompression != tt.http {
				t.Fatalf("per_message_deflate %+v, http_compression %+v; want %+v, %+v",
					c.SocketIO.PerMessageDeflate, c.SocketIO.HTTPCompression, tt.pmd, tt.http)
			}
		})
	}
}

func (c Compression) off() Compression { c.Enabled = false; return c }

func TestCompressionErrors(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"unknown key", "socketio:\n  per_message_deflate:\n    level: 9\n", `config.yaml:3: socketio.per_message_deflate: unknown key "level" (allowed: enabled, threshold)`},
		{"not a mapping", "socketio:\n  per_message_deflate: true\n", `config.yaml:2: socketio.per_message_deflate: want a mapping, got boolean true`},
		{"enabled type", "socketio:\n  http_compression:\n    enabled: yes please\n", `config.yaml:3: socketio.http_compression.enabled: want a boolean (true or false), got string "yes please"`},
		{"threshold type", "socketio:\n  http_compression:\n    threshold: 1k\n", `config.yaml:3: socketio.http_compression.threshold: want an integer, got string "1k"`},
		{"negative threshold", "socketio:\n  per_message_deflate:\n    threshold: -1\n", `config.yaml:3: socketio.per_message_deflate.threshold: must not be negative, got -1 (0 compresses everything)`},
		{"duplicate key", "socketio:\n  http_compression:\n    threshold: 1\n    threshold: 2\n", `config.yaml:4: socketio.http_compression: duplicate key "threshold" (first at line 3)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "config.yaml", testApps)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Parse(%q) error\n got: %v\nwant: %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestCompressionValidate(t *testing.T) {
	c := Default()
	c.SocketIO.HTTPCompression.Threshold = -5
	want := "socketio.http_compression.threshold: must not be negative, got -5 (0 compresses everything)"
	if err := c.Validate(testApps); err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v, want %s", err, want)
	}
}

// The shipped config.yaml shows both sections with every key.
func TestCompressionDocumented(t *testing.T) {
	data, err := os.ReadFile("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, k := range []string{"per_message_deflate:", "http_compression:", "enabled:", "threshold:"} {
		if !strings.Contains(text, "\n    "+k) && !strings.Contains(text, "\n  "+k) {
			t.Errorf("config.yaml does not show %s", k)
		}
	}
}
