package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard/switchboard/internal/testkit/wsclient"
)

// TestGracefulShutdown runs the server as main does, connects a client,
// then cancels the context as SIGTERM would: the client must be told to go
// (close frame) and run must return cleanly within the shutdown timeout.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nstatic_dir: \"\"\nshutdown_timeout: 3s\nlog: {level: error}\nmetrics: {listen: \"127.0.0.1:0\"}\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, func(a, _ net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	// A polling handshake works...
	res, err := http.Get("http://" + addr.String() + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(body), `0{"sid"`) {
		t.Fatalf("handshake: %q", body)
	}
	// The metrics have their own listener, not the clients' port.
	res, err = http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics on the main listener: %s, want 404", res.Status)
	}
	// ...and a WebSocket client connected to "/" gets closed on shutdown.
	c := wsclient.Dial(t, "ws://"+addr.String()+"/socket.io/?EIO=4&transport=websocket", nil)
	if _, _, err := c.Read(5 * time.Second); err != nil { // open
		t.Fatal(err)
	}
	if err := c.WriteText("40"); err != nil {
		t.Fatal(err)
	}
	if msg, _, err := c.Read(5 * time.Second); err != nil || !strings.HasPrefix(string(msg), "40{") {
		t.Fatalf("connect: %q %v", msg, err)
	}

	cancel()
	_, _, err = c.Read(5 * time.Second)
	var closed wsutil.ClosedError
	// A close frame without code (the client reports 1005), as the Node
	// server sends.
	if !errors.As(err, &closed) || closed.Code != ws.StatusNoStatusRcvd {
		t.Fatalf("client got %v, want a close frame", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
}

// The metrics' own listener keeps the clients' cap on TCP connections per
// address: connections past it are closed as they are accepted, before a
// byte is read, however long they would hold on.
func TestMetricsListenerTCPCap(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nstatic_dir: \"\"\nshutdown_timeout: 3s\nlog: {level: error}\nmetrics: {listen: \"127.0.0.1:0\"}\nlimits: {max_connections_per_ip: 1, max_tcp_connections_per_ip: 2}\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, func(_, m net.Addr) { addrc <- m }) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}()
	var maddr net.Addr
	select {
	case maddr = <-addrc:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	// Two idle connections hold the address's slots...
	for range 2 {
		c, err := net.Dial("tcp", maddr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// ...so a third is reset at once (the dial itself may see it): its
	// read ends long before the header timeout (10s) would end it.
	c, err := net.Dial("tcp", maddr.String())
	if err != nil {
		return // reset while connecting
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("third connection to the metrics listener: read %v, want it closed", err)
	}
}
