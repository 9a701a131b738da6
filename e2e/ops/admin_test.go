package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
)

const adminPassword = "correct horse"

// withAdmin enables the Admin UI on cfg with user "admin".
func withAdmin(t *testing.T, cfg *config.Config) *config.Config {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AdminUI.Enabled = true
	cfg.AdminUI.Auth = config.AdminAuth{Username: "admin", PasswordHash: string(h)}
	if err := cfg.Validate(nil); err != nil {
		t.Fatal(err)
	}
	return cfg
}

type serialized struct {
	ID        string   `json:"id"`
	ClientID  string   `json:"clientId"`
	Transport string   `json:"transport"`
	Nsp       string   `json:"nsp"`
	Rooms     []string `json:"rooms"`
	Handshake struct {
		Address string            `json:"address"`
		Headers map[string]string `json:"headers"`
		Issued  int64             `json:"issued"`
	} `json:"handshake"`
}

// expectEvent waits for the admin event name and decodes argument 0.
func expectEvent(t *testing.T, ctx context.Context, c *sioclient.Client, name string, dst any) sioclient.Event {
	t.Helper()
	ev, err := c.Expect(ctx, name)
	if err != nil {
		t.Fatalf("waiting for %s: %v", name, err)
	}
	if dst != nil {
		if err := ev.Arg(0, dst); err != nil {
			t.Fatalf("%s: %v (%s)", name, err, ev.Args)
		}
	}
	return ev
}

