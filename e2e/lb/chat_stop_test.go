//go:build unix

package lb

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestChatNodeStopped stops one node gracefully (SIGTERM) while users of
// all three chat: its users leave the others' lists at once, and the
// others keep chatting. See e2e/js/lb/chat-stop.test.mjs.
func TestChatNodeStopped(t *testing.T) {
	c := startChatCluster(t)
	ctl := http.NewServeMux()
	ctl.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("node")
		for _, n := range c.nodes {
			if n.Name == name {
				n.Stop()
				t.Logf("stopped node %s", name)
				return
			}
		}
		http.Error(w, "no node "+name, http.StatusNotFound)
	})
	srv := httptest.NewServer(ctl)
	defer srv.Close()
	runChatJS(t, c.proxy.URL(), "chat-stop.test.mjs", "LB_NODE_TAGS="+c.nodeTags(t), "LB_CONTROL_URL="+srv.URL)
	t.Logf("answers by status: %v", c.statuses())
}
