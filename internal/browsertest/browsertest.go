// Package browsertest starts headless Chromium for herd's page tests.
// The tests skip when Chromium is missing, except in CI (CI set), where
// the browser tests must run.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the browser's path, or skips the test (fails it in CI).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HERD_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI must run the browser tests")
	}
	t.Skip("chromium is not installed")
	return ""
}

// New starts a headless Chromium with a fresh profile and a window of
// width × 900 pixels, stopped when the test ends; every action must finish
// within 90 seconds.
func New(t testing.TB, width int) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// ScreenshotPath is where a test writes a screenshot: in $HERD_SCREENSHOTS
// when set (to keep it), else in the test's temporary directory.
func ScreenshotPath(t testing.TB, name string) string {
	if d := os.Getenv("HERD_SCREENSHOTS"); d != "" {
		os.MkdirAll(d, 0o755)
		return filepath.Join(d, name)
	}
	return filepath.Join(t.TempDir(), name)
}
