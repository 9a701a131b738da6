package adminui

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/internal/adminui/ui"
)

// Handler serves the Admin UI's web page under prefix (e.g. "/admin/").
// The page is the npm package's with three changes, so that no external
// site is needed: the icon font comes from here instead of a CDN, the
// Roboto web font is dropped (the page falls back to the system's
// sans-serif), and one inline script, on a browser's first visit, fills in
// the connection form with this server's address, Socket.IO path and
// admin namespace (the UI keeps what the user last entered in
// localStorage).
func Handler(prefix, socketIOPath, namespace string) http.Handler {
	dist, _ := fs.Sub(ui.FS, "dist")
	index, _ := fs.ReadFile(dist, "index.html")
	license, _ := ui.FS.ReadFile("LICENSE")
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
