package server

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard/switchboard/engineio"
)

// routes builds the Gin router: the Socket.IO endpoint, the no-code API,
// the echo endpoint, pprof and the static files, each when configured.
func (a *Server) routes(eopts engineio.Options) (*gin.Engine, error) {
	cfg := a.cfg
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = false

	// The server answers the client bundle's files itself (socketio
	// Options.DisableServeClient), as for an embedding application.
	r.Any(strings.TrimSuffix(cfg.SocketIO.Path, "/")+"/*rest", gin.WrapH(a.io))
	if cfg.API != nil {
		r.Any("/api/*rest", gin.WrapH(a.apiHandler()))
	}
	if cfg.EngineIOEcho != nil {
		a.mountEcho(r, eopts)
	}
	if cfg.Pprof {
		r.Any("/debug/pprof/*profile", gin.WrapF(pprofHandler(cfg.Limits.WriteTimeout)))
	}
	if dir := cfg.StaticDir; dir != "" {
		if err := serveStatic(r, dir); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// pprofHandler serves the runtime profiles under /debug/pprof/; write is
// the server's write timeout, which a long profile must outlast.
func pprofHandler(write time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		switch name := strings.TrimPrefix(req.URL.Path, "/debug/pprof/"); name {
		case "cmdline":
			pprof.Cmdline(w, req)
		case "profile":
			profileWriteDeadline(w, req, 30, write)
			pprof.Profile(w, req)
		case "symbol":
			pprof.Symbol(w, req)
		case "trace":
			profileWriteDeadline(w, req, 1, write)
			pprof.Trace(w, req)
		default:
			pprof.Index(w, req)
		}
	}
}

// profileWriteDeadline moves the write deadline of a CPU profile or an
// execution trace past the seconds it was asked to last (default def):
// the profile writes only after them, the trace while they run.
func profileWriteDeadline(w http.ResponseWriter, r *http.Request, def float64, write time.Duration) {
	sec, err := strconv.ParseFloat(r.FormValue("seconds"), 64)
	if err != nil || !(sec > 0) {
		sec = def
	}
	sec = min(sec, 24*3600) // pprof's business to refuse; no overflow here
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Duration(sec*float64(time.Second)) + write))
}

// serveStatic serves the files of dir for GET and HEAD requests that no
// route matches; other methods get 404.
func serveStatic(r *gin.Engine, dir string) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("static_dir: %q is not a directory", dir)
	}
	files := http.FileServer(http.Dir(filepath.Clean(dir)))
	r.NoRoute(func(c *gin.Context) {
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			c.Status(http.StatusNotFound)
			return
		}
		files.ServeHTTP(c.Writer, c.Request)
	})
	return nil
}
