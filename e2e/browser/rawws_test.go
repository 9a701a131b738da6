package browser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/testkit/chromium"
)

// The tutorial's plain-WebSocket chat page (testdata/tutorial.html, served
// by the test from its own origin) and Switchboard's own chat client, side
// by side in headless Chromium: what is typed in either appears in the
// other, and between two tutorial pages.

// serveTutorial serves testdata/tutorial.html, connecting to wsURL, and
// returns its URL.
func serveTutorial(t *testing.T, wsURL string) string {
	t.Helper()
	page, err := os.ReadFile("testdata/tutorial.html")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(string(page), "WS_URL", wsURL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// openTutorial opens the tutorial page and waits for its WebSocket to open.
func (u *user) openTutorial(url string) {
	u.t.Helper()
	u.do("open the tutorial page "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#send")))
	u.waitJS("the page's WebSocket opens", `() => typeof socket !== "undefined" && socket.readyState === WebSocket.OPEN`)
}

// sendRaw types text into the tutorial page and clicks Send.
func (u *user) sendRaw(text string) {
	u.t.Helper()
	u.do("send "+strconv.Quote(text),
		chromedp.SendKeys(chromedp.CSS("#message"), text),
		chromedp.Click(chromedp.CSS("#send")),
	)
}

const jsListHas = `(want) => Array.from(document.querySelectorAll("#messages li")).some(li => li.textContent === want)`

// waitListed waits until the tutorial page's list shows the text frame want.
func (u *user) waitListed(want string) {
	u.t.Helper()
	u.waitJS(fmt.Sprintf("see %q in the tutorial page's list", want), jsListHas, want)
}

func (u *user) dumpTutorial() {
	u.t.Logf("%s: socket.readyState: %s", u.name, u.eval(`String(typeof socket === "undefined" ? "none" : socket.readyState)`))
	u.t.Logf("%s: #messages: %s", u.name, u.eval(`JSON.stringify(Array.from(document.querySelectorAll("#messages li")).map(li => li.textContent))`))
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.console {
		u.t.Logf("%s: console: %s", u.name, c)
	}
}

func TestTutorialWebSocketPage(t *testing.T) {
	execPath := chromium.Path(t)
	base := strings.TrimRight(startServer(t, "default"), "/")
	// As in the tutorial: ws://host:port, no path (the browser asks for /).
	tutorial := serveTutorial(t, "ws"+strings.TrimPrefix(base, "http"))

	browserCtx := chromium.Start(t, execPath)
	alice := newUser(t, browserCtx, "alice") // Switchboard's chat client
	raw1 := newUser(t, browserCtx, "raw1")   // tutorial pages
	raw2 := newUser(t, browserCtx, "raw2")
	t.Cleanup(func() {
		if t.Failed() {
			alice.dump()
			raw1.dumpTutorial()
			raw2.dumpTutorial()
		}
	})

	alice.login(base + "/")
	// Opened one after the other, the pages are guest-1 and guest-2.
	raw1.openTutorial(tutorial)
	alice.waitJS("guest-1 listed in #users", jsUsersInclude, []string{"alice", "guest-1"})
	raw2.openTutorial(tutorial)
	alice.waitJS("guest-2 listed in #users", jsUsersInclude, []string{"alice", "guest-1", "guest-2"})

	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)

	// Tutorial page -> the other tutorial page, itself, and the chat client.
	fromRaw1 := "hello from the tutorial page " + stamp
	raw1.sendRaw(fromRaw1)
	raw1.waitListed(fromRaw1)
	raw2.waitListed(fromRaw1)
	alice.waitMessage("guest-1", fromRaw1)

	// Chat client -> both tutorial pages, as "name: text".
	fromAlice := "hi tutorial pages, alice here " + stamp
	alice.send(fromAlice)
	alice.waitMessage("alice", fromAlice)
	raw1.waitListed("alice: " + fromAlice)
	raw2.waitListed("alice: " + fromAlice)

	// And the other way between the tutorial pages.
	fromRaw2 := "raw2 answers " + stamp
	raw2.sendRaw(fromRaw2)
	raw1.waitListed(fromRaw2)
	raw2.waitListed(fromRaw2)
	alice.waitMessage("guest-2", fromRaw2)

	// No page saw anything else: each list holds exactly those frames.
	for _, u := range []*user{raw1, raw2} {
		got := u.eval(`JSON.stringify(Array.from(document.querySelectorAll("#messages li")).map(li => li.textContent))`)
		want := fmt.Sprintf("[%q,%q,%q]", fromRaw1, "alice: "+fromAlice, fromRaw2)
		if got != want {
			t.Errorf("%s: list %s, want %s", u.name, got, want)
		}
	}

	// Bad input closes only that page's WebSocket, with the code Chromium
	// reports: binary 1003, over max_message (4096 bytes) 1009.
	for _, tc := range []struct {
		u    *user
		send string
		code int
	}{
		{raw2, `socket.send(new Uint8Array([1, 2, 3]))`, 1003},
		{raw1, `socket.send("x".repeat(5000))`, 1009},
	} {
		tc.u.eval(`socket.addEventListener("close", (e) => { window.closeCode = e.code; }), ` + tc.send + `, "sent"`)
		tc.u.waitJS(fmt.Sprintf("the page's WebSocket closes with %d", tc.code), `(code) => window.closeCode === code`, tc.code)
	}
	alice.waitJS("guest-1 and guest-2 gone from #users", `() => !Array.from(document.querySelectorAll("#users li")).some(li => li.textContent.includes("guest-"))`)
	last := "still chatting " + stamp
	alice.send(last)
	alice.waitMessage("alice", last)
}
