package server

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
)

// A relay rule for an event the namespace's Go app handles stops the
// start with the rule's key, rather than shadowing either.
func TestRuleShadowingAppEventIsAnError(t *testing.T) {
	cfg, err := config.Parse([]byte(`
static_dir: ""
namespaces:
  - name: /
    app: chat
    relay:
      - {event: drawing, to: others}
      - {event: new message, to: others}
`), "c.yaml", handlers.Names())
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, nil)
	if err == nil || err.Error() != `namespaces[0].relay[1].event: event "new message" is already handled by app "chat"` {
		t.Fatalf("New = %v", err)
	}
}

// A JWT key file that cannot be read stops the start with the key's full
// path (package config leaves the key files to package auth).
func TestUnreadableKeyFileIsAnError(t *testing.T) {
	cfg, err := config.Parse([]byte(`
static_dir: ""
namespaces:
  - name: /
    app: chat
  - name: /jwt
    auth: {mode: jwt, jwt: {algorithm: ES256, public_key_file: /nonexistent.pem}}
`), "c.yaml", handlers.Names())
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, nil)
	const want = `namespaces[1].auth.jwt.public_key_file: "/nonexistent.pem": open /nonexistent.pem: no such file or directory`
	var ce *config.Error
	if !errors.As(err, &ce) || err.Error() != want {
		t.Fatalf("New = %v, want %s", err, want)
	}
}

func TestAppStats(t *testing.T) {
	cfg, err := config.Parse([]byte(`
static_dir: ""
namespaces:
  - name: /
    app: chat
  - name: /wb
    relay: [{event: drawing, to: others}]
    backend: {url: "http://127.0.0.1:1/"}
`), "c.yaml", handlers.Names())
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	st := a.Stats()
	if st["/"].Relay != nil || st["/"].Backend != nil || st["/wb"].Relay == nil || st["/wb"].Backend == nil {
		t.Fatalf("stats = %+v", st)
	}
}
