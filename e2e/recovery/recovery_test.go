//go:build unix

// Package recovery tests connection state recovery with the npm
// socket.io-client 4.8.4 (driven by node on e2e/js/recovery/*.mjs): a
// client's transport is cut while a stream of broadcasts goes on; it
// reconnects, is recovered, and has received every broadcast exactly once,
// in order.
package recovery

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testkit/nodetest"
	"github.com/switchboard/switchboard/internal/testkit/serve"
	"github.com/switchboard/switchboard/socketio"
)

// startServer serves a Socket.IO server with recovery on. Its "/" namespace
// streams numbered broadcasts to a room:
//
//	start(room): the socket joins room; "n" i is broadcast to room every
//	             millisecond or so, i = 0, 1, 2...
//	stop(room) -> count: the stream stops; count is how many were sent.
//
// "mark" i is also sent with Socket.Emit (direct, not a broadcast) every
// 10th packet, to the socket that started the stream.
func startServer(t *testing.T) string {
	srv := socketio.NewServer(&socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	nsp := srv.Of("/")
	type stream struct {
		stop  chan struct{}
		count chan int
	}
	var mu sync.Mutex
	streams := map[string]*stream{}
	var wg sync.WaitGroup
	socketio.On(nsp, "start", func(s *socketio.Socket, room string) {
		_ = s.Join(room)
		st := &stream{stop: make(chan struct{}), count: make(chan int, 1)}
		mu.Lock()
		streams[room] = st
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := 0
			for {
				select {
				case <-st.stop:
					st.count <- i
					return
				case <-time.After(time.Millisecond):
				}
				_ = nsp.To(room).Emit("n", i)
				if i%10 == 0 {
					_ = s.Emit("mark", i) // s may be the socket of a cut connection: still logged
				}
				i++
			}
		}()
	})
	socketio.OnAck(nsp, "stop", func(s *socketio.Socket, room string) int {
		mu.Lock()
		st := streams[room]
		delete(streams, room)
		mu.Unlock()
		if st == nil {
			return -1
		}
		close(st.stop)
		return <-st.count
	})
	socketio.OnAck(nsp, "whoami", func(s *socketio.Socket, _ any) map[string]any {
		return map[string]any{"id": s.ID(), "recovered": s.Recovered(), "rooms": s.Rooms()}
	})
	hs := serve.Start(t, srv, func(ctx context.Context) error {
		mu.Lock()
		for _, st := range streams {
			close(st.stop)
		}
		mu.Unlock()
		wg.Wait()
		return srv.Close(ctx)
	})
	return hs.URL
}

func TestRecoveryWithNpmClient(t *testing.T) {
	url := startServer(t)
	runNode(t, "recovery.mjs", url)
}

// runNode runs `node --test file` in e2e/js/recovery with SWITCHBOARD_URL
// set; a failing JS test fails t.
func runNode(t *testing.T, file, url string) {
	t.Helper()
	nodetest.Run(t, filepath.Join(nodetest.JSDir(t), "recovery"), []string{file}, url, 2*time.Minute)
}
