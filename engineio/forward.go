package engineio

import (
	"context"
	"net/http"
)

// Forwarder lets a cluster of servers behind a load balancer without
// sticky sessions serve every request of a session, whichever server it
// reaches (see Options.Forwarder).
type Forwarder interface {
	// NewID returns a new session id, as unguessable as the server's own
	// (120 random bits or more), that tells the Forwarder which server
	// holds the session.
	NewID() string
	// Forward is called with a request naming a session this server does
	// not hold (sid). It serves the request on the server holding it and
	// returns true, or returns false without writing anything (no such
	// server, or the request cannot be forwarded) and the request is
	// answered as for any unknown session. The request is never one that
	// was itself forwarded (see WithForwarded).
	Forward(w http.ResponseWriter, r *http.Request, sid string) bool
}

type forwardedKey struct{}

// WithForwarded marks a request context as carrying a request that a
// Forwarder passed on from another server: the server receiving it never
// forwards it again, so that a request cannot go round the cluster.
func WithForwarded(ctx context.Context) context.Context {
	return context.WithValue(ctx, forwardedKey{}, true)
}

// IsForwarded tells whether ctx was marked by WithForwarded.
func IsForwarded(ctx context.Context) bool {
	v, _ := ctx.Value(forwardedKey{}).(bool)
	return v
}
