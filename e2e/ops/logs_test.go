package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLifecycleLogs: at debug level, one JSON line per socket connection
// and disconnection with namespace, transport, remote address and reason;
// at info level none, and the session id appears in no line.
func TestLifecycleLogs(t *testing.T) {
	run := func(level slog.Level) (*syncBuffer, string) {
		var buf syncBuffer
		log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
		s := startWith(t, conformance(t), func(c *config.Config) (*server.Server, error) { return server.New(c, log) })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := sioclient.Dial(ctx, s.url, "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		id := c.ID
		c.Close()
		deadline := time.Now().Add(5 * time.Second)
		for level == slog.LevelDebug && !strings.Contains(buf.String(), "socket disconnected") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return &buf, id
	}

	buf, id := run(slog.LevelDebug)
	var connected, disconnected map[string]any
	for _, l := range buf.lines() {
		switch l["msg"] {
		case "socketio: socket connected":
			connected = l
		case "socketio: socket disconnected":
			disconnected = l
		}
	}
	if connected == nil || disconnected == nil {
		t.Fatalf("no connect/disconnect lines in:\n%s", buf)
	}
	for _, l := range []map[string]any{connected, disconnected} {
		if l["level"] != "DEBUG" || l["nsp"] != "/" || l["transport"] != "websocket" || !strings.HasPrefix(l["remote"].(string), "127.0.0.1:") {
			t.Errorf("line %v", l)
		}
	}
	if disconnected["reason"] != "transport close" {
		t.Errorf("disconnect reason %v", disconnected["reason"])
	}

	buf, id = run(slog.LevelInfo)
	if s := buf.String(); strings.Contains(s, id) || strings.Contains(s, "socket connected") {
		t.Errorf("info level logs:\n%s", s)
	}
}
