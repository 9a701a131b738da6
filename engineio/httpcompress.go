package engineio

import (
	"compress/gzip"
	"compress/zlib"
	"net/http"
	"strconv"
	"sync"

	"github.com/switchboard/switchboard/internal/acceptenc"
)

// Compression of polling responses (the reference's httpCompression):
// a body of Threshold bytes or more is sent gzip- or deflate-encoded when
// the request's Accept-Encoding allows it. Each response is compressed on
// its own: unlike a WebSocket broadcast frame, a polling body gathers what
// was queued for one session.

var (
	gzipPool = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, deflateLevel)
		return w
	}}
	zlibPool = sync.Pool{New: func() any {
		w, _ := zlib.NewWriterLevel(nil, deflateLevel)
		return w
	}}
)

// respond writes a polling response (GET or handshake): status 200, the
// given content type, no caching, body compressed if worth it.
func (s *Server) respond(w http.ResponseWriter, acceptEncoding, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	if hc := s.opts.HTTPCompression; hc.Enabled && len(body) >= hc.Threshold {
		// The body depends on Accept-Encoding from here on, whatever
		// this client accepts: caches must know.
		h.Add("Vary", "Accept-Encoding")
		if enc := chooseEncoding(acceptEncoding); enc != "" {
			if z := compressBody(enc, body); z != nil {
				h.Set("Content-Encoding", enc)
				h.Set("Content-Length", strconv.Itoa(len(z.b)))
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(z.b)
				if cap(z.b) <= 256<<10 {
					scratchPool.Put(z)
				}
				return
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// compressBody compresses body with enc (gzip or deflate, which in HTTP is
// the zlib format, RFC 9110 section 8.4.1.2) into a pooled buffer; nil if
// that would not make it smaller.
func compressBody(enc string, body []byte) *appendWriter {
	out := scratchPool.Get().(*appendWriter)
	out.b = out.b[:0]
	if enc == "gzip" {
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(out)
		_, _ = zw.Write(body)
		_ = zw.Close()
		gzipPool.Put(zw)
	} else {
		zw := zlibPool.Get().(*zlib.Writer)
		zw.Reset(out)
		_, _ = zw.Write(body)
		_ = zw.Close()
		zlibPool.Put(zw)
	}
	if len(out.b) >= len(body) {
		scratchPool.Put(out)
		return nil
	}
	return out
}

// chooseEncoding picks gzip or deflate from an Accept-Encoding header (RFC
// 9110 section 12.5.3): the one with the higher quality value, gzip on a
// tie; "" when neither is acceptable (absent, or q=0).
func chooseEncoding(header string) string {
	gz, df := acceptenc.Weights(header)
	switch {
	case gz > 0 && gz >= df:
		return "gzip"
	case df > 0:
		return "deflate"
	}
	return ""
}
