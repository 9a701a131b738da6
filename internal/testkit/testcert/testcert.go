// Package testcert makes the certificates tests (and the benchmark) serve
// WebTransport with:
// ECDSA P-256, self-signed for 127.0.0.1 and localhost, valid for less than
// two weeks, so that a browser accepts it through serverCertificateHashes
// without a CA.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Cert is a generated certificate.
type Cert struct {
	TLS  tls.Certificate
	Pool *x509.CertPool // trusts the certificate, for Go clients
	// Hash is the SHA-256 of the certificate (DER), as
	// serverCertificateHashes takes it.
	Hash [32]byte
	// CertFile and KeyFile hold it in PEM, for configuration files.
	CertFile, KeyFile string
}

// New generates a certificate, written to t's temporary directory.
func New(t testing.TB) *Cert {
	t.Helper()
	dir := t.TempDir()
	c, err := Write(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Write generates a certificate and writes it and its key to certFile and
// keyFile (the benchmark's WebTransport runs use it outside tests).
func Write(certFile, keyFile string) (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return nil, err
	}
	c := &Cert{
		TLS:      tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Pool:     x509.NewCertPool(),
		Hash:     sha256.Sum256(der),
		CertFile: certFile,
		KeyFile:  keyFile,
	}
	c.Pool.AddCert(leaf)
	return c, nil
}

// ServerConfig is a TLS configuration serving the certificate.
func (c *Cert) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS}, MinVersion: tls.VersionTLS13}
}
