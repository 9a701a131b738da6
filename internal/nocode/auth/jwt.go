package auth

import (
	"errors"
	"fmt"
	"os"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/nocode/auth/jwtkeys"
)

// maxTokenLen bounds the tokens parsed: a JWT is a few hundred bytes, and
// the handshake is attacker-controlled.
const maxTokenLen = 8 << 10

// JWT verifies JSON Web Tokens signed with one algorithm. Tokens must
// carry "exp": a token that never expires cannot be revoked by time.
type JWT struct {
	parser *jwt.Parser
	keyFn  jwt.Keyfunc
}

// NewJWT builds a verifier; key files and environment variables are read
// now. A key file that cannot be used is a *config.Error whose Key is
// jwt.public_key_file or jwt.jwks_file.
func NewJWT(cfg *config.JWT) (*JWT, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{cfg.Algorithm}),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &JWT{parser: jwt.NewParser(opts...)}
	switch {
	case cfg.Algorithm == "HS256":
		secret := cfg.Secret
		if cfg.SecretEnv != "" {
			secret = os.Getenv(cfg.SecretEnv)
		}
		if secret == "" {
			return nil, errors.New("auth: empty HS256 secret")
		}
		key := []byte(secret)
		v.keyFn = func(*jwt.Token) (any, error) { return key, nil }
	case cfg.PublicKeyFile != "" || cfg.JWKSFile != "":
		// The key files are read here, where they are used, and not by
		// package config: a problem is reported at start, as a
		// *config.Error naming the key (relative to the auth section).
		var set *jwtkeys.Set
		var err error
		key, file := "jwt.public_key_file", cfg.PublicKeyFile
		if file != "" {
			set, err = jwtkeys.LoadPEM(file, cfg.Algorithm)
		} else {
			key, file = "jwt.jwks_file", cfg.JWKSFile
			set, err = jwtkeys.LoadJWKS(file, cfg.Algorithm)
		}
		if err != nil {
			return nil, &config.Error{Key: key, Msg: fmt.Sprintf("%q: %v", file, err)}
		}
		v.keyFn = func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			k, ok := set.Key(kid)
			if !ok {
				return nil, fmt.Errorf("unknown key id %q", kid)
			}
			return k, nil
		}
	default:
		return nil, fmt.Errorf("auth: %s needs a public key", cfg.Algorithm)
	}
	return v, nil
}

// Verify checks the token's signature, then its exp, nbf, iat, iss and aud.
func (v *JWT) Verify(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return nil, &Error{Code: CodeInvalidToken, Msg: "token too long"}
	}
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, v.keyFn)
	switch {
	case err == nil:
		return Claims(claims), nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, &Error{Code: CodeExpired, Msg: "token expired"}
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return nil, &Error{Code: CodeNotYetValid, Msg: "token not valid yet"}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, &Error{Code: CodeInvalidSignature, Msg: "invalid token signature"}
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, &Error{Code: CodeInvalidToken, Msg: "malformed token"}
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return nil, &Error{Code: CodeInvalidClaims, Msg: "token has no expiry (exp)"}
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return nil, &Error{Code: CodeInvalidClaims, Msg: "wrong token issuer"}
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return nil, &Error{Code: CodeInvalidClaims, Msg: "wrong token audience"}
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// Wrong algorithm or unknown kid.
		return nil, &Error{Code: CodeInvalidSignature, Msg: "token not verifiable with the configured key"}
	default:
		return nil, &Error{Code: CodeInvalidToken, Msg: "invalid token"}
	}
}
