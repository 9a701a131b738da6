package adminui

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/socketio/adminui/ui"
)

// Handler serves the UI's web page under prefix, set up for this Admin's
// Socket.IO path and namespace. The page itself is public (it holds no
// data); the admin namespace asks for the login.
func (a *Admin) Handler(prefix string) http.Handler {
	return Handler(prefix, a.opts.SocketIOPath, a.opts.Namespace)
}

// Handler serves the Admin UI's web page under prefix (e.g. "/admin/").
// The page is the npm package's with four changes. So that no external
// site is needed, the icon font comes from here instead of a CDN and the
// Roboto web font is dropped (the page falls back to the system's
// sans-serif). One inline script, on a browser's first visit, fills in the
// connection form with this server's address, Socket.IO path and admin
// namespace (the UI keeps what the user last entered in localStorage).
// And the app connects by itself at start only with the session id of an
// earlier login: the UI connects whenever a server address is stored,
// which the prefill does, so it would try without credentials and greet a
// first-time user with "Invalid credentials" before they typed anything.
//
// Admin.Handler is this with the Admin's SocketIOPath and Namespace.
func Handler(prefix, socketIOPath, namespace string) http.Handler {
	dist, _ := fs.Sub(ui.FS, "dist")
	index, _ := fs.ReadFile(dist, "index.html")
	license, _ := ui.FS.ReadFile("LICENSE")
	app, _ := fs.ReadFile(dist, appScript)
	app = bytes.Replace(app, []byte(autoConnect.from), []byte(autoConnect.to), 1)
	index = bytes.ReplaceAll(index, []byte(appScript), []byte(patchedAppScript))
	index = withPrefill(localAssets(index), strings.TrimSuffix(socketIOPath, "/"), namespace)
	files := http.StripPrefix(prefix, http.FileServer(http.FS(dist)))
	mdi := http.StripPrefix(prefix, http.FileServer(http.FS(ui.FS)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch rest := strings.TrimPrefix(r.URL.Path, prefix); {
		case !strings.HasPrefix(r.URL.Path, prefix):
			// prefix without its trailing slash: the page's relative
			// links need the slash.
			http.Redirect(w, r, prefix, http.StatusMovedPermanently)
		case rest == "" || rest == "index.html":
			h := w.Header()
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Frame-Options", "DENY")
			_, _ = w.Write(index)
		case rest == "LICENSE":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(license)
		case rest == patchedAppScript:
			h := w.Header()
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
			_, _ = w.Write(app)
		case strings.HasPrefix(rest, "mdi/"):
			if rest == "mdi/LICENSE" {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			} else {
				w.Header().Set("Cache-Control", "public, max-age=86400")
			}
			mdi.ServeHTTP(w, r)
		default:
			// Hashed file names: cacheable for good.
			if strings.HasPrefix(rest, "js/") || strings.HasPrefix(rest, "css/") {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			files.ServeHTTP(w, r)
		}
	})
}

// The app's script, and the name its patched copy is served under (a new
// name, since the original's is cached as immutable).
const (
	appScript        = "js/app.0d7d7845.js"
	patchedAppScript = "js/app.0d7d7845.sb1.js"
)

// autoConnect is the app's start-up condition, and what replaces it: with
// a server address and a session id, not with an address alone.
var autoConnect = struct{ from, to string }{
	`this.serverUrl){var e=this.$store.state.connection.sessionId;`,
	`this.serverUrl&&this.$store.state.connection.sessionId){var e=this.$store.state.connection.sessionId;`,
}

// The page's links to other sites, and what replaces them.
var externalAssets = []struct{ from, to string }{
	{`<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto:100,300,400,500,700,900">`, ``},
	{`https://cdn.jsdelivr.net/npm/@mdi/font@latest/css/materialdesignicons.min.css`, `mdi/css/materialdesignicons.min.css`},
}

// localAssets points the page's external stylesheets here.
func localAssets(index []byte) []byte {
	for _, a := range externalAssets {
		index = bytes.Replace(index, []byte(a.from), []byte(a.to), 1)
	}
	return index
}

// withPrefill inserts, before the page's first script, one that stores
// the connection settings the UI reads at start if none are stored yet.
func withPrefill(index []byte, path, namespace string) []byte {
	p, _ := json.Marshal(path)
	ns, _ := json.Marshal(namespace)
	script := `<script>(function(){try{var s=window.localStorage;if(!s.getItem("server_url")){` +
		`s.setItem("server_url",location.origin);s.setItem("path",` + string(p) + `);` +
		`s.setItem("namespace",` + string(ns) + `);}}catch(e){}})();</script>`
	i := bytes.Index(index, []byte("<script"))
	if i < 0 {
		i = bytes.Index(index, []byte("</body>"))
	}
	out := make([]byte, 0, len(index)+len(script))
	out = append(out, index[:i]...)
	out = append(out, script...)
	return append(out, index[i:]...)
}
