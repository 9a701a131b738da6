// Command switchboard is a Socket.IO server: `go run .` serves the chat in
// static/ with the settings of config.yaml.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
)

func main() {
	path := flag.String("config", "config.yaml", "configuration file")
	hashPassword := flag.Bool("hash-password", false, "read a password from standard input, print its bcrypt hash (for admin_ui.auth.password_hash) and exit")
	flag.Parse()
	if *hashPassword {
		if err := server.PrintPasswordHash(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "switchboard:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *path, nil); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done (a signal), then shuts down gracefully.
// ready, if set, is told the listening addresses: the clients' and the
// metrics' own (nil when the metrics have none).
func run(ctx context.Context, path string, ready func(addr, metrics net.Addr)) error {
	cfg, err := config.Load(path, handlers.Names())
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	a, err := server.New(cfg, log)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	ln = a.Listener(ln)
	if _, err := a.ServeWebTransport(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	srv := a.HTTPServer(log)
	log.Info("switchboard listening", "addr", ln.Addr().String(), "config", path)
	msrv := a.MetricsServer(log)
	var mln net.Listener
	if msrv != nil {
		if mln, err = net.Listen("tcp", msrv.Addr); err != nil {
			ln.Close()
			return fmt.Errorf("metrics.listen: %w", err)
		}
		// The same cap on TCP connections per address as for clients.
		mln = a.Listener(mln)
		log.Info("metrics listening", "addr", mln.Addr().String(), "path", cfg.Metrics.Path)
	}

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if msrv != nil {
		go func() { errc <- msrv.Serve(mln) }()
	}
	if ready != nil {
		var maddr net.Addr
		if mln != nil {
			maddr = mln.Addr()
		}
		ready(ln.Addr(), maddr)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		log.Info("shutting down")
	}
	// Disconnect clients first: pending long-polling requests return and
	// WebSockets close, so the HTTP server has nothing left to wait for.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		log.Warn("clients did not all disconnect in time", "err", err)
	}
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newLogger(cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
