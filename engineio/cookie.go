package engineio

import (
	"net/http"
	"time"
)

// Defaults of the zero Cookie's name and path, as in the reference.
const (
	DefaultCookieName = "io"
	DefaultCookiePath = "/"
)

// Cookie configures the sticky-session cookie (the reference's `cookie`
// option): the handshake response, over polling or WebSocket, sets a
// cookie whose value is the session id, so that a load balancer can route
// a session's later requests to the node that holds it.
type Cookie struct {
	// Name defaults to "io", as in the reference.
	Name string
	// Path defaults to "/".
	Path   string
	Domain string
	// HTTPOnly hides the cookie from page scripts (the reference's
	// default is true when the option is enabled; so is the config's).
	HTTPOnly bool
	// Secure sends the cookie over HTTPS only. Browsers require it with
	// SameSite=None.
	Secure bool
	// SameSite defaults to Lax.
	SameSite http.SameSite
	// MaxAge makes the cookie persistent; 0 is a session cookie.
	MaxAge time.Duration
}

// header renders the Set-Cookie value for session id.
func (c *Cookie) header(id string) string {
	ck := http.Cookie{
		Name:     c.Name,
		Value:    id,
		Path:     c.Path,
		Domain:   c.Domain,
		HttpOnly: c.HTTPOnly,
		Secure:   c.Secure,
		SameSite: c.SameSite,
		MaxAge:   int(c.MaxAge / time.Second),
	}
	if ck.Name == "" {
		ck.Name = DefaultCookieName
	}
	if ck.Path == "" {
		ck.Path = DefaultCookiePath
	}
	if ck.SameSite == 0 {
		ck.SameSite = http.SameSiteLaxMode
	}
	return ck.String()
}
