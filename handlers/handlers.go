// Package handlers holds Switchboard's built-in applications. config.yaml
// names, for each namespace, the application that serves it.
package handlers

import (
	"slices"

	"github.com/switchboard/switchboard/socketio"
)

// App installs an application's middlewares and event handlers on a
// namespace.
type App func(n *socketio.Namespace)

var apps = map[string]App{
	"chat":        Chat,
	"conformance": Conformance,
	"bench":       Bench,
}

// Lookup returns the application registered under name.
func Lookup(name string) (App, bool) {
	a, ok := apps[name]
	return a, ok
}

// Names lists the registered applications, sorted.
func Names() []string {
	out := make([]string, 0, len(apps))
	for n := range apps {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
