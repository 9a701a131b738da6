// Command outside is an application that embeds Switchboard as a user's
// would: a module of its own that imports only Switchboard's exported
// packages, with its own HTTP routes beside the Socket.IO server, in a
// net/http ServeMux or a Gin engine, and the operations endpoints
// (metrics, health, Admin UI) that Switchboard's own binary serves. Its
// tests drive it with the npm socket.io-client and a real redis-server,
// so that an import of an internal package, or a feature that only the
// binary's wiring reaches, breaks them.
//
//	go run . -addr 127.0.0.1:8080 -router gin -redis 127.0.0.1:6379
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/adminui"
	"github.com/switchboard/switchboard/socketio/health"
	"github.com/switchboard/switchboard/socketio/metrics"
	"github.com/switchboard/switchboard/socketio/redisadapter"
)

// Config is what the application is started with.
type Config struct {
	// Router is "mux" (net/http ServeMux) or "gin".
	Router string
	// RedisAddr, if set, joins the nodes sharing that Redis server.
	RedisAddr string
	// AdminPassword is the Admin UI's password for the user "admin".
	AdminPassword string
	// MetricsToken guards /metrics.
	MetricsToken string
	Logger       *slog.Logger
}

// App is one node of the application.
type App struct {
	IO      *socketio.Server
	Health  *health.Health
	Admin   *adminui.Admin
	cluster *redisadapter.Cluster
	rdb     *redis.Client
	handler http.Handler
}

// New builds a node.
func New(cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &App{Health: &health.Health{}}
	adapterStats := &socketio.AdapterStats{}
	opts := &socketio.Options{
		Engine: engineio.Options{Limits: engineio.Limits{MaxSessions: 1000}},
		Logger: cfg.Logger,
	}
	if cfg.RedisAddr != "" {
		a.rdb = redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, DialTimeout: 2 * time.Second})
		c, err := redisadapter.New(redisadapter.Options{Client: a.rdb, Logger: cfg.Logger, Stats: adapterStats})
		if err != nil {
			_ = a.rdb.Close()
			return nil, err
		}
		a.cluster = c
		opts.NewAdapter = c.NewAdapter
		a.Health.Add("redis", false, health.Adapter(c))
	}
	a.IO = socketio.NewServer(opts)
	a.Health.Add("socketio", true, health.SocketIO(a.IO))
	a.socketIOHandlers()

	hash, err := bcrypt.GenerateFromPassword([]byte(cfg.AdminPassword), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	a.Admin, err = adminui.Instrument(a.IO, adminui.Options{
		Username:     "admin",
		PasswordHash: string(hash),
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, err
	}

	// Switchboard's metrics, with the Admin UI's login refusals counted too.
	col := metrics.NewCollector(a.IO, adapterStats)
	col.AddRejections(a.Admin.Rejections)
	col.AddCounter("admin_login_failures_total", "Admin UI logins refused for wrong credentials.", a.Admin.LoginFailures)
	ops := map[string]http.Handler{
		"/metrics": metrics.Handler(metrics.NewRegistry(col), cfg.MetricsToken),
		"/healthz": http.HandlerFunc(a.Health.Healthz),
		"/readyz":  http.HandlerFunc(a.Health.Readyz),
	}
	switch cfg.Router {
	case "mux":
		mux := http.NewServeMux()
		mux.HandleFunc("GET /api/hello", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]string{"hello": r.URL.Query().Get("name")})
		})
		mux.HandleFunc("GET /api/sockets", a.listSockets)
		mux.HandleFunc("POST /api/broadcast", a.broadcast)
		mux.Handle("/socket.io/", a.IO)
		mux.Handle("/admin/", a.Admin.Handler("/admin/"))
		for path, h := range ops {
			mux.Handle("GET "+path, h)
		}
		a.handler = mux
	case "gin":
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		r.Use(gin.Recovery())
		r.GET("/api/hello", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"hello": c.Query("name")}) })
		r.GET("/api/sockets", gin.WrapF(a.listSockets))
		r.POST("/api/broadcast", gin.WrapF(a.broadcast))
		r.Any("/socket.io/*rest", gin.WrapH(a.IO))
		r.GET("/admin/*rest", gin.WrapH(a.Admin.Handler("/admin/")))
		for path, h := range ops {
			r.GET(path, gin.WrapH(h))
		}
		a.handler = r
	default:
		return nil, fmt.Errorf("router %q: want mux or gin", cfg.Router)
	}
	return a, nil
}

