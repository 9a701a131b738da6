//go:build unix

package apps

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const hsSecret = "an-hs256-secret-of-at-least-32-bytes!"

type keys struct {
	rsa, rsa2, rsaOther *rsa.PrivateKey
	ec, ec2, ecOther    *ecdsa.PrivateKey
}

func newKeys(t *testing.T) *keys {
	t.Helper()
	k := &keys{}
	for _, p := range []**rsa.PrivateKey{&k.rsa, &k.rsa2, &k.rsaOther} {
		var err error
		if *p, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []**ecdsa.PrivateKey{&k.ec, &k.ec2, &k.ecOther} {
		var err error
		if *p, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func pemFile(t *testing.T, dir, name string, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwksFile(t *testing.T, dir, name string, keys map[string]crypto.PublicKey) string {
	t.Helper()
	var list []map[string]string
	for kid, k := range keys {
		switch k := k.(type) {
		case *rsa.PublicKey:
			list = append(list, map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
		case *ecdsa.PublicKey:
			b, err := k.Bytes() // uncompressed point
			if err != nil {
				t.Fatal(err)
			}
			list = append(list, map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(b[1:33]), "y": b64(b[33:])})
		}
	}
	data, _ := json.Marshal(map[string]any{"keys": list})
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tokenSet is what the JS test gets for one namespace.
type tokenSet struct {
	Valid    string            `json:"valid"`
	Expired  string            `json:"expired"`
	WrongSig string            `json:"wrongSig"`
	Extra    map[string]string `json:"extra,omitempty"` // name -> token, each refused with the code in ExtraCodes
	Codes    map[string]string `json:"codes,omitempty"`
}

// TestHandshakeAuth runs e2e/js/apps/auth.apps.mjs: for each mode (static
// tokens, HS256, RS256 and ES256 with PEM keys, RS256 and ES256 with JWKS
// files) a valid token connects and its claims reach the relay rules
// (auto-joined room user:{sub}, sender identity), while an expired token, a
// token with a wrong signature and no token get a connect_error saying
// why. Also: the query parameter for clients without an auth payload.
func TestHandshakeAuth(t *testing.T) {
	dir := t.TempDir()
	k := newKeys(t)
	rsPEM := pemFile(t, dir, "rs.pem", &k.rsa.PublicKey)
	esPEM := pemFile(t, dir, "es.pem", &k.ec.PublicKey)
	rsJWKS := jwksFile(t, dir, "rs.jwks", map[string]crypto.PublicKey{"r1": &k.rsa.PublicKey, "r2": &k.rsa2.PublicKey})
	esJWKS := jwksFile(t, dir, "es.jwks", map[string]crypto.PublicKey{"e1": &k.ec.PublicKey, "e2": &k.ec2.PublicKey})

	now := time.Now()
	claims := func(sub string, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "exp": exp.Unix(), "iat": now.Add(-time.Minute).Unix(), "name": "Name of " + sub}
	}
	valid := func(sub string) jwt.MapClaims { return claims(sub, now.Add(time.Hour)) }
	expired := claims("late", now.Add(-time.Minute))
	set := func(m jwt.SigningMethod, key, wrongKey any, kid string) tokenSet {
		return tokenSet{
			Valid:    sign(t, m, key, kid, valid("alice")),
			Expired:  sign(t, m, key, kid, expired),
			WrongSig: sign(t, m, wrongKey, kid, valid("mallory")),
		}
	}
	sets := map[string]tokenSet{
		"/tokens": {Valid: "alice-static-token", Expired: "", WrongSig: "not-a-listed-token"},
		"/hs":     set(jwt.SigningMethodHS256, []byte(hsSecret), []byte(hsSecret+"x"), ""),
		"/rs":     set(jwt.SigningMethodRS256, k.rsa, k.rsaOther, ""),
		"/es":     set(jwt.SigningMethodES256, k.ec, k.ecOther, ""),
		"/rs-jwks": {
			Valid:    sign(t, jwt.SigningMethodRS256, k.rsa2, "r2", valid("alice")),
			Expired:  sign(t, jwt.SigningMethodRS256, k.rsa, "r1", expired),
			WrongSig: sign(t, jwt.SigningMethodRS256, k.rsa, "r2", valid("mallory")), // kid r2, signed by r1's key
		},
		"/es-jwks": {
			Valid:    sign(t, jwt.SigningMethodES256, k.ec2, "e2", valid("alice")),
			Expired:  sign(t, jwt.SigningMethodES256, k.ec, "e1", expired),
			WrongSig: sign(t, jwt.SigningMethodES256, k.ecOther, "e1", valid("mallory")),
		},
	}
	// Refusals beyond the basic three.
	rsPEMBytes, _ := os.ReadFile(rsPEM)
	hs := sets["/hs"]
	hs.Extra = map[string]string{
		"no exp":        sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{"sub": "alice"}),
		"not yet valid": sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(10 * time.Minute).Unix()}),
		"malformed":     "abc.def",
		"alg none":      mustNone(t, valid("alice")),
	}
	hs.Codes = map[string]string{"no exp": "invalid_claims", "not yet valid": "token_not_valid_yet", "malformed": "invalid_token", "alg none": "invalid_signature"}
	sets["/hs"] = hs
	rs := sets["/rs"]
	// The classic algorithm confusion: HS256 "signed" with the RSA public
	// key as the HMAC secret must not pass as RS256.
	rs.Extra = map[string]string{"alg confusion": sign(t, jwt.SigningMethodHS256, rsPEMBytes, "", valid("mallory"))}
	rs.Codes = map[string]string{"alg confusion": "invalid_signature"}
	sets["/rs"] = rs
	rsj := sets["/rs-jwks"]
	rsj.Extra = map[string]string{"unknown kid": sign(t, jwt.SigningMethodRS256, k.rsa, "nope", valid("alice"))}
	rsj.Codes = map[string]string{"unknown kid": "invalid_signature"}
	sets["/rs-jwks"] = rsj

	rules := `
    rooms: {auto_join: ["user:{sub}"]}
    relay:
      - {event: say, to: others, attach_sender: true}`
	cfg := `
static_dir: ""
api: {key: "` + apiKey + `"}
namespaces:
  - name: /
    app: conformance
  - name: /tokens
    auth:
      mode: tokens
      tokens:
        - {sub: alice, token: alice-static-token}
        - {sub: bob, token: bob-static-token}` + rules + `
  - name: /hs
    auth:
      mode: jwt
      jwt: {algorithm: HS256, secret: "` + hsSecret + `"}` + rules + `
  - name: /rs
    auth:
      mode: jwt
      jwt: {algorithm: RS256, public_key_file: "` + rsPEM + `"}` + rules + `
  - name: /es
    auth:
      mode: jwt
      jwt: {algorithm: ES256, public_key_file: "` + esPEM + `"}` + rules + `
  - name: /rs-jwks
    auth:
      mode: jwt
      jwt: {algorithm: RS256, jwks_file: "` + rsJWKS + `"}` + rules + `
  - name: /es-jwks
    auth:
      mode: jwt
      jwt: {algorithm: ES256, jwks_file: "` + esJWKS + `"}` + rules + `
`
	url, _ := start(t, cfg)
	data, err := json.Marshal(sets)
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, "auth.apps.mjs", url, "SWITCHBOARD_TOKENS="+string(data))
}

// mustNone builds an unsigned token (alg "none").
func mustNone(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
