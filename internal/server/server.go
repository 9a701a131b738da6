// Package server assembles Switchboard from its configuration: the Gin engine
// serving the static client, the Socket.IO server with each namespace's
// application, and the optional plain Engine.IO echo endpoint.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/engineio/redisforward"
	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/handlers/rawchat"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/redisadapter"
	"github.com/switchboard/switchboard/socketio/redisstreams"
)

// Server is a configured Switchboard server.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	io      *socketio.Server
	echo    *engineio.Server
	handler http.Handler
	lobby   *handlers.ChatLobby // the chat raw WebSocket clients join (raw_websocket)
	raw     *rawchat.Server
	chats   []*handlers.ChatLobby // the chat namespaces, closed at Shutdown
	cluster *redisadapter.Cluster // nil unless adapter type redis
	streams *redisstreams.Cluster // nil unless adapter type redis-streams
	redis   io.Closer
	forward *redisforward.Forwarder // nil unless adapter.forward_sessions
	conns   *connCap                // TCP connections per address, nil if no cap
	// The WebTransport endpoint, nil unless ServeWebTransport started it.
	wt         *webtransport.Server
	wtListener *quic.EarlyListener
	wtConn     net.PacketConn

	ops              // metrics, health, Admin UI
	rules []*nsRules // config-only rules per namespace
}

// New builds the application. log may be nil.
func New(cfg *config.Config, log *slog.Logger) (_ *Server, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Server{cfg: cfg, log: log}
	a.ops.init()
	a.conns = newConnCap(cfg.Limits.MaxTCPConnectionsPerIP, cfg.Limits.TrustedProxyPrefixes(), log)
	eopts := engineOptions(cfg, log)
	defer func() {
		if err != nil && a.forward != nil {
			_ = a.forward.Close()
		}
		if err != nil && a.cluster != nil {
			for _, l := range a.chats {
				l.Close()
			}
			_ = a.cluster.Close()
			_ = a.redis.Close()
		}
		if err != nil && a.streams != nil {
			_ = a.streams.Close()
			_ = a.redis.Close()
		}
	}()
	if err := a.newSocketIO(eopts); err != nil {
		return nil, err
	}
	if err := a.installNamespaces(); err != nil {
		return nil, err
	}
	r, err := a.routes(eopts)
	if err != nil {
		return nil, err
	}
	a.handler = r
	if err := a.mountRawChat(); err != nil {
		return nil, err
	}
	if err := a.mountOps(); err != nil {
		return nil, err
	}
	a.guardBodies(eopts.Limits.ClientKey)
	return a, nil
}

// guardBodies puts the time and per-address limits on request bodies, and
// the write timeout, in front of a.handler; key names a request's client
// address.
func (a *Server) guardBodies(key func(*http.Request) string) {
	lim := a.cfg.Limits
	a.handler = &bodyGuard{
		next:         a.handler,
		timeout:      lim.ReadBodyTimeout,
		writeTimeout: lim.WriteTimeout,
		perAddr:      lim.MaxConnectionsPerIP,
		key:          key,
		log:          a.log,
		rejected:     a.io.Engine().Rejected,
		inFlight:     make(map[string]int),
	}
}

// HTTPServer returns the HTTP server to serve the application with: the
// handler and the limits on reading requests (slow or oversized headers).
func (a *Server) HTTPServer(log *slog.Logger) *http.Server {
	if log == nil {
		log = a.log
	}
	return &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: a.cfg.Limits.ReadHeaderTimeout,
		MaxHeaderBytes:    a.cfg.Limits.MaxHeaderBytes,
		// Between requests on a kept-alive connection; long-polling
		// requests are not idle time.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// Handler returns the HTTP handler serving everything.
func (a *Server) Handler() http.Handler { return a.handler }

// SocketIO returns the Socket.IO server.
func (a *Server) SocketIO() *socketio.Server { return a.io }

// Shutdown disconnects every client (they see a transport close and
// reconnect) and waits for the connections to drain, until ctx is done.
func (a *Server) Shutdown(ctx context.Context) error {
	a.health.ShuttingDown() // /readyz: send new clients elsewhere
	a.stopOps()
	var err error
	if a.raw != nil {
		// Raw clients first, while the Socket.IO side (and its adapter)
		// can still tell every node that they leave; with at most half
		// the time left, the rest for the Socket.IO clients. Raw clients
		// still there at that point (one that never answers the close
		// frame lingers 2 s) are cut: that is the plan, not a failure,
		// unless the whole deadline has passed.
		rctx := ctx
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			rctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
			defer cancel()
		}
		if rerr := a.raw.Close(rctx); rerr != nil && ctx.Err() != nil {
			err = rerr
		}
	}
	err = errors.Join(err, a.io.Close(ctx))
	err = errors.Join(err, a.closeWebTransport()) // its sessions are closed: now the QUIC connections
	a.closeRules(ctx)
	if a.echo != nil {
		err = errors.Join(err, a.echo.Close(ctx))
	}
	for _, l := range a.chats {
		l.Close() // the clients are gone: this node's participants leave Redis
	}
	if a.forward != nil { // after the engine: no request comes any more
		err = errors.Join(err, a.forward.Close())
	}
	if a.cluster != nil {
		err = errors.Join(err, a.cluster.Close(), a.redis.Close())
	}
	if a.streams != nil {
		err = errors.Join(err, a.streams.Close(), a.redis.Close())
	}
	return err
}
