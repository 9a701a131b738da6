package ops

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/testkit/chromium"
	"github.com/switchboard/switchboard/internal/testkit/sioclient"
)

// TestAdminUIInChromium: the served Admin UI, in headless Chromium, finds
// its server prefilled, logs in, shows a connected test client with its
// rooms, and its disconnect button disconnects that client.
func TestAdminUIInChromium(t *testing.T) {
	s := start(t, withAdmin(t, conformance(t)))
	ctx := chromium.Start(t, chromium.Path(t), chromedp.WindowSize(1400, 1000)) // the UI's wide layout
	tctx, cancel := context.WithTimeout(ctx, 150*time.Second)
	defer cancel()
	c, err := sioclient.Dial(tctx, s.url, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.EmitWithAck(tctx, "join", "lobby"); err != nil {
		t.Fatal(err)
	}
	bodyHas := `(s) => document.body.innerText.includes(s)`

	if err := chromedp.Do(tctx, chromedp.Navigate(s.url+"/admin/")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tctx, "the login form", `() => !!document.querySelector('input[type="password"]')`)
	// The form's fields have generated ids: name them by their labels.
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`(() => {
		for (const l of document.querySelectorAll("label")) {
			const i = document.getElementById(l.htmlFor);
			if (i) i.setAttribute("data-test", l.textContent.trim());
		}
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	serverURL, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.querySelector('[data-test="Server URL"]').value`))
	if err != nil || serverURL != s.url {
		t.Fatalf("prefilled server URL %q (%v), want %q", serverURL, err, s.url)
	}
	// A first visit connects nowhere before a password is given: no
	// "Invalid credentials" greets the user. A connection attempt on
	// loopback would have been refused well within the second waited.
	time.Sleep(time.Second)
	if shown, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`document.body.innerText.includes("Invalid credentials") || document.body.innerText.includes("Error")`)); err != nil || shown {
		t.Fatalf("the login form shows an error before anything was typed (%v)", err)
	}
	if err := chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.CSS(`[data-test="Username"]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`[data-test="Password"]`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tctx, "the connection", `() => !document.querySelector('input[type="password"]') || document.querySelector('input[type="password"]').offsetParent === null`)

	// A reload logs in again by itself, with the session of this login.
	if err := chromedp.Do(tctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tctx, "the reconnection with the session", `() => !document.body.innerText.includes("Invalid credentials") && document.body.innerText.includes("Dashboard") && !(document.querySelector('input[type="password"]') && document.querySelector('input[type="password"]').offsetParent)`)

	hash := func(h string) {
		t.Helper()
		if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`(location.hash = `+strconv.Quote(h)+`, true)`)); err != nil {
			t.Fatal(err)
		}
	}
	hash("#/sockets/")
	waitJS(t, tctx, "the client in the socket list", bodyHas, c.ID)
	hash("#/rooms/")
	waitJS(t, tctx, "its room in the room list", bodyHas, "lobby")
	hash("#/n/%2F/sockets/" + c.ID)
	// The icons (its buttons have no text) come from this server.
	waitJS(t, tctx, "the icon font", `() => document.fonts.check('24px "Material Design Icons"') && [...document.fonts].some(f => f.family.includes("Material Design Icons") && f.status === "loaded")`)
	waitJS(t, tctx, "the socket's page with its rooms", `(id) => document.body.innerText.includes(id) && document.body.innerText.includes("lobby") && document.body.innerText.includes("WebSocket")`, c.ID)

	// The socket card's disconnect button (the client card's closes the
	// whole connection).
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`(() => {
		const b = [...document.querySelectorAll("button")].filter(b => b.querySelector(".mdi-logout"));
		if (b.length !== 2) return false;
		b[1].setAttribute("data-test", "disconnect-socket");
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`[data-test="disconnect-socket"]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(tctx, "disconnect"); err != nil {
		t.Fatalf("the client was not disconnected: %v", err)
	}
	waitJS(t, tctx, "the socket shown as disconnected", bodyHas, "DISCONNECTED")
}

// waitJS waits until the JS function returns true.
func waitJS(t *testing.T, ctx context.Context, what, fn string, args ...any) {
	t.Helper()
	poll := chromedp.PollFunction[bool](fn,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(30*time.Second), // generous: the machine may be loaded
		chromedp.WithPollingArgs(args...))
	if _, err := chromedp.Run(ctx, poll); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState + " " + location.href + "\n" + document.body.innerText.slice(0, 2000)`))
		t.Fatalf("waiting for %s: %v\npage: %s", what, err, state)
	}
}
