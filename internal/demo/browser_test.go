package demo

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/herd-health/herd/internal/browsertest"

	"github.com/herd-health/herd/health"
)

func browser(t *testing.T) context.Context { return browsertest.New(t, 1280) }

func screenshotPath(t *testing.T, name string) string { return browsertest.ScreenshotPath(t, name) }

// TestBrowserShop loads the shop's page in headless Chromium: its script
// fetches the certificate from the agent's loopback endpoint (another
// origin, allowed by CORS) and shows the shop's decision.
func TestBrowserShop(t *testing.T) {
	base := map[health.CheckID]health.Status{
		health.Firewall: health.Pass, health.AutoUpdate: health.Pass, health.PendingUpdates: health.Pass,
		health.OSSupport: health.Pass, health.Malware: health.Pass,
	}
	with := func(kv ...any) map[health.CheckID]health.Status {
		m := map[health.CheckID]health.Status{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(health.CheckID)] = kv[i+1].(health.Status)
		}
		return m
	}
	start := func(t *testing.T, dev map[health.CheckID]health.Status) *Demo {
		d, err := Start(t.Context(), Options{Dir: t.TempDir(), Checks: device(dev), Source: linuxSnapshot(), Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	ctx := browser(t)

	t.Run("warning", func(t *testing.T) {
		d := start(t, with(health.Firewall, health.Fail, health.AutoUpdate, health.Fail))
		u := d.Result.URLs
		var ids []string
		var links []map[string]string
		var png []byte
		if err := chromedp.Do(ctx,
			chromedp.Navigate(u.Shop+"/"),
			chromedp.WaitVisible(chromedp.CSS(`#main [data-decision="warn"]`)),
			into(chromedp.Evaluate[[]string](`[...document.querySelectorAll("#main [data-finding]")].map(e => e.dataset.finding)`), &ids),
			into(chromedp.Evaluate[[]map[string]string](`[...document.querySelectorAll("#main a[data-learn]")].map(a => ({id: a.dataset.learn, href: a.href, text: a.textContent}))`), &links),
			into(chromedp.FullScreenshot(100), &png),
		); err != nil {
			t.Fatal(err)
		}
		shot := screenshotPath(t, "shop-warning.png")
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", shot)
		if got := strings.Join(ids, ","); got != "firewall,auto_update" {
			t.Errorf("findings listed: %s", got)
		}
		if len(links) != 2 {
			t.Fatalf("learn-more links: %v", links)
		}
		for _, l := range links {
			if l["href"] != u.Authority+"/learn/"+l["id"] || l["text"] != "Learn more" {
				t.Errorf("link %v, want %s/learn/%s", l, u.Authority, l["id"])
			}
		}
		// The page at the link renders the guide.
		var title string
		var check chromedp.AttributeResult
		if err := chromedp.Do(ctx,
			chromedp.Navigate(links[0]["href"]),
			chromedp.WaitVisible(chromedp.CSS(`h1[data-check]`)),
			into(chromedp.AttributeValue(chromedp.CSS(`h1[data-check]`), "data-check"), &check),
			into(chromedp.Text(chromedp.CSS(`h1[data-check]`)), &title),
		); err != nil {
			t.Fatal(err)
		}
		if check.Value != "firewall" || title == "" {
			t.Errorf("guide page: check %q, title %q", check.Value, title)
		}
	})

	t.Run("infected", func(t *testing.T) {
		d := start(t, with(health.Malware, health.Fail))
		var banner string
		var decision chromedp.AttributeResult
		var pay int
		if err := chromedp.Do(ctx,
			chromedp.Navigate(d.Result.URLs.Shop+"/"),
			chromedp.WaitVisible(chromedp.CSS(`#main [data-decision]`)),
			into(chromedp.AttributeValue(chromedp.CSS(`#main [data-decision]`), "data-decision"), &decision),
			into(chromedp.Text(chromedp.CSS(`#main .banner`)), &banner),
			into(chromedp.Evaluate[int](`document.querySelectorAll("#main [data-post='/pay']").length`), &pay),
		); err != nil {
			t.Fatal(err)
		}
		if decision.Value != "restrict" {
			t.Errorf("decision for an infected device: %q (%s)", decision.Value, banner)
		}
		if !strings.Contains(banner, "payments are paused") {
			t.Errorf("restricted banner: %q", banner)
		}
		if pay != 0 {
			t.Errorf("a restricted device is offered %d pay buttons", pay)
		}
	})

	t.Run("healthy", func(t *testing.T) {
		d := start(t, base)
		var h1 string
		var status chromedp.AttributeResult
		if err := chromedp.Do(ctx,
			chromedp.Navigate(d.Result.URLs.Shop+"/"),
			chromedp.WaitVisible(chromedp.CSS(`#main [data-decision="allow"]`)),
			chromedp.Click(chromedp.CSS(`#main button[data-post="/pay"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#main .banner.allow:not([data-decision])`)),
			into(chromedp.Text(chromedp.CSS(`#main h1`)), &h1),
			into(chromedp.AttributeValue(chromedp.CSS(`#main`), "data-status"), &status),
		); err != nil {
			t.Fatal(err)
		}
		if h1 != "Payment complete" || status.Value != "200" {
			t.Errorf("after Pay: %q (HTTP %s)", h1, status.Value)
		}
	})
}

// into runs a and keeps its value in p.
func into[T any](a chromedp.Action[T], p *T) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*p = v
		return chromedp.Void{}, err
	}
}
