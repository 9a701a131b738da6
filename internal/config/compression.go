package config

import "github.com/switchboard/switchboard/engineio"

// Compression configures one kind of compression: permessage-deflate on
// WebSocket (socketio.per_message_deflate) or gzip/deflate of polling
// responses (socketio.http_compression).
type Compression struct {
	Enabled bool `yaml:"enabled"`
	// Threshold is the smallest message (WebSocket) or response body
	// (polling) that is compressed, in bytes; 0 compresses everything.
	Threshold int `yaml:"threshold"`
}

// DefaultCompressionThreshold is the reference server's threshold for
// both kinds of compression: smaller messages gain little from it.
const DefaultCompressionThreshold = engineio.DefaultCompressionThreshold

func (v *validator) compression(key string, c Compression) {
	if c.Threshold < 0 {
		v.errorf(key+".threshold", "must not be negative, got %d (0 compresses everything)", c.Threshold)
	}
}
