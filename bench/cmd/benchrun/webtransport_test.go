package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
)

// The webtransport group runs only when asked for, each workload over each
// transport with the same loadgen arguments, on Switchboard alone.
func TestWTScenarios(t *testing.T) {
	keys := func(list ...string) string {
		var out []string
		for _, sc := range scenarios(false) {
			if selected(sc, list) && sc.Group == groupWT {
				out = append(out, sc.Key)
			}
		}
		return strings.Join(out, ",")
	}
	all := "webtransport-echo-websocket,webtransport-echo-webtransport,webtransport-fanout-websocket,webtransport-fanout-webtransport"
	for _, c := range []struct {
		list []string
		want string
	}{
		{nil, ""},
		{[]string{"core"}, ""},
		{[]string{"cluster"}, ""},
		{[]string{"webtransport"}, all},
		{[]string{"webtransport-fanout-webtransport"}, "webtransport-fanout-webtransport"},
	} {
		if got := keys(c.list...); got != c.want {
			t.Errorf("-scenarios %v: %q, want %q", c.list, got, c.want)
		}
	}
	core := map[string]string{}
	for _, sc := range scenarios(false) {
		core[sc.Key] = strings.Join(sc.Args, " ")
	}
	for _, quick := range []bool{false, true} {
		byShape := map[string]string{}
		for _, sc := range wtScenarios(quick) {
			if !sc.OptIn || sc.Mode != "" || !skips(sc, node) || skips(sc, sb) {
				t.Errorf("%s: opt-in %v, mode %q, Node skipped %v", sc.Key, sc.OptIn, sc.Mode, skips(sc, node))
			}
			shape := strings.TrimSuffix(strings.TrimSuffix(sc.Key, "-"+sc.Transport), "-")
			a := strings.Join(sc.Args, " ") + " | " + strings.Join(sc.Warmup, " ")
			if prev, ok := byShape[shape]; ok && prev != a {
				t.Errorf("%s: %s, but over the other transport %s", sc.Key, a, prev)
			}
			byShape[shape] = a
			got := strings.Join(withTransport(sc.Args, sc, "c.pem"), " ")
			want := strings.Join(sc.Args, " ")
			if sc.Transport == transportWT {
				want += " -transport webtransport -ca c.pem"
			}
			if got != want {
				t.Errorf("%s: loadgen %s, want %s", sc.Key, got, want)
			}
		}
		if len(byShape) != 2 {
			t.Errorf("quick %v: workloads %v", quick, byShape)
		}
	}
	// Fanout is the core fanout-w50.
	for _, sc := range wtScenarios(false) {
		if strings.Contains(sc.Key, "fanout") && strings.Join(sc.Args, " ") != core["fanout-w50"] {
			t.Errorf("%s: %v, want the core fanout-w50's %s", sc.Key, sc.Args, core["fanout-w50"])
		}
	}
	if skips(scenario{Key: "echo"}, node) {
		t.Error("the core echo skips Node")
	}
}

// The certificate is ECDSA P-256 for 127.0.0.1, loads with its key, and
// the configuration with the section appended is valid.
func TestWTCertAndConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, err := writeWTCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(certFile)
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key %T", cert.PublicKey)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Errorf("self-signed chain: %v", err)
	}

	cfgPath := dir + "/bench.yaml"
	base, err := os.ReadFile("../../bench.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, base, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := appendFile(cfgPath, wtConfigSection(certFile, keyFile)); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgPath, handlers.Names())
	if err != nil {
		t.Fatal(err)
	}
	if w := c.WebTransport; w == nil || w.Listen != "" || w.CertFile != certFile || w.KeyFile != keyFile {
		t.Errorf("webtransport section: %+v", w)
	}
}
