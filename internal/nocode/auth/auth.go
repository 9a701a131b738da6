// Package auth checks the handshake of clients connecting to a namespace:
// no check, a static token list, or a JSON Web Token (HS256, RS256, ES256).
// The token comes from the handshake's auth payload (socket.io-client's
// `auth: {token}` option) or, for clients that cannot send one
// (socket.io-client 2.x), from a query parameter.
//
// A refused client gets a CONNECT_ERROR whose message says why
// ("unauthorized: token expired") and whose data carries a machine-readable
// code ({"code": "token_expired"}). An accepted client's verified claims
// are stored with its socket: Go handlers read them with ClaimsOf, relay
// rules use them in room templates such as "user:{sub}".
package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
)

// Claims are the verified claims of a connection: a JWT's payload, or
// {"sub": name} for a static token.
type Claims map[string]any

// Subject returns the "sub" claim, or "".
func (c Claims) Subject() string {
	s, _ := c.String("sub")
	return s
}

// String returns a claim as a string: strings as they are, numbers in
// their shortest form (JSON numbers decode as float64), booleans as
// true/false. Other values (objects, lists, null) are not strings.
func (c Claims) String(name string) (string, bool) {
	switch v := c[name].(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

type claimsKey struct{}

// ClaimsOf returns the verified claims of a socket, or nil when its
// namespace checks no token.
func ClaimsOf(s *socketio.Socket) Claims {
	c, _ := s.Value(claimsKey{}).(Claims)
	return c
}

// Verifier checks a token and returns its claims. Its errors are *Error
// values so that clients learn why they were refused.
type Verifier interface {
	Verify(token string) (Claims, error)
}

// Error is a refused handshake.
type Error struct {
	Code string // machine-readable: missing_token, invalid_token, token_expired, ...
	Msg  string // for people
}

func (e *Error) Error() string { return "unauthorized: " + e.Msg }

// Refusal codes.
const (
	CodeMissingToken     = "missing_token"
	CodeInvalidToken     = "invalid_token"
	CodeExpired          = "token_expired"
	CodeNotYetValid      = "token_not_valid_yet"
	CodeInvalidSignature = "invalid_signature"
	CodeInvalidClaims    = "invalid_claims"
)

// Authenticator is one namespace's handshake check.
type Authenticator struct {
	verifier   Verifier // nil: mode none
	authField  string
	queryParam string
	log        *slog.Logger
}

// New builds the check configured by cfg (already validated by package
// config). A nil cfg or mode none accepts everyone.
func New(cfg *config.Auth, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg == nil || cfg.Mode == config.AuthNone || cfg.Mode == "" {
		return &Authenticator{log: log}, nil
	}
	a := &Authenticator{authField: cfg.AuthField, queryParam: cfg.QueryParam, log: log}
	var err error
	switch cfg.Mode {
	case config.AuthTokens:
		a.verifier, err = NewTokenList(cfg.Tokens)
	case config.AuthJWT:
		if cfg.JWT == nil {
			return nil, errors.New("auth: mode jwt without a jwt section")
		}
		a.verifier, err = NewJWT(cfg.JWT)
	default:
		err = fmt.Errorf("auth: unknown mode %q", cfg.Mode)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Enabled reports whether the namespace checks tokens.
func (a *Authenticator) Enabled() bool { return a.verifier != nil }

// Middleware returns the namespace middleware that refuses clients without
// a valid token and stores the claims of the others.
func (a *Authenticator) Middleware() socketio.Middleware {
	return func(s *socketio.Socket) error {
		if a.verifier == nil {
			return nil
		}
		tok := a.token(s.Handshake())
		if tok == "" {
			return a.refuse(s, &Error{Code: CodeMissingToken, Msg: "missing token"})
		}
		claims, err := a.verifier.Verify(tok)
		if err != nil {
			return a.refuse(s, err)
		}
		s.SetValue(claimsKey{}, claims)
		return nil
	}
}

func (a *Authenticator) refuse(s *socketio.Socket, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInvalidToken, Msg: "invalid token"}
	}
	a.log.Debug("auth: handshake refused", "nsp", s.Namespace().Name(), "addr", s.Handshake().Address, "code", e.Code, "err", err)
	return &socketio.ConnectError{Message: e.Error(), Data: map[string]string{"code": e.Code}}
}

// token finds the token: the auth payload's field first, then the query
// parameter. A "Bearer " prefix is accepted and removed.
func (a *Authenticator) token(h *socketio.Handshake) string {
	var tok string
	if len(h.Auth) > 0 {
		var payload map[string]json.RawMessage
		if json.Unmarshal(h.Auth, &payload) == nil {
			_ = json.Unmarshal(payload[a.authField], &tok)
		}
	}
	if tok == "" && a.queryParam != "" {
		tok = h.Query.Get(a.queryParam)
	}
	tok = strings.TrimSpace(tok)
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	return tok
}
