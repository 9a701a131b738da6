package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
	"github.com/switchboard/switchboard/socketio"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

const secret = "0123456789abcdef0123456789abcdef"

// Go handlers read the verified claims with ClaimsOf; a refused client
// never reaches them.
func TestClaimsReachGoHandlers(t *testing.T) {
	a, err := New(&config.Auth{Mode: config.AuthJWT, AuthField: "token", JWT: &config.JWT{Algorithm: "HS256", Secret: secret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := socketio.NewServer(nil)
	n := srv.Of("/")
	n.Use(a.Middleware())
	socketio.OnAck(n, "whoami", func(s *socketio.Socket, _ any) map[string]any {
		c := ClaimsOf(s)
		role, _ := c.String("role")
		return map[string]any{"sub": c.Subject(), "role": role}
	})
	hs := serve.Start(t, srv, srv.Close)

	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "role": "admin", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, hs.URL, "/", map[string]string{"token": tok})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ans, err := c.EmitWithAck(ctx, "whoami")
	if err != nil {
		t.Fatal(err)
	}
	if len(ans) != 1 || string(ans[0]) != `{"role":"admin","sub":"alice"}` {
		t.Fatalf("whoami = %s", ans)
	}

	_, err = sioclient.Dial(ctx, hs.URL, "/", map[string]string{"token": tok + "x"})
	if err == nil || !strings.Contains(err.Error(), "unauthorized: invalid token signature") {
		t.Fatalf("bad signature: %v", err)
	}
}

func TestTokenList(t *testing.T) {
	t.Setenv("AUTH_TEST_TOKEN", "from-env")
	l, err := NewTokenList([]config.Token{{Sub: "a", Token: "ta"}, {Sub: "b", TokenEnv: "AUTH_TEST_TOKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	for tok, sub := range map[string]string{"ta": "a", "from-env": "b"} {
		c, err := l.Verify(tok)
		if err != nil || c.Subject() != sub {
			t.Errorf("Verify(%q) = %v, %v; want sub %q", tok, c, err, sub)
		}
	}
	for _, tok := range []string{"", "t", "tb", "TA", "AUTH_TEST_TOKEN"} {
		if _, err := l.Verify(tok); err == nil {
			t.Errorf("Verify(%q) accepted", tok)
		}
	}
}

func TestClaimsString(t *testing.T) {
	c := Claims{"s": "x", "n": float64(42), "f": 1.5, "b": true, "o": map[string]any{}, "z": nil}
	for name, want := range map[string]string{"s": "x", "n": "42", "f": "1.5", "b": "true"} {
		if got, ok := c.String(name); !ok || got != want {
			t.Errorf("String(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"o", "z", "missing"} {
		if got, ok := c.String(name); ok {
			t.Errorf("String(%q) = %q, want not a string", name, got)
		}
	}
	if Claims(nil).Subject() != "" {
		t.Error("nil claims have a subject")
	}
}
