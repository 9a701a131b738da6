// Package clientbundle embeds the official Socket.IO JavaScript client
// (npm socket.io-client, version Version) and serves it the way the Node
// socket.io server does with its serveClient option: GET <path>socket.io.js,
// socket.io.min.js, socket.io.esm.min.js, socket.io.msgpack.min.js (the
// build with socket.io-msgpack-parser, for servers whose parser is
// msgpack) and their source maps.
//
// A socketio.Server serves these files itself unless
// Options.DisableServeClient is set, so most applications never import this
// package. Use Handler to serve them elsewhere, for example from a CDN-like
// path of their own:
//
//	mux.Handle("/js/", clientbundle.Handler("/js/"))
//
// The files come from the npm package unmodified, with their MIT licence
// (Content("LICENSE")).
package clientbundle

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/switchboard/switchboard/internal/acceptenc"
)

// Version is the socket.io-client npm package version of the embedded files.
const Version = "4.8.4"

//go:embed dist/socket.io.js dist/socket.io.js.map
//go:embed dist/socket.io.min.js dist/socket.io.min.js.map
//go:embed dist/socket.io.esm.min.js dist/socket.io.esm.min.js.map
//go:embed dist/socket.io.msgpack.min.js dist/socket.io.msgpack.min.js.map
//go:embed dist/LICENSE dist/README.md
var dist embed.FS

// clientFiles lists the servable names (relative to the prefix).
var clientFiles = []string{
	"socket.io.js",
	"socket.io.js.map",
	"socket.io.min.js",
	"socket.io.min.js.map",
	"socket.io.esm.min.js",
	"socket.io.esm.min.js.map",
	"socket.io.msgpack.min.js",
	"socket.io.msgpack.min.js.map",
}

const (
	contentTypeJS  = "application/javascript; charset=utf-8"
	contentTypeMap = "application/json; charset=utf-8"
	cacheControl   = "public, max-age=0"
)

type file struct {
	name        string
	data        []byte
	etag        string // strong, quoted: "<hash>"
	contentType string

	gzOnce sync.Once
	gz     []byte // gzip-compressed data, nil if compression does not help
}

func (f *file) gzipped() []byte {
	f.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // level is valid
		if _, err := zw.Write(f.data); err != nil {
			return
		}
		if err := zw.Close(); err != nil {
			return
		}
		if buf.Len() < len(f.data) {
			f.gz = buf.Bytes()
		}
	})
	return f.gz
}

var files = func() map[string]*file {
	m := make(map[string]*file, len(clientFiles))
	for _, name := range clientFiles {
		data, err := dist.ReadFile("dist/" + name)
		if err != nil {
			panic("clientbundle: missing embedded file " + name + ": " + err.Error())
		}
		sum := sha256.Sum256(data)
		ct := contentTypeJS
		if strings.HasSuffix(name, ".map") {
			ct = contentTypeMap
		}
		m[name] = &file{
			name:        name,
			data:        data,
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
			contentType: ct,
		}
	}
	return m
}()

// IsClientFile reports whether name (the part of the URL path after the
// Socket.IO path prefix, e.g. "socket.io.min.js") is a served client file.
func IsClientFile(name string) bool {
	_, ok := files[name]
	return ok
}

// Files returns the servable client file names.
func Files() []string {
	return append([]string(nil), clientFiles...)
}

// Content returns the raw embedded content of a client file (or LICENSE /
// README.md) and whether it exists.
func Content(name string) ([]byte, bool) {
	if f, ok := files[name]; ok {
		return f.data, true
	}
	if name == "LICENSE" || name == "README.md" {
		b, err := dist.ReadFile("dist/" + name)
		return b, err == nil
	}
	return nil, false
}

// ETag returns the quoted strong entity tag of a client file ("" if unknown).
func ETag(name string) string {
	if f, ok := files[name]; ok {
		return f.etag
	}
	return ""
}

// Handler serves the client files below prefix (for example "/socket.io/",
// a missing trailing slash is added): GET/HEAD <prefix>socket.io.js etc.
// Query strings are ignored. Any other name under or outside the prefix gets
// 404, methods other than GET/HEAD get 405.
//
// Like the Node server it sends Cache-Control "public, max-age=0",
// Content-Type application/javascript (application/json for .map) with
// charset utf-8, and an ETag; If-None-Match with a matching tag yields 304.
// The ETag is derived from the file's content. Responses are gzip-compressed
// when the client accepts it; the compressed representation carries the weak
// form of the same ETag (W/"…"), so either tag revalidates with 304.
func Handler(prefix string) http.Handler {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if !ServeFile(w, r, name) {
			http.NotFound(w, r)
		}
	})
}

// ServeFile answers r with the client file name (one of Files, such as
// "socket.io.min.js"), as Handler does, and reports whether name is one;
// if not, it writes nothing. It is what a socketio.Server calls for a
// request whose last path segment names a client file.
func ServeFile(w http.ResponseWriter, r *http.Request, name string) bool {
	f, ok := files[name]
	if !ok {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return true
	}
	serve(w, r, f)
	return true
}

func serve(w http.ResponseWriter, r *http.Request, f *file) {
	h := w.Header()
	h.Set("Cache-Control", cacheControl)
	h.Add("Vary", "Accept-Encoding") // after a CORS "Vary: Origin"

	body := f.data
	etag := f.etag
	gzipped := false
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if gz := f.gzipped(); gz != nil {
			body, etag, gzipped = gz, "W/"+f.etag, true
		}
	}
	h.Set("ETag", etag)

	if noneMatch(r.Header.Values("If-None-Match"), f.etag) {
		// RFC 9110 section 15.4.5: a 304 carries ETag, Cache-Control and
		// Vary but no representation metadata.
		w.WriteHeader(http.StatusNotModified)
		return
	}

	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// noneMatch reports whether If-None-Match header values match the opaque
// tag etag (quoted, without W/) using the weak comparison of RFC 9110
// section 13.1.2, i.e. whether the request should be answered with 304.
func noneMatch(values []string, etag string) bool {
	for _, v := range values {
		s := v
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			if s[0] == '*' {
				return true
			}
			s = strings.TrimPrefix(s, "W/")
			if s == "" || s[0] != '"' {
				break // malformed: ignore the rest of this value
			}
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				break
			}
			tag := s[:end+2]
			if tag == etag {
				return true
			}
			s = s[end+2:]
		}
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding header values accept gzip
// (q > 0), explicitly or via "*".
func acceptsGzip(values []string) bool {
	gz, _ := acceptenc.Weights(values...)
	return gz > 0
}
