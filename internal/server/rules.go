package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/nocode/api"
	"github.com/switchboard/switchboard/internal/nocode/auth"
	"github.com/switchboard/switchboard/internal/nocode/backend"
	"github.com/switchboard/switchboard/internal/nocode/relay"
	"github.com/switchboard/switchboard/socketio"
)

// nsRules is what a namespace runs besides its Go application.
type nsRules struct {
	name  string
	relay *relay.Engine   // nil without relay rules
	fwd   *backend.Client // nil without a backend
}

// installAuth adds the namespace's handshake check before anything else,
// so that no application middleware or handler sees an unauthenticated
// client.
func (a *Server) installAuth(i int, ns *config.Namespace, n *socketio.Namespace) error {
	if ns.Auth == nil || ns.Auth.Mode == config.AuthNone {
		return nil
	}
	au, err := auth.New(ns.Auth, a.log)
	var ce *config.Error
	if errors.As(err, &ce) { // a key of the section: give its full path
		ce.Key = fmt.Sprintf("namespaces[%d].auth.%s", i, ce.Key)
		return ce
	}
	if err != nil {
		return fmt.Errorf("namespaces[%d].auth: %w", i, err)
	}
	n.Use(au.Middleware())
	return nil
}

// installRules adds relay rules, room requests and the backend, after the
// application (if any), whose events they must not shadow.
func (a *Server) installRules(i int, ns *config.Namespace, n *socketio.Namespace) error {
	r := &nsRules{name: ns.Name}
	var opts relay.Options
	opts.Logger = a.log
	if ns.Backend != nil {
		r.fwd = backend.New(ns.Backend, a.log)
		r.fwd.Install(n, ns.Backend.Connect, ns.Backend.Disconnect)
		opts.Forwarder = r.fwd
	}
	// A namespace without an application is served by its rules alone:
	// events without a rule are dropped and counted. With an application,
	// the engine is only installed when there are rules, so that the
	// application's own unknown-event behaviour is kept.
	if ns.App == "" || len(ns.Relay) > 0 || ns.Rooms != nil {
		eng, err := relay.Install(n, ns, opts)
		if err != nil {
			if r.fwd != nil {
				r.fwd.Close(context.Background())
			}
			return fmt.Errorf("namespaces[%d].%w", i, err)
		}
		r.relay = eng
	}
	for _, rule := range ns.ServerSide {
		n.OnServerSideEmit(rule.Event, serverSideAnswer(rule, n.Name(), r.fwd))
	}
	if r.relay != nil || r.fwd != nil {
		a.rules = append(a.rules, r)
	}
	return nil
}

// serverSideAnswer answers other nodes' server-side event as the rule says:
// with the backend's reply, or with the rule's fixed reply.
func serverSideAnswer(rule config.ServerSideRule, nsp string, fwd *backend.Client) socketio.ServerSideHandler {
	if rule.To == config.RelayBackend {
		return func(args socketio.Args, ack func(any)) { fwd.ServerSideEvent(nsp, rule.Event, args, ack) }
	}
	return func(_ socketio.Args, ack func(any)) { ack(rule.Reply) }
}

// closeRules stops the backends' requests, letting them finish until ctx
// is done.
func (a *Server) closeRules(ctx context.Context) {
	for _, r := range a.rules {
		if r.fwd != nil {
			r.fwd.Close(ctx)
		}
	}
}

// nsStats is one namespace's entry in GET /api/stats.
type nsStats struct {
	Relay   *relay.Stats   `json:"relay,omitempty"`
	Backend *backend.Stats `json:"backend,omitempty"`
	Sockets int            `json:"sockets"`
}

// Stats returns the rule counters per namespace.
func (a *Server) Stats() map[string]nsStats {
	out := map[string]nsStats{}
	for _, ns := range a.cfg.Namespaces {
		out[ns.Name] = nsStats{Sockets: a.io.Of(ns.Name).Len()}
	}
	for _, r := range a.rules {
		st := out[r.name]
		if r.relay != nil {
			s := r.relay.Stats()
			st.Relay = &s
		}
		if r.fwd != nil {
			s := r.fwd.Stats()
			st.Backend = &s
		}
		out[r.name] = st
	}
	return out
}

// tokenQueryParams returns the query parameters clients may send tokens
// in: the auth query_param of the namespaces with auth.
func (a *Server) tokenQueryParams() []string {
	var out []string
	for _, ns := range a.cfg.Namespaces {
		if au := ns.Auth; au != nil && au.Mode != config.AuthNone && au.QueryParam != "" && !slices.Contains(out, au.QueryParam) {
			out = append(out, au.QueryParam)
		}
	}
	return out
}

func (a *Server) apiHandler() http.Handler {
	key := a.cfg.API.Key
	if a.cfg.API.KeyEnv != "" {
		key = os.Getenv(a.cfg.API.KeyEnv)
	}
	names := make([]string, len(a.cfg.Namespaces))
	for i, ns := range a.cfg.Namespaces {
		names[i] = ns.Name
	}
	h, err := api.New(api.Options{
		Key: key, Server: a.io, Namespaces: names, Stats: func() any { return a.Stats() }, Logger: a.log,
		ExposeHandshakeAuth: a.cfg.API.ExposeHandshakeAuth, RedactQuery: a.tokenQueryParams(),
	})
	if err != nil {
		// The configuration was validated: an empty key here means the
		// environment changed since. Refuse everything rather than serve
		// an open API.
		a.log.Error("api disabled", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":"API key not configured"}`, http.StatusServiceUnavailable)
		})
	}
	return h
}
