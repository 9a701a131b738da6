package browser

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/chromium"
	"github.com/switchboard/switchboard/internal/testkit/testcert"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// startWebTransport starts the default app with WebTransport on, its
// certificate generated here; listen, if not empty, is webtransport.listen.
// It returns the base URL and the certificate's hash, as the page takes it.
func startWebTransport(t *testing.T, listen string) (base, hash string) {
	t.Helper()
	cert := testcert.New(t)
	base = testserver.Start(t, "default", testserver.RelaxedHeartbeat, func(c *config.Config) {
		c.WebTransport = &config.WebTransport{Listen: listen, CertFile: cert.CertFile, KeyFile: cert.KeyFile}
	})
	return strings.TrimRight(base, "/"), hex.EncodeToString(cert.Hash[:])
}

// startChromiumQUIC starts Chromium with QUIC on (the harness turns it off
// for the other tests: nothing else needs it).
func startChromiumQUIC(t *testing.T) context.Context {
	return chromium.Start(t, chromium.Path(t), chromedp.Flag("disable-quic", false))
}

// TestChatOverWebTransport: the shipped chat page in headless Chromium,
// connected over WebTransport (directly, and upgraded from polling), chats
// with users on WebSocket and on polling: everyone sees everyone, and every
// message reaches everyone.
func TestChatOverWebTransport(t *testing.T) {
	base, hash := startWebTransport(t, "")
	browser := startChromiumQUIC(t)

	users := []struct {
		name, query, transport string
	}{
		{"carol", "?transports=webtransport&cert_hash=" + hash, "webtransport"},
		{"dave", "?transports=polling,webtransport&cert_hash=" + hash, "webtransport"}, // upgraded
		{"alice", "?transports=websocket", "websocket"},
		{"bob", "?transports=polling", "polling"},
	}
	var all []*user
	var names []string
	for _, u := range users {
		names = append(names, u.name)
	}
	for _, spec := range users {
		u := newUser(t, browser, spec.name)
		dumpOnFailure(t, u)
		u.login(base + "/" + spec.query)
		u.waitJS("transport "+spec.transport, jsTransportIs, spec.transport)
		all = append(all, u)
	}
	for _, u := range all {
		u.waitJS("everyone listed in #users", jsUsersInclude, names)
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i, from := range all {
		text := "hello from " + from.name + " over " + users[i].transport + " " + stamp
		from.send(text)
		for _, to := range all {
			to.waitMessage(from.name, text)
		}
	}
	// Still on their transports: nothing fell back meanwhile.
	for i, u := range all {
		u.waitJS("still on "+users[i].transport, jsTransportIs, users[i].transport)
	}
}

// TestWebTransportFallback: where WebTransport does not answer (UDP
// blocked; here, nothing listens on the page's port in UDP), a page with
// the default transports ends on WebSocket, as with the Node server.
func TestWebTransportFallback(t *testing.T) {
	base, hash := startWebTransport(t, "127.0.0.1:0") // another UDP port than the page's
	browser := startChromiumQUIC(t)
	u := newUser(t, browser, "erin")
	dumpOnFailure(t, u)
	u.login(base + "/?cert_hash=" + hash)
	u.waitJS("transport websocket", jsTransportIs, "websocket")
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	u.send("still here " + stamp)
	u.waitMessage("erin", "still here "+stamp)
}
