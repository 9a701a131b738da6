package engineio

import (
	"net/http"
	"net/url"
	"strings"
)

func (c *CORS) allowAll() bool {
	for _, o := range c.Origins {
		if o == "*" {
			return true
		}
	}
	return false
}

func (c *CORS) allowed(origin string) bool {
	for _, o := range c.Origins {
		if matchOrigin(o, origin) {
			return true
		}
	}
	return c.AllowOrigin != nil && c.AllowOrigin(origin)
}

// matchOrigin matches an origin against "*", an exact origin, or a
// subdomain wildcard "scheme://*.domain[:port]".
func matchOrigin(pattern, origin string) bool {
	if pattern == "*" || strings.EqualFold(pattern, origin) {
		return true
	}
	scheme, rest, ok := strings.Cut(pattern, "://*.")
	if !ok {
		return false
	}
	prefix := scheme + "://"
	if len(origin) <= len(prefix) || !strings.EqualFold(origin[:len(prefix)], prefix) {
		return false
	}
	host := origin[len(prefix):]
	suffix := "." + rest
	if len(host) <= len(suffix) || !strings.EqualFold(host[len(host)-len(suffix):], suffix) {
		return false
	}
	sub := host[:len(host)-len(suffix)]
	return !strings.ContainsAny(sub, "/:@?#") && !strings.HasPrefix(sub, ".") && !strings.HasSuffix(sub, ".")
}

// setHeaders adds the CORS response headers for a polling request.
func (c *CORS) setHeaders(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || (len(c.Origins) == 0 && c.AllowOrigin == nil) {
		return
	}
	h := w.Header()
	if c.allowAll() && !c.Credentials {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Add("Vary", "Origin")
	if !c.allowed(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// preflight answers an OPTIONS request.
func (c *CORS) preflight(w http.ResponseWriter, r *http.Request) {
	c.setHeaders(w, r)
	h := w.Header()
	if h.Get("Access-Control-Allow-Origin") != "" {
		methods := "GET,POST,OPTIONS"
		if len(c.Methods) > 0 {
			methods = strings.Join(c.Methods, ",")
		}
		h.Set("Access-Control-Allow-Methods", methods)
		if len(c.Headers) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.Headers, ","))
		} else if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		h.Set("Access-Control-Max-Age", "86400")
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowWebSocket decides whether a WebSocket from this request's Origin is
// accepted. Browsers always send Origin; other clients usually do not.
func (c *CORS) allowWebSocket(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if len(c.Origins) > 0 || c.AllowOrigin != nil {
		return c.allowed(origin)
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// validHeaderValue reports whether v has no characters that are invalid in
// an HTTP header value (the reference server refuses such Origins).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		b := v[i]
		if (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// AllowWebSocket reports whether a WebSocket upgrade carrying r's Origin
// header may be accepted, by the rule the Engine.IO endpoint applies: no
// Origin (not a browser) is accepted, an Origin with invalid characters is
// not, and otherwise Origins decides (same host only when it is empty).
// Other WebSocket endpoints of the same server call it so that one policy
// covers them all.
func (c *CORS) AllowWebSocket(r *http.Request) bool {
	return validHeaderValue(r.Header.Get("Origin")) && c.allowWebSocket(r)
}

// Handler returns h behind this CORS policy, applied as on the Engine.IO
// endpoint: a preflight (OPTIONS) is answered here, with 204 and the
// allowed methods and headers when the Origin is allowed; any other
// request gets the CORS response headers its Origin earns, then goes to h.
// Serve other resources that pages of other origins fetch with it (such
// as the client bundle, which Node's server serves through its cors
// middleware too), so that one policy covers them all.
func (c *CORS) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			c.preflight(w, r)
			return
		}
		c.setHeaders(w, r)
		h.ServeHTTP(w, r)
	})
}
