package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// ServeWebTransport starts the WebTransport endpoint of the webtransport
// section, if there is one, and returns its UDP address (nil without
// one). httpAddr is where the HTTP server listens: without
// webtransport.listen, WebTransport takes the same port in UDP, where
// browsers look for it. Shutdown stops it.
//
// QUIC connections are accepted here rather than by the webtransport
// server, so that limits.max_tcp_connections_per_ip caps them per client
// address too: a QUIC connection costs as much as a TCP one, and before
// its first request no handler sees it.
func (a *Server) ServeWebTransport(httpAddr net.Addr) (net.Addr, error) {
	w := a.cfg.WebTransport
	if w == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(w.CertFile, w.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("webtransport.cert_file: %w", err)
	}
	addr := w.Listen
	if addr == "" {
		addr = httpAddr.String()
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("webtransport.listen: %w", err)
	}
	pc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("webtransport.listen: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	wts := a.io.Engine().WebTransportServer("", a.cfg.SocketIO.Path, tc)
	ln, err := quic.ListenEarly(pc, wts.H3.TLSConfig, wts.H3.QUICConfig)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("webtransport.listen: %w", err)
	}
	a.wt, a.wtListener, a.wtConn = wts, ln, pc
	go a.acceptQUIC(ln)
	a.log.Info("webtransport listening", "addr", pc.LocalAddr().String())
	return pc.LocalAddr(), nil
}

// acceptQUIC hands the QUIC connections ln accepts to the webtransport
// server, within the cap per client address.
func (a *Server) acceptQUIC(ln *quic.EarlyListener) {
	for {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			return // closed by Shutdown
		}
		if a.conns != nil {
			k, counted := a.conns.connKey(conn.RemoteAddr())
			if counted && !a.conns.acquire(k) {
				a.conns.rejected.Add(1)
				a.log.Debug("QUIC connection refused: too many open connections from its address", "client", k)
				_ = conn.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad), "too many connections")
				continue
			}
			if counted {
				context.AfterFunc(conn.Context(), func() { a.conns.release(k) })
			}
		}
		go func() { _ = a.wt.ServeQUICConn(conn) }()
	}
}

// closeWebTransport stops the endpoint: its Engine.IO sessions are
// closed by then.
func (a *Server) closeWebTransport() error {
	if a.wt == nil {
		return nil
	}
	err := a.wt.Close()
	_ = a.wtListener.Close()
	_ = a.wtConn.Close()
	return err
}