// TestAdminProtocol speaks the Admin UI's protocol with the Go test
// client: login (wrong, right, then by session id), config, all_sockets,
// server_stats, the live socket and room events, and the actions.
func TestAdminProtocol(t *testing.T) {
	s := start(t, withAdmin(t, conformance(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if _, err := sioclient.Dial(ctx, s.url, "/admin", map[string]string{"username": "admin", "password": "wrong"}); err == nil || !strings.Contains(err.Error(), "invalid credentials") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := sioclient.Dial(ctx, s.url, "/admin", nil); err == nil {
		t.Fatal("no credentials accepted")
	}
	// The refused clients closed their connections; the server_stats
	// below count connections, so wait until the server has seen them go.
	for st := s.app.SocketIO().Engine().Stats(); st.OpenPolling+st.OpenWebSocket > 0; st = s.app.SocketIO().Engine().Stats() {
		if ctx.Err() != nil {
			t.Fatalf("refused admin connections still open: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}

	app1, err := sioclient.Dial(ctx, s.url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app1.Close()
	if _, err := app1.EmitWithAck(ctx, "join", "lobby"); err != nil {
		t.Fatal(err)
	}

	adm, err := sioclient.Dial(ctx, s.url, "/admin", map[string]string{"username": "admin", "password": adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	var session string
	expectEvent(t, ctx, adm, "session", &session)
	var cfg struct{ SupportedFeatures []string }
	expectEvent(t, ctx, adm, "config", &cfg)
	for _, f := range []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"} {
		if !slices.Contains(cfg.SupportedFeatures, f) {
			t.Errorf("features %v lack %s", cfg.SupportedFeatures, f)
		}
	}
	var all []serialized
	expectEvent(t, ctx, adm, "all_sockets", &all)
	i := slices.IndexFunc(all, func(x serialized) bool { return x.ID == app1.ID })
	if i < 0 {
		t.Fatalf("all_sockets %+v lacks %s", all, app1.ID)
	}
	if got := all[i]; got.Nsp != "/" || got.Transport != "websocket" || !slices.Equal(got.Rooms, []string{app1.ID, "lobby"}) ||
		got.Handshake.Address != "127.0.0.1" || len(got.ClientID) != 12 || got.Handshake.Issued == 0 {
		t.Errorf("serialized socket %+v", got)
	}
	var stats struct {
		ServerID     string
		ClientsCount int64
		Namespaces   []struct {
			Name         string
			SocketsCount int
		}
	}
	expectEvent(t, ctx, adm, "server_stats", &stats)
	if stats.ClientsCount != 2 || stats.ServerID == "" {
		t.Errorf("server_stats %+v", stats)
	}

	// Live events: a socket connects, joins, emits, is made to join by the
	// admin, and is disconnected by the admin.
	app2, err := sioclient.Dial(ctx, s.url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app2.Close()
	var conn serialized
	expectEvent(t, ctx, adm, "socket_connected", &conn)
	if conn.ID != app2.ID || conn.Nsp != "/" {
		t.Errorf("socket_connected %+v", conn)
	}
	if _, err := app2.EmitWithAck(ctx, "join", "lobby"); err != nil {
		t.Fatal(err)
	}
	ev := expectEvent(t, ctx, adm, "event_received", nil)
	var nsp, id string
	var args []json.RawMessage
	_ = ev.Arg(0, &nsp)
	_ = ev.Arg(1, &id)
	_ = ev.Arg(2, &args)
	if nsp != "/" || id != app2.ID || len(args) != 2 || string(args[0]) != `"join"` || string(args[1]) != `"lobby"` {
		t.Errorf("event_received %s", ev.Args)
	}
	ev = expectEvent(t, ctx, adm, "room_joined", nil)
	var room string
	_ = ev.Arg(1, &room)
	_ = ev.Arg(2, &id)
	if room != "lobby" || id != app2.ID {
		t.Errorf("room_joined %s", ev.Args)
	}

	// A direct emit to the socket: "message" is echoed as "message-back".
	if err := app2.Emit("message", "ping"); err != nil {
		t.Fatal(err)
	}
	ev = expectEvent(t, ctx, adm, "event_sent", nil)
	args = nil
	_ = ev.Arg(1, &id)
	_ = ev.Arg(2, &args)
	if id != app2.ID || len(args) != 2 || string(args[0]) != `"message-back"` || string(args[1]) != `"ping"` {
		t.Errorf("event_sent %s", ev.Args)
	}

	if err := adm.Emit("join", "/", "vip", app2.ID); err != nil {
		t.Fatal(err)
	}
	ev = expectEvent(t, ctx, adm, "room_joined", nil)
	_ = ev.Arg(1, &room)
	if room != "vip" {
		t.Errorf("room_joined %s", ev.Args)
	}
	if err := adm.Emit("emit", "/", "vip", "notice", "hi"); err != nil {
		t.Fatal(err)
	}
	if ev, err := app2.Expect(ctx, "notice"); err != nil || string(ev.Args[0]) != `"hi"` {
		t.Fatalf("admin emit: %v %v", ev, err)
	}
	if err := adm.Emit("_disconnect", "/", false, app2.ID); err != nil {
		t.Fatal(err)
	}
	ev = expectEvent(t, ctx, adm, "socket_disconnected", nil)
	var reason string
	_ = ev.Arg(1, &id)
	_ = ev.Arg(2, &reason)
	if id != app2.ID || reason != "server namespace disconnect" {
		t.Errorf("socket_disconnected %s", ev.Args)
	}
	if _, err := app2.Expect(ctx, "disconnect"); err != nil { // the DISCONNECT packet
		t.Fatalf("app2 not told: %v", err)
	}

	// A later visit logs in with the session id alone.
	adm2, err := sioclient.Dial(ctx, s.url, "/admin", map[string]string{"sessionId": session})
	if err != nil {
		t.Fatalf("session login: %v", err)
	}
	adm2.Close()
}

// TestAdminReadonly: no actions are offered, and they do nothing.
func TestAdminReadonly(t *testing.T) {
	cfg := withAdmin(t, conformance(t))
	cfg.AdminUI.Readonly = true
	cfg.AdminUI.Mode = config.AdminModeProduction
	s := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	app1, err := sioclient.Dial(ctx, s.url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app1.Close()
	adm, err := sioclient.Dial(ctx, s.url, "/admin", map[string]string{"username": "admin", "password": adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	var cfgEv struct{ SupportedFeatures []string }
	expectEvent(t, ctx, adm, "config", &cfgEv)
	if !slices.Equal(cfgEv.SupportedFeatures, []string{"AGGREGATED_EVENTS"}) {
		t.Errorf("features %v", cfgEv.SupportedFeatures)
	}
	if err := adm.Emit("_disconnect", "/", true, app1.ID); err != nil {
		t.Fatal(err)
	}
	// server_stats comes every 2s; two of them leave time for the action.
	expectEvent(t, ctx, adm, "server_stats", nil)
	expectEvent(t, ctx, adm, "server_stats", nil)
	if _, err := app1.EmitWithAck(ctx, "join", "x"); err != nil {
		t.Fatalf("read-only admin disconnected a client: %v", err)
	}
}

// TestAdminUIPage: the page is served with the prefill script, its
// assets and the licence.
func TestAdminUIPage(t *testing.T) {
	s := start(t, withAdmin(t, conformance(t)))
	code, body := httpGet(t, s.url+"/admin/")
	if code != 200 || !strings.Contains(body, `s.setItem("path","/socket.io")`) || !strings.Contains(body, `s.setItem("namespace","/admin")`) ||
		!strings.Contains(body, `<script src="js/app.`) {
		t.Fatalf("GET /admin/ = %d %.300s", code, body)
	}
	if code, body := httpGet(t, s.url+"/admin/LICENSE"); code != 200 || !strings.Contains(body, "The Socket.IO team") {
		t.Errorf("LICENSE = %d", code)
	}
	if code, _ := httpGet(t, s.url+"/admin/favicon.png"); code != 200 {
		t.Errorf("favicon = %d", code)
	}
	res, err := noRedirect.Get(s.url + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 301 || res.Header.Get("Location") != "/admin/" {
		t.Errorf("/admin = %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestAdminSeesUpgrade: an npm socket.io-client connects with long-polling
// and upgrades; the admin sees it connect on polling, then a
// socket_updated to WebSocket, and the traffic in server_stats.
func TestAdminSeesUpgrade(t *testing.T) {
	s := start(t, withAdmin(t, conformance(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm, err := sioclient.Dial(ctx, s.url, "/admin", map[string]string{"username": "admin", "password": adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	expectEvent(t, ctx, adm, "all_sockets", nil)

	sc, stdin := runNode(t, s.url, `
import { io } from "socket.io-client";
import { createInterface } from "node:readline";
const socket = io(process.env.URL, { reconnection: false });
socket.once("connect", () => console.log("connected " + socket.id + " " + socket.io.engine.transport.name));
socket.on("connect_error", (e) => console.log("error " + e.message));
createInterface({ input: process.stdin }).on("close", () => { socket.disconnect(); setTimeout(() => process.exit(0), 100); });
`)
	if !sc.Scan() {
		t.Fatalf("node client said nothing: %v", sc.Err())
	}
	var id, transport string
	// The client may see its upgrade before its connect event; on the
	// server the CONNECT, sent at once over polling, comes first (the
	// client's upgrade waits for its pending polling requests).
	if _, err := fmt.Sscanf(sc.Text(), "connected %s %s", &id, &transport); err != nil {
		t.Fatalf("node client: %q", sc.Text())
	}
	// Read everything the admin gets: the socket's connection on polling,
	// its upgrade, and server_stats summing the traffic since the admin
	// connected.
	var conn serialized
	var upd struct{ ID, Nsp, Transport string }
	agg := map[string]int{}
	for conn.ID == "" || upd.ID == "" || agg["rawConnection"] == 0 || agg["packetsIn"] == 0 {
		ev, err := adm.Next(ctx)
		if err != nil {
			t.Fatalf("admin got connected=%+v updated=%+v aggregated=%v, then %v", conn, upd, agg, err)
		}
		switch ev.Name {
		case "socket_connected":
			if err := ev.Arg(0, &conn); err != nil || conn.ID != id || conn.Transport != "polling" {
				t.Fatalf("socket_connected %s", ev.Args)
			}
		case "socket_updated":
			if err := ev.Arg(0, &upd); err != nil || upd.ID != id || upd.Nsp != "/" || upd.Transport != "websocket" {
				t.Fatalf("socket_updated %s", ev.Args)
			}
		case "server_stats":
			var stats struct {
				AggregatedEvents []struct {
					Type  string
					Count int
				}
			}
			if err := ev.Arg(0, &stats); err != nil {
				t.Fatal(err)
			}
			for _, e := range stats.AggregatedEvents {
				agg[e.Type] += e.Count
			}
		}
	}
	if agg["rawConnection"] != 1 || agg["bytesOut"] < 1 {
		t.Fatalf("aggregated events %v", agg)
	}
	stdin.Close()
	var nsp, gone, reason string
	ev := expectEvent(t, ctx, adm, "socket_disconnected", &nsp)
	_ = ev.Arg(1, &gone)
	_ = ev.Arg(2, &reason)
	if gone != id || reason != "client namespace disconnect" {
		t.Fatalf("socket_disconnected %s", ev.Args)
	}
}
