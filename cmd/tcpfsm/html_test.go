package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var screenshot = flag.String("screenshot", "", "also save the HTML report's screenshot to this file (docs/html-report.png)")

// browser starts headless Chromium (Debian's chromium, which .ci/setup
// installs) with a fresh profile, and returns a context to drive it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		cannotRun(t, "chromium is not installed (.ci/setup installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// do runs a browser action; eval evaluates JavaScript into a T.
func do(t *testing.T, ctx context.Context, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.Run(ctx, a); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// TestHTMLReportInABrowser opens the HTML report of a kernel capture in
// headless Chromium and checks what a reader sees: the census and the
// diagnoses of the JSON report, a row per connection, a filter, and the
// ladder drawn when a row is clicked; it saves a screenshot.
func TestHTMLReportInABrowser(t *testing.T) {
	ctx := browser(t)
	capture := filepath.Join(kernelDir, "accept-overflow-noabort.pcap")
	page := filepath.Join(t.TempDir(), "report.html")
	code, out, errOut := runCmd("-r", capture, "--format", "json", "--html", page)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var summary struct {
		Census    map[string]int `json:"census"`
		Diagnoses []struct {
			Name string `json:"name"`
		} `json:"diagnoses"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatal(err)
	}
	var wantCensus, wantDiag []string
	for st, n := range summary.Census {
		wantCensus = append(wantCensus, fmt.Sprintf("%s=%d", st, n))
	}
	for _, d := range summary.Diagnoses {
		wantDiag = append(wantDiag, d.Name)
	}
	slices.Sort(wantCensus)

	do(t, ctx, chromedp.Navigate("file://"+page))
	do(t, ctx, chromedp.WaitVisible("#conns tbody tr.conn"))
	census := eval[[]string](t, ctx, `[...document.querySelectorAll("#census [data-state]")].map(e => e.dataset.state + "=" + e.textContent).sort()`)
	diags := eval[[]string](t, ctx, `[...document.querySelectorAll("#diagnoses .diag")].map(d => d.dataset.name)`)
	rows := eval[int](t, ctx, `document.querySelectorAll("#conns tbody tr.conn").length`)
	do(t, ctx, chromedp.Click(`#conns tbody tr.conn[data-id="3"]`))
	do(t, ctx, chromedp.WaitVisible("svg.ladder"))
	arrows := eval[int](t, ctx, `document.querySelectorAll(".ladder line.arrow").length`)
	if folded := eval[bool](t, ctx, `document.querySelector("svg.ladder").textContent.includes("not kept")`); folded {
		t.Error("connection 3's 16 segments are all kept, yet the ladder says some are not")
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is a PNG
	if err != nil {
		t.Fatal(err)
	}
	// Selectors are DevTools searches, which also match text: these are
	// chosen not to appear in the page's style sheet.
	do(t, ctx, chromedp.SendKeys("input#filter", "unanswered"))
	do(t, ctx, chromedp.Sleep(400*time.Millisecond)) // the filter waits for typing to pause
	filtered := eval[int](t, ctx, `document.querySelectorAll("#conns tbody tr.conn").length`)
	pageText := eval[string](t, ctx, `document.getElementById("page").textContent`)

	if !slices.Equal(census, wantCensus) || len(census) == 0 {
		t.Errorf("census %v, the JSON report says %v", census, wantCensus)
	}
	if !slices.Equal(diags, wantDiag) || !slices.Contains(diags, "accept_queue_overflow") {
		t.Errorf("diagnoses %v, the JSON report says %v", diags, wantDiag)
	}
	// Connection 3 has 16 packets (testdata/README.md): an arrow each.
	if rows != 4 || arrows != 16 {
		t.Errorf("%d rows (want 4), %d arrows in connection 3's ladder (want 16)", rows, arrows)
	}
	if filtered != 1 || pageText != "1–1 of 1" {
		t.Errorf("filtering on \"unanswered\": %d rows, %q", filtered, pageText)
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	if *screenshot != "" {
		shot = *screenshot
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil || len(png) < 10_000 {
		t.Errorf("screenshot of %d bytes: %v", len(png), err)
	}
}

// TestHTMLReportIsLazy: with 100,000 connections the page holds one page
// of rows, not 100,000: the table is drawn a page at a time.
func TestHTMLReportIsLazy(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 connections; skipped with -short")
	}
	ctx := browser(t)
	capture := writeSynFlood(t, 100_000)
	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, errOut := runCmd("-r", capture, "--format", "json", "--html", page, "-j", "1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	do(t, ctx, chromedp.Navigate("file://"+page))
	do(t, ctx, chromedp.WaitVisible("#conns tbody tr.conn"))
	rows := eval[int](t, ctx, `document.querySelectorAll("#conns tbody tr").length`)
	pageText := eval[string](t, ctx, `document.getElementById("page").textContent`)
	if rows != 100 || pageText != "1–100 of 100000" {
		t.Errorf("%d rows in the page, %q", rows, pageText)
	}
}

// TestHTMLReportIsSelfContained: the report loads nothing from elsewhere.
func TestHTMLReportIsSelfContained(t *testing.T) {
	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, errOut := runCmd("-r", filepath.Join(kernelDir, "diag-busy-normal.pcap"), "--html", page); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := strings.ReplaceAll(string(b), "url(#head)", "") // the arrowhead marker, in the page
	for _, ref := range []string{"src=", "href=", "http:", "https:", "@import", "url(", "<link", "<iframe"} {
		if i := strings.Index(html, ref); i >= 0 {
			t.Errorf("the report refers outside itself: %q", html[max(0, i-60):min(len(html), i+60)])
		}
	}
}
