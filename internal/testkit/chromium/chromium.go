// Package chromium starts Debian's headless Chromium for end-to-end tests,
// driven with chromedp.
package chromium

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// DefaultPath is where Debian's chromium package puts the browser.
const DefaultPath = "/usr/bin/chromium"

// startTimeout bounds the browser's start.
const startTimeout = 30 * time.Second

// Path returns the browser to run: $SWITCHBOARD_CHROMIUM, else
// DefaultPath. When it is missing the test is skipped, or fails under
// CI=true. Call it before setting anything else up, so a skip costs
// nothing.
func Path(t testing.TB) string {
	t.Helper()
	path := os.Getenv("SWITCHBOARD_CHROMIUM")
	if path == "" {
		path = DefaultPath
	}
	st, err := os.Stat(path)
	testserver.Require(t, err == nil && !st.IsDir(), "chromium not found at %s (apt-get install chromium, or set SWITCHBOARD_CHROMIUM)", path)
	return path
}

// Start starts headless Chromium at path with a fresh profile and returns
// a chromedp context that owns it (its first tab is left blank); the
// browser ends with the test. opts come after the defaults (a window
// size, or a flag to turn one of them off).
func Start(t testing.TB, path string, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	all := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // tests run as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		// The machine has no network but loopback: no calls home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		// Tabs of several users must keep running at full speed although
		// only one can be in front.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
	}, opts...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), all...)
	t.Cleanup(cancelAlloc) // also waits for the browser process to exit
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first Do starts the browser; it must not run under a timeout
	// context (that would stop the browser), so bound it from outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting chromium (%s): %v", path, err)
		}
	case <-time.After(startTimeout):
		cancelBrowser()
		t.Fatalf("chromium (%s) did not start within %v", path, startTimeout)
	}
	return browserCtx
}
