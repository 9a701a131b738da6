// Package browser drives headless Chromium (Debian's /usr/bin/chromium) with
// chromedp against the full default app: the static chat client at / and the
// chat app on "/". Two separate browser sessions (alice and bob) log in, both
// land in room "general", and each sees the other's message, once with the
// default transports (polling, then upgrade to WebSocket) and once with
// /?transports=polling.
//
// Chromium is taken from SWITCHBOARD_CHROMIUM, else /usr/bin/chromium. When it
// is missing the test is skipped, or fails when CI=true.
package browser

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/testkit/chromium"
)

// stepTimeout bounds one UI step: page load, login, a message arriving.
const stepTimeout = 15 * time.Second

// user is one browser session (its own browser context: cookies, storage and
// connections are not shared) with one tab on the chat client.
type user struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu         sync.Mutex
	console    []string // console messages and exceptions of the page
	websockets []string // URLs of WebSockets the page opened
}

func newUser(t *testing.T, browserCtx context.Context, name string) *user {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	u := &user{t: t, name: name, ctx: ctx}
	// Listen opens the tab. The callback runs on the tab's reader goroutine:
	// it only records, under the lock.
	if err := chromedp.Listen(ctx, u.onEvent); err != nil {
		t.Fatalf("%s: opening a tab: %v", name, err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			u.mu.Lock()
			u.console = append(u.console, fmt.Sprintf("[%s] %s", m.Type, m.String()))
			u.mu.Unlock()
		}
	}()
	return u
}

// dumpOnFailure logs what each user's page shows if the test failed. Register
// it after newUser so that it runs before the tabs are closed.
func dumpOnFailure(t *testing.T, users ...*user) {
	t.Cleanup(func() {
		if t.Failed() {
			for _, u := range users {
				u.dump()
			}
		}
	})
}

func (u *user) onEvent(ev any) {
	if e, ok := ev.(*network.EventWebSocketCreated); ok {
		u.mu.Lock()
		u.websockets = append(u.websockets, e.URL)
		u.mu.Unlock()
	}
}

func (u *user) socketIOWebSockets() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, url := range u.websockets {
		if strings.Contains(url, "/socket.io/") {
			out = append(out, url)
		}
	}
	return out
}

// do runs the steps with a bound, failing the test with what was being done.
func (u *user) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, chromedp.ErrPollingTimeout) {
			u.t.Fatalf("%s: %s: not done within %v: %v", u.name, what, stepTimeout, err)
		}
		u.t.Fatalf("%s: %s: %v", u.name, what, err)
	}
}

// waitJS waits until the JS function (called with args) returns a truthy value.
func (u *user) waitJS(what, fn string, args ...any) {
	u.t.Helper()
	poll := chromedp.PollFunction[bool](fn,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(stepTimeout-time.Second),
		chromedp.WithPollingArgs(args...))
	u.do(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := poll(ctx, t)
		return chromedp.Void{}, err
	})
}

func (u *user) eval(expr string) string {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		return fmt.Sprintf("<eval error: %v>", err)
	}
	return s
}

// dump logs what the page shows, for a failed test.
func (u *user) dump() {
	u.t.Logf("%s: #status: %s", u.name, u.eval(`(() => { const s = document.getElementById("status"); return s ? "state=" + s.dataset.state + " transport=" + s.dataset.transport + " text=" + s.textContent.replace(/\s+/g, " ").trim() : "<no #status>"; })()`))
	u.t.Logf("%s: #current-room: %q", u.name, u.eval(`(document.getElementById("current-room") || {}).textContent || ""`))
	u.t.Logf("%s: #users: %s", u.name, u.eval(`JSON.stringify(Array.from(document.querySelectorAll("#users li")).map(li => li.textContent.replace(/\s+/g, " ").trim()))`))
	u.t.Logf("%s: #messages: %s", u.name, u.eval(`JSON.stringify(Array.from(document.querySelectorAll("#messages li")).map(li => li.className + ": " + li.textContent.replace(/\s+/g, " ").trim()))`))
	u.mu.Lock()
	defer u.mu.Unlock()
	u.t.Logf("%s: websockets opened: %q", u.name, u.websockets)
	for _, c := range u.console {
		u.t.Logf("%s: console: %s", u.name, c)
	}
}

