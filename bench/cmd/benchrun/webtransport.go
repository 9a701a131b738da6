package main

import (
	"fmt"
	"net"
	"path/filepath"

	"github.com/switchboard/switchboard/internal/testkit/testcert"
)

// The webtransport group: echo and fanout over WebSocket and over
// WebTransport (HTTP/3 over QUIC), both against Switchboard with the
// webtransport section on, a fresh process for each run as elsewhere.
// Only Switchboard runs it: the Node reference's WebTransport needs
// @fails-components/webtransport, a native module that cannot be
// installed offline.

const groupWT = "webtransport"

// The transports, as loadgen's -transport takes them.
const (
	transportWS = "websocket"
	transportWT = "webtransport"
)

var wtTransports = []string{transportWS, transportWT}

// wtScenarios are the group's scenarios: each workload over each
// transport, WebSocket first. Fanout has the core fanout-w50's shape;
// echo the core's clients with fewer round trips each (a WebTransport
// round trip costs several WebSocket ones: the core's 500,000 would take
// minutes).
func wtScenarios(quick bool) []scenario {
	type shape struct{ key, title, args, warmup string }
	shapes := []shape{
		{"echo", "echo", "-scenario echo -c 100 -rounds 1000", "-scenario echo -c 20 -rounds 200"},
		{"fanout", "fanout", "-scenario fanout -n 1000 -k 2000 -w 50", "-scenario fanout -n 100 -k 300 -w 20"},
	}
	if quick {
		shapes = []shape{
			{"echo", "echo", "-scenario echo -c 20 -rounds 200", "-scenario echo -c 10 -rounds 50"},
			{"fanout", "fanout", "-scenario fanout -n 200 -k 200 -w 50", "-scenario fanout -n 50 -k 50 -w 10"},
		}
	}
	var out []scenario
	for _, s := range shapes {
		for _, tr := range wtTransports {
			out = append(out, scenario{Key: wtKey(s.key, tr), Title: s.title + " over " + transportTitle(tr),
				Args: args(s.args), Warmup: args(s.warmup), Group: groupWT, OptIn: true, Transport: tr})
		}
	}
	return out
}

func wtKey(shape, transport string) string { return "webtransport-" + shape + "-" + transport }

func transportTitle(tr string) string {
	if tr == transportWT {
		return "WebTransport"
	}
	return "WebSocket"
}

// wtSkips reports whether srv does not run sc: the group is Switchboard's
// alone.
func wtSkips(sc scenario, srv string) bool { return sc.Group == groupWT && srv != sb }

// skips reports whether server srv has no run of sc.
func skips(sc scenario, srv string) bool { return clusterSkips(sc, srv) || wtSkips(sc, srv) }

// withTransport returns loadgen arguments a for sc's transport: over
// WebTransport, trusting the certificate in certFile.
func withTransport(a []string, sc scenario, certFile string) []string {
	if sc.Transport != transportWT {
		return a
	}
	return append(append([]string(nil), a...), "-transport", transportWT, "-ca", certFile)
}

// wtConfigSection is the webtransport section appended to the bench
// configuration of the group's runs: on the HTTP port, in UDP.
func wtConfigSection(certFile, keyFile string) string {
	return fmt.Sprintf("\n# Written by benchrun for the webtransport group.\nwebtransport:\n  listen: \"\"\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile)
}

// writeWTCert writes a self-signed ECDSA P-256 certificate for 127.0.0.1
// and localhost, valid ten days, and its key, as PEM files in dir; it
// returns their paths. The load generator is given the certificate to
// trust.
func writeWTCert(dir string) (certFile, keyFile string, err error) {
	c, err := testcert.Write(filepath.Join(dir, "webtransport-cert.pem"), filepath.Join(dir, "webtransport-key.pem"))
	if err != nil {
		return "", "", err
	}
	return c.CertFile, c.KeyFile, nil
}

// udpFree reports whether UDP port p on 127.0.0.1 is free: the
// webtransport section listens there too.
func udpFree(p int) bool {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
	if err != nil {
		return false
	}
	c.Close()
	return true
}
