// Package jwtkeys reads the public keys that verify JSON Web Tokens: a PEM
// file (PKIX public key or certificate) or a JWKS document (RFC 7517) with
// RSA and P-256 EC keys. Package auth reads them when the server is built.
package jwtkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
)

// Set is a verified set of public keys for one algorithm.
type Set struct {
	// Default is the key of a PEM file (used whatever the token's kid).
	Default crypto.PublicKey
	// ByKID holds JWKS keys by their "kid"; a JWKS key without kid is
	// the Default.
	ByKID map[string]crypto.PublicKey
}

// Key returns the key for a token's kid.
func (s *Set) Key(kid string) (crypto.PublicKey, bool) {
	if kid != "" {
		if k, ok := s.ByKID[kid]; ok {
			return k, true
		}
	}
	if s.Default != nil {
		return s.Default, true
	}
	if kid == "" && len(s.ByKID) == 1 {
		for _, k := range s.ByKID {
			return k, true
		}
	}
	return nil, false
}

// checkAlg reports whether key suits the algorithm (RS256: RSA of at least
// 2048 bits; ES256: ECDSA on P-256).
func checkAlg(alg string, key crypto.PublicKey) error {
	switch alg {
	case "RS256":
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("key is %T, want an RSA public key for RS256", key)
		}
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key has %d bits, want at least 2048", k.N.BitLen())
		}
	case "ES256":
		k, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("key is %T, want an ECDSA P-256 public key for ES256", key)
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("ECDSA key is on %s, want P-256 for ES256", k.Curve.Params().Name)
		}
	default:
		return fmt.Errorf("algorithm %q takes no public key", alg)
	}
	return nil
}

// LoadPEM reads a PEM public key (or certificate) for alg from path.
func LoadPEM(path, alg string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParsePEM(data)
	if err != nil {
		return nil, err
	}
	if err := checkAlg(alg, key); err != nil {
		return nil, err
	}
	return &Set{Default: key}, nil
}

// ParsePEM parses the first PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block.
func ParsePEM(data []byte) (crypto.PublicKey, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PEM public key or certificate found")
		}
		switch b.Type {
		case "PUBLIC KEY":
			return x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			return x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, err
			}
			return c.PublicKey, nil
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			return nil, fmt.Errorf("found a %s: give the public key only (the server never needs the private one)", b.Type)
		}
	}
}

// LoadJWKS reads a JWKS file and keeps the keys usable with alg. It fails
// when none is.
func LoadJWKS(path, alg string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseJWKS(data, alg)
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseJWKS parses a JWKS document, keeping the signature keys for alg.
func ParseJWKS(data []byte, alg string) (*Set, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid JWKS JSON: %v", err)
	}
	if len(doc.Keys) == 0 {
		return nil, errors.New(`JWKS has no "keys"`)
	}
	s := &Set{ByKID: map[string]crypto.PublicKey{}}
	var skipped []string
	for i, k := range doc.Keys {
		if (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != alg) {
			continue
		}
		key, err := k.publicKey()
		if err == nil {
			err = checkAlg(alg, key)
		}
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("keys[%d]: %v", i, err))
			continue
		}
		if k.Kid == "" {
			if s.Default != nil {
				return nil, fmt.Errorf("keys[%d]: several keys without kid", i)
			}
			s.Default = key
			continue
		}
		if _, dup := s.ByKID[k.Kid]; dup {
			return nil, fmt.Errorf("keys[%d]: duplicate kid %q", i, k.Kid)
		}
		s.ByKID[k.Kid] = key
	}
	if s.Default == nil && len(s.ByKID) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("no key usable with %s (%s)", alg, skipped[0])
		}
		return nil, fmt.Errorf("no signature key for %s", alg)
	}
	return s, nil
}

func (k *jwk) publicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64int(k.N, "n")
		if err != nil {
			return nil, err
		}
		e, err := b64int(k.E, "e")
		if err != nil {
			return nil, err
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, errors.New(`invalid RSA exponent "e"`)
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("unsupported curve %q (want P-256)", k.Crv)
		}
		x, err := b64int(k.X, "x")
		if err != nil {
			return nil, err
		}
		y, err := b64int(k.Y, "y")
		if err != nil {
			return nil, err
		}
		// Round-trip through the uncompressed point encoding so that a
		// point not on the curve is rejected.
		buf := make([]byte, 65)
		buf[0] = 4
		if len(x.Bytes()) > 32 || len(y.Bytes()) > 32 {
			return nil, errors.New("EC coordinates too long for P-256")
		}
		x.FillBytes(buf[1:33])
		y.FillBytes(buf[33:])
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), buf)
		if err != nil {
			return nil, fmt.Errorf("invalid EC point: %v", err)
		}
		return pk, nil
	default:
		return nil, fmt.Errorf("unsupported kty %q (want RSA or EC)", k.Kty)
	}
}

func b64int(s, name string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("invalid base64url %q", name)
	}
	return new(big.Int).SetBytes(b), nil
}
