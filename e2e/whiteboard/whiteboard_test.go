// Package whiteboard drives the classic Socket.IO whiteboard demo
// (examples/whiteboard/static/, served by examples/whiteboard/whiteboard.yaml: one relay
// rule, no Go code) in two headless Chromium sessions: a stroke drawn with
// the mouse in one page must appear, in the chosen colour and at the same
// place, on the other page's canvas.
//
// Chromium is taken from SWITCHBOARD_CHROMIUM, else /usr/bin/chromium. When
// it is missing the test is skipped, or fails when CI=true.
package whiteboard

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/handlers"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/testkit/chromium"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

const stepTimeout = 15 * time.Second

func page(t *testing.T, browserCtx context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first action opens the tab and ties it to the context it runs
	// under: not a timeout context, or the tab would close with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// jsRedNear counts red pixels of the canvas within r pixels of (x, y), or
// of the whole canvas when r < 0.
const jsRedNear = `(x, y, r) => {
	const c = document.getElementById("board");
	const [x0, y0, w, h] = r < 0 ? [0, 0, c.width, c.height] : [x - r, y - r, 2 * r + 1, 2 * r + 1];
	const d = c.getContext("2d").getImageData(x0, y0, w, h).data;
	let n = 0;
	for (let i = 0; i < d.length; i += 4) if (d[i] > 150 && d[i + 1] < 90 && d[i + 2] < 90 && d[i + 3] > 100) n++;
	return n;
}`

func redNear(t *testing.T, ctx context.Context, x, y, r int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("(%s)(%d, %d, %d)", jsRedNear, x, y, r)))
	if err != nil {
		t.Fatalf("reading the canvas: %v", err)
	}
	return n
}

func TestWhiteboardTwoBrowsers(t *testing.T) {
	execPath := chromium.Path(t)
	root := testserver.Root(t)
	cfg, err := config.Load(filepath.Join(root, "examples", "whiteboard", "whiteboard.yaml"), handlers.Names())
	if err != nil {
		t.Fatal(err)
	}
	cfg.StaticDir = filepath.Join(root, cfg.StaticDir)
	url, a := testserver.StartApp(t, cfg)

	browser := chromium.Start(t, execPath, chromedp.WindowSize(900, 700))
	drawer, viewer := page(t, browser), page(t, browser)
	for _, p := range []context.Context{drawer, viewer} {
		do(t, p, "open the whiteboard", chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.CSS("#board")))
	}
	// The page keeps its socket to itself: wait for both on the server.
	nsp := a.SocketIO().Of("/")
	deadline := time.Now().Add(stepTimeout)
	for nsp.Len() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 pages connected within %v", nsp.Len(), stepTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := redNear(t, viewer, 0, 0, -1); n != 0 {
		t.Fatalf("viewer's canvas has %d red pixels before any drawing", n)
	}

	// Pick red, then draw a stroke with the left button held down.
	held := func(p *input.DispatchMouseEventParams) { p.Button = input.MouseButtonLeft; p.Buttons = 1 }
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(".color.red")),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 200, 200),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, 200, 200, held, func(p *input.DispatchMouseEventParams) { p.ClickCount = 1 }),
	}
	for i := 1; i <= 10; i++ {
		steps = append(steps, chromedp.Sleep(25*time.Millisecond), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, float64(200+30*i), float64(200+10*i), held))
	}
	steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, 500, 300, held, func(p *input.DispatchMouseEventParams) { p.ClickCount = 1 }))
	do(t, drawer, "draw a red stroke", steps...)

	if n := redNear(t, drawer, 350, 250, 3); n == 0 {
		t.Fatal("the drawer's own canvas shows no stroke at (350, 250)")
	}
	deadline = time.Now().Add(stepTimeout)
	for redNear(t, viewer, 350, 250, 3) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the stroke did not appear on the other page within %v (red pixels on its canvas: %d)", stepTimeout, redNear(t, viewer, 0, 0, -1))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("red pixels: drawer %d, viewer %d", redNear(t, drawer, 0, 0, -1), redNear(t, viewer, 0, 0, -1))
}