const jsStatusConnected = `() => { const s = document.getElementById("status"); return !!s && s.dataset.state === "connected"; }`

const jsTransportIs = `(want) => { const s = document.getElementById("status"); return !!s && s.dataset.transport === want; }`

const jsCurrentRoomIs = `(want) => { const r = document.getElementById("current-room"); return !!r && r.textContent.trim() === want; }`

const jsUsersInclude = `(names) => {
	const shown = Array.from(document.querySelectorAll("#users li")).map(li => li.textContent);
	return names.every(n => shown.some(s => s.includes(n)));
}`

const jsHasMessage = `(author, text) => Array.from(document.querySelectorAll("#messages li.message")).some(li => {
	const a = li.querySelector(".author"), x = li.querySelector(".text");
	return !!a && !!x && a.textContent.trim() === author && x.textContent === text;
})`

// login opens the chat client at url and logs in; it returns once the chat
// screen shows room "general".
func (u *user) login(url string) {
	u.t.Helper()
	u.do("open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	u.waitJS("connect (#status state=connected)", jsStatusConnected)
	u.do("log in",
		chromedp.SendKeys(chromedp.CSS("#username"), u.name),
		chromedp.Click(chromedp.CSS(`#login-form [type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#message-form")),
	)
	u.waitJS(`land in room "general" (#current-room)`, jsCurrentRoomIs, "general")
}

// send types text into the composer and sends it.
func (u *user) send(text string) {
	u.t.Helper()
	u.do("send a message",
		chromedp.WaitEnabled(chromedp.CSS(`#message-form [type="submit"]`)),
		chromedp.SendKeys(chromedp.CSS("#message-input"), text),
		chromedp.Click(chromedp.CSS(`#message-form [type="submit"]`)),
	)
}

func (u *user) waitMessage(author, text string) {
	u.t.Helper()
	u.waitJS(fmt.Sprintf("see %s's message %q in #messages", author, text), jsHasMessage, author, text)
}

func TestChatTwoBrowsers(t *testing.T) {
	execPath := chromium.Path(t)
	base := strings.TrimRight(startServer(t, "default"), "/")

	browserCtx := chromium.Start(t, execPath)

	for _, tc := range []struct {
		name, query, transport string
	}{
		{name: "default-transports", query: "", transport: "websocket"},
		{name: "polling-only", query: "?transports=polling", transport: "polling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := base + "/" + tc.query
			alice := newUser(t, browserCtx, "alice")
			bob := newUser(t, browserCtx, "bob")
			dumpOnFailure(t, alice, bob)

			alice.login(url)
			bob.login(url)
			for _, u := range []*user{alice, bob} {
				u.waitJS("transport "+tc.transport+" (#status data-transport)", jsTransportIs, tc.transport)
				u.waitJS("alice and bob listed in #users", jsUsersInclude, []string{"alice", "bob"})
			}

			stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
			fromAlice := "hello bob from alice " + tc.name + " " + stamp
			alice.send(fromAlice)
			alice.waitMessage("alice", fromAlice)
			bob.waitMessage("alice", fromAlice)

			fromBob := "hi alice, bob here " + tc.name + " " + stamp
			bob.send(fromBob)
			bob.waitMessage("bob", fromBob)
			alice.waitMessage("bob", fromBob)

			// The transport the page reports is the one the browser used.
			for _, u := range []*user{alice, bob} {
				u.waitJS("still on "+tc.transport, jsTransportIs, tc.transport)
				ws := u.socketIOWebSockets()
				switch tc.transport {
				case "polling":
					if len(ws) != 0 {
						t.Errorf("%s: polling-only page opened WebSockets: %q", u.name, ws)
					}
				case "websocket":
					if len(ws) == 0 {
						t.Errorf("%s: no WebSocket to /socket.io/ was opened (upgrade expected)", u.name)
					}
				}
			}
		})
	}
}
