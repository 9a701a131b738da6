//go:build unix

package lb

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/testkit/chromium"
)

// TestChatBrowsersRoundRobin opens the real page at / through haproxy
// round-robin in front of three nodes running the shipped configuration,
// in two headless Chromium sessions: alice and bob see each other in the
// participant list and read each other's messages, while every request of
// their pages (the page's files, the handshake, polls, the WebSocket
// upgrade) goes to the next node.
func TestChatBrowsersRoundRobin(t *testing.T) {
	path := chromium.Path(t)
	c := startChatCluster(t)
	browser := chromium.Start(t, path)
	url := c.proxy.URL() + "/"

	tags := c.tagMap(t)
	alice, bob := newChatPage(t, browser, "alice"), newChatPage(t, browser, "bob")
	for _, p := range []*chatPage{alice, bob} {
		// bob's session must be on another node than alice's. A page load
		// makes the same number of requests each time, so that reloading
		// could keep landing on one node: a request of our own in between
		// moves round-robin on by one.
		for try := 0; ; try++ {
			if try > 0 {
				res, err := http.Get(c.proxy.URL() + "/readyz")
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
			}
			p.do("open the page",
				chromedp.Navigate(url),
				chromedp.WaitVisible(chromedp.CSS("#login-form")))
			p.wait("connected", `() => document.getElementById("status").dataset.state === "connected"`)
			p.node = tags[p.eval(`window.chatSocket.io.engine.id.slice(0, 8)`)]
			if p == alice || p.node != alice.node {
				break
			}
			if try == 5 {
				t.Fatalf("bob's session is on alice's node %s every time", alice.node)
			}
		}
		t.Logf("%s's session is on node %s", p.name, p.node)
		p.do("log in",
			chromedp.SendKeys(chromedp.CSS("#username"), p.name),
			chromedp.Click(chromedp.CSS(`#login-form [type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("#message-form")))
	}
	for _, p := range []*chatPage{alice, bob} {
		p.wait("alice and bob, no one else, in #users", `() => {
			const shown = Array.from(document.querySelectorAll("#users li")).map(li => li.textContent);
			return shown.length === 2 && ["alice", "bob"].every(n => shown.some(s => s.includes(n)));
		}`)
		p.wait("upgraded to WebSocket", `() => document.getElementById("status").dataset.transport === "websocket"`)
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, m := range []struct{ from, to *chatPage }{{alice, bob}, {bob, alice}} {
		text := fmt.Sprintf("hello %s from %s %s", m.to.name, m.from.name, stamp)
		m.from.do("send a message",
			chromedp.WaitEnabled(chromedp.CSS(`#message-form [type="submit"]`)),
			chromedp.SendKeys(chromedp.CSS("#message-input"), text),
			chromedp.Click(chromedp.CSS(`#message-form [type="submit"]`)))
		for _, p := range []*chatPage{m.from, m.to} {
			p.wait(fmt.Sprintf("%s's message shown once", m.from.name), `(author, text) =>
				Array.from(document.querySelectorAll("#messages li.message")).filter(li => {
					const a = li.querySelector(".author"), x = li.querySelector(".text");
					return !!a && !!x && a.textContent.trim() === author && x.textContent === text;
				}).length === 1`, m.from.name, text)
		}
	}
	// The pages' Socket.IO requests really were spread over the nodes.
	nodes := map[string]int{}
	for _, r := range c.proxy.Requests() {
		if strings.HasPrefix(r.URI, "/socket.io/") {
			nodes[r.Server]++
		}
	}
	t.Logf("Socket.IO requests per node: %v", nodes)
	if len(nodes) < 2 {
		t.Errorf("the pages' Socket.IO requests reached %d node(s), want them spread", len(nodes))
	}
}

// chatPage is one browser session (its own context: no shared cookies or
// connections) with a tab on the chat.
type chatPage struct {
	t    *testing.T
	name string
	ctx  context.Context
	node string // the node holding its session
}

func newChatPage(t *testing.T, browser context.Context, name string) *chatPage {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &chatPage{t: t, name: name, ctx: ctx}
	// Listening opens the tab (and keeps its events flowing).
	if err := chromedp.Listen(ctx, func(any) {}); err != nil {
		t.Fatalf("%s: opening a tab: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: #users %s; #messages %s", name,
				p.eval(`JSON.stringify(Array.from(document.querySelectorAll("#users li")).map(li => li.textContent.trim()))`),
				p.eval(`JSON.stringify(Array.from(document.querySelectorAll("#messages li")).map(li => li.textContent.replace(/\s+/g, " ").trim()))`))
		}
	})
	return p
}

const chatPageStep = 15 * time.Second

func (p *chatPage) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, chatPageStep)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// wait polls the JS function fn (called with args) until it returns true.
func (p *chatPage) wait(what, fn string, args ...any) {
	p.t.Helper()
	poll := chromedp.PollFunction[bool](fn,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(chatPageStep-time.Second),
		chromedp.WithPollingArgs(args...))
	p.do(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := poll(ctx, t)
		return chromedp.Void{}, err
	})
}

func (p *chatPage) eval(expr string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return s
}
