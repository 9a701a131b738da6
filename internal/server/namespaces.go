package server

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
)

// installNamespaces sets up each configured namespace: its handshake check,
// then its application, then its relay rules.
func (a *Server) installNamespaces() error {
	for i := range a.cfg.Namespaces {
		ns := &a.cfg.Namespaces[i]
		n := a.namespace(ns)
		if err := a.installAuth(i, ns, n); err != nil {
			return err
		}
		// A namespace has an app, relay rules, or both (config checks
		// that they do not claim the same events).
		if err := a.installApp(i, ns, n); err != nil {
			return err
		}
		if err := a.installRules(i, ns, n); err != nil {
			return err
		}
	}
	return nil
}

// namespace returns the Socket.IO namespace ns configures: a fixed name or
// a pattern of names.
func (a *Server) namespace(ns *config.Namespace) *socketio.Namespace {
	if ns.Pattern != "" {
		return a.io.OfRegexp(regexp.MustCompile(ns.PatternRegexp())) // checked by config
	}
	return a.io.Of(ns.Name)
}

// installApp installs the namespace's built-in application, if it has one.
func (a *Server) installApp(i int, ns *config.Namespace, n *socketio.Namespace) error {
	if ns.App == "" || a.installRawChatLobby(*ns) {
		return nil
	}
	if ns.App == config.ChatApp {
		a.newChat(n, ns.Pattern == "")
		return nil
	}
	install, ok := handlers.Lookup(ns.App)
	if !ok {
		return fmt.Errorf("namespaces[%d].app: unknown app %q (known: %s)", i, ns.App, strings.Join(handlers.Names(), ", "))
	}
	install(n)
	return nil
}
