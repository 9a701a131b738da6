package server

import (
	"crypto/tls"
	"fmt"
	"net"
)

// ServeWebTransport starts the WebTransport endpoint of the webtransport
// section, if there is one, and returns its UDP address (nil without
// one). httpAddr is where the HTTP server listens: without
// webtransport.listen, WebTransport takes the same port in UDP, where
// browsers look for it. Shutdown stops it.
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
	a.wt = a.io.Engine().WebTransportServer("", a.cfg.SocketIO.Path, tc)
	go func() {
		if err := a.wt.Serve(pc); err != nil {
			a.log.Debug("webtransport: stopped", "err", err)
		}
	}()
	a.log.Info("webtransport listening", "addr", pc.LocalAddr().String())
	return pc.LocalAddr(), nil
}
