package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
)

// writeKeys writes an RSA and an EC public key (PEM), an EC private key
// and a JWKS file without a usable key.
func writeKeys(t *testing.T) (rsaPEM, ecPEM, jwks, privPEM string) {
	dir := t.TempDir()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	der, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	rsaPEM = write("rsa.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	der, _ = x509.MarshalPKIXPublicKey(&ek.PublicKey)
	ecPEM = write("ec.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	der, _ = x509.MarshalECPrivateKey(ek)
	privPEM = write("priv.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	jwks = write("jwks.json", []byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	return
}

// TestKeyFileErrors checks that a key file that cannot be used stops New
// with a *config.Error naming the key and saying what is wrong with it.
func TestKeyFileErrors(t *testing.T) {
	rsaPEM, ecPEM, jwks, priv := writeKeys(t)
	for _, j := range []*config.JWT{{Algorithm: "RS256", PublicKeyFile: rsaPEM}, {Algorithm: "ES256", PublicKeyFile: ecPEM}} {
		if _, err := NewJWT(j); err != nil {
			t.Errorf("NewJWT(%+v): %v", j, err)
		}
	}
	for _, tt := range []struct {
		jwt  config.JWT
		want string
	}{
		{config.JWT{Algorithm: "RS256", PublicKeyFile: ecPEM}, `jwt.public_key_file: "` + ecPEM + `": key is *ecdsa.PublicKey, want an RSA public key for RS256`},
		{config.JWT{Algorithm: "ES256", PublicKeyFile: rsaPEM}, `jwt.public_key_file: "` + rsaPEM + `": key is *rsa.PublicKey, want an ECDSA P-256 public key for ES256`},
		{config.JWT{Algorithm: "ES256", PublicKeyFile: priv}, `jwt.public_key_file: "` + priv + `": found a EC PRIVATE KEY: give the public key only (the server never needs the private one)`},
		{config.JWT{Algorithm: "ES256", PublicKeyFile: "/nonexistent.pem"}, `jwt.public_key_file: "/nonexistent.pem": open /nonexistent.pem: no such file or directory`},
		{config.JWT{Algorithm: "RS256", JWKSFile: jwks}, `jwt.jwks_file: "` + jwks + `": no key usable with RS256 (keys[0]: unsupported kty "oct" (want RSA or EC))`},
	} {
		_, err := New(&config.Auth{Mode: config.AuthJWT, JWT: &tt.jwt}, nil)
		var ce *config.Error
		if !errors.As(err, &ce) || err.Error() != tt.want {
			t.Errorf("New(%+v):\n got %v\nwant %s (a *config.Error)", tt.jwt, err, tt.want)
		}
	}
}
