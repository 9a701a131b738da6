package jwtkeys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(t *testing.T, bits int, kid string) map[string]string {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"kty": "RSA", "kid": kid, "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(t *testing.T, kid string) map[string]string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.PublicKey.Bytes()
	return map[string]string{"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(b[1:33]), "y": b64(b[33:])}
}

func doc(keys ...map[string]string) []byte {
	d, _ := json.Marshal(map[string]any{"keys": keys})
	return d
}

func TestParseJWKS(t *testing.T) {
	r1, r2 := rsaJWK(t, 2048, "r1"), rsaJWK(t, 2048, "r2")
	enc := rsaJWK(t, 2048, "enc")
	enc["use"] = "enc"
	s, err := ParseJWKS(doc(r1, r2, enc, ecJWK(t, "e1")), "RS256")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ByKID) != 2 || s.Default != nil {
		t.Fatalf("set = %+v (want r1 and r2 only: enc is not for signatures, e1 not RSA)", s)
	}
	if _, ok := s.Key("r2"); !ok {
		t.Fatal("r2 missing")
	}
	if _, ok := s.Key("nope"); ok {
		t.Fatal("unknown kid found a key")
	}
	if _, ok := s.Key(""); ok {
		t.Fatal("no kid found a key among several")
	}

	es, err := ParseJWKS(doc(ecJWK(t, "")), "ES256")
	if err != nil || es.Default == nil {
		t.Fatalf("ES256 default key: %+v %v", es, err)
	}
	if _, ok := es.Key("any"); !ok {
		t.Fatal("a kid-less key serves any kid")
	}
}

func TestParseJWKSErrors(t *testing.T) {
	bad := ecJWK(t, "x")
	bad["y"] = bad["x"] // not on the curve
	small := rsaJWK(t, 1024, "s")
	for _, tt := range []struct {
		data []byte
		alg  string
		want string
	}{
		{[]byte("{"), "RS256", "invalid JWKS JSON"},
		{[]byte(`{"keys":[]}`), "RS256", `JWKS has no "keys"`},
		{doc(bad), "ES256", "invalid EC point"},
		{doc(small), "RS256", "RSA key has 1024 bits, want at least 2048"},
		{doc(rsaJWK(t, 2048, "a"), rsaJWK(t, 2048, "a")), "RS256", `duplicate kid "a"`},
		{doc(map[string]string{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}), "ES256", `unsupported curve "P-384"`},
		{doc(rsaJWK(t, 2048, "a")), "ES256", "want an ECDSA P-256 public key"},
	} {
		_, err := ParseJWKS(tt.data, tt.alg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseJWKS(%.60s, %s) = %v, want %q", tt.data, tt.alg, err, tt.want)
		}
	}
}