// Handler is the node's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// socketIOHandlers is the application's Socket.IO side.
func (a *App) socketIOHandlers() {
	main := a.IO.Of("/")
	// Middleware: a token is required, and a refusal carries data the
	// client reads as err.data.
	main.Use(func(s *socketio.Socket) error {
		var auth struct{ Token string }
		_ = s.Handshake().AuthInto(&auth)
		if auth.Token == "" {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]string{"reason": "no token"}}
		}
		s.SetData(map[string]string{"user": auth.Token})
		return nil
	})
	// Typed handlers: decoded arguments, results as the acknowledgement.
	socketio.Handle(main, "echo", func(s *socketio.Socket, text string) string { return text })
	socketio.Handle(main, "add", func(ctx context.Context, s *socketio.Socket, x, y int) (int, error) {
		if x < 0 || y < 0 {
			return 0, &socketio.AckError{Message: "negative", Data: []int{x, y}}
		}
		return x + y, nil
	})
	socketio.Handle(main, "join", func(s *socketio.Socket, room string) error { return s.Join(room) })
	socketio.Handle(main, "say", func(s *socketio.Socket, room, text string) error {
		return s.To(room).Emit("said", user(s), text)
	})
	// Binary: a byte slice in, a byte slice back.
	socketio.Handle(main, "reverse", func(s *socketio.Socket, b []byte) []byte {
		slices.Reverse(b)
		return b
	})
	// An acknowledgement the server waits for, with a timeout: asked from
	// the client's own handler, so with the callback form, which does not
	// block the client's packets.
	socketio.Handle(main, "quiz", func(s *socketio.Socket, question string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		return s.EmitWithAckFunc(ctx, "question", func(answer socketio.Args, err error) {
			defer cancel()
			if err != nil {
				_ = s.Emit("verdict", "no answer: "+fmt.Sprint(errors.Is(err, socketio.ErrAckTimeout)))
				return
			}
			var text string
			_ = answer.Decode(0, &text)
			_ = s.Emit("verdict", "answer: "+text)
		}, question)
	})
	// Namespaces: a static one and dynamic ones.
	a.IO.Of("/chat").OnConnection(func(s *socketio.Socket) { _ = s.Emit("welcome", s.Namespace().Name()) })
	a.IO.OfRegexp(regexp.MustCompile(`^/team-[a-z]+$`)).OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("team", s.Namespace().Name())
	})
}

func user(s *socketio.Socket) string {
	m, _ := s.Data().(map[string]string)
	return m["user"]
}

// listSockets answers the sockets of the main namespace on every node.
func (a *App) listSockets(w http.ResponseWriter, r *http.Request) {
	socks, err := a.IO.FetchSockets(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	type sock struct {
		ID    string          `json:"id"`
		Rooms []string        `json:"rooms"`
		Data  json.RawMessage `json:"data"`
	}
	out := []sock{}
	for _, s := range socks {
		out = append(out, sock{s.ID, s.Rooms, s.Data})
	}
	writeJSON(w, out)
}

// broadcast emits "news" to a room, from the application's own route.
func (a *App) broadcast(w http.ResponseWriter, r *http.Request) {
	if err := a.IO.To(r.URL.Query().Get("room")).Emit("news", r.URL.Query().Get("text")); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Shutdown stops the node gracefully: unready first, so that balancers
// send new clients elsewhere; then the Socket.IO clients, which
// http.Server.Shutdown does not know (WebSockets are hijacked) and whose
// pending polls it would wait for; then the HTTP server; then Redis.
func (a *App) Shutdown(ctx context.Context, hs *http.Server) error {
	a.Health.ShuttingDown()
	a.Admin.Close()
	err := a.IO.Close(ctx)
	if hs != nil {
		err = errors.Join(err, hs.Shutdown(ctx))
	}
	if a.cluster != nil {
		err = errors.Join(err, a.cluster.Close(), a.rdb.Close())
	}
	return err
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	router := flag.String("router", "gin", "mux or gin")
	redisAddr := flag.String("redis", "", "Redis address for several nodes (empty: one node)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, err := New(Config{Router: *router, RedisAddr: *redisAddr,
		AdminPassword: os.Getenv("ADMIN_PASSWORD"), MetricsToken: os.Getenv("METRICS_TOKEN")})
	if err != nil {
		slog.Error("outside", "err", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		slog.Error("outside", "err", err)
		os.Exit(1)
	}
	hs := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	slog.Info("listening", "addr", ln.Addr().String())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Shutdown(sctx, hs); err != nil {
		slog.Warn("shutdown", "err", err)
	}
}
