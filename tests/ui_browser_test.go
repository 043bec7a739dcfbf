package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium tab that answers the site's basic_auth
// prompt with the given credentials, as a person would.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions
}

func newBrowser(t *testing.T, user, password string) *browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("ENDPOINT_REQUIRE_BROWSER") != "" {
			t.Fatal("no chromium on PATH: `make test` installs it with apt-get")
		}
		t.Skip("no chromium on PATH (`make test` installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })

	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.problems = append(b.problems, string(m.Type)+": "+m.Text)
				b.mu.Unlock()
			}
		}
	}()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	auth := chromedp.Events(ctx, fetch.AuthRequired)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	go func() {
		for ev, err := range auth {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{
				RequestID: ev.RequestID,
				AuthChallengeResponse: &fetch.AuthChallengeResponse{
					Response: fetch.AuthChallengeResponseResponseProvideCredentials,
					Username: user, Password: password,
				},
			})
		}
	}()
	handle := true
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handle}); err != nil {
		t.Fatalf("enabling auth handling: %v", err)
	}
	shots := os.Getenv("ENDPOINT_UI_SCREENSHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "endpoint-ui-shots-"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", shots)
	b.shots = shots
	return b
}

// consoleProblems lists what the page wrote to the console as errors, such
// as a Content-Security-Policy refusal, leaving out the refused saves (400,
// 412) the test provokes on purpose.
func (b *browser) consoleProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, p := range b.problems {
		if strings.Contains(p, "status of 400") || strings.Contains(p, "status of 412") {
			continue
		}
		out = append(out, p)
	}
	return out
}

// do runs steps, failing the test with a screenshot and the page's text.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	b.screenshot("failure")
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	b.t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
}

// text reads the text of the first element sel finds.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		b.fail("reading "+sel, err)
	}
	return s
}

// waitJS waits until the JavaScript expression is true.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		b.fail("waiting until "+what, err)
	}
}

func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	// the toast of the last action would hide part of the page
	_ = chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("toast").hidden = true`))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// typeCode replaces the text of the CodeMirror editor in host by typing,
// with Enter sent as a key press without a character event (the editor
// inserts the line break on key down).
func (b *browser) typeCode(host, code string) {
	b.t.Helper()
	sel := host + " .cm-content"
	enter := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Click(sel),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent("\b"),
	}
	for i, line := range strings.Split(code, "\n") {
		if i > 0 {
			steps = append(steps, enter)
		}
		if line != "" {
			steps = append(steps, chromedp.SendKeys(sel, line))
		}
	}
	b.do("typing into "+host, steps...)
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("`+host+` .cm-line")).map((l) => l.textContent).join("\n")`))
	if err != nil {
		b.fail("reading the editor of "+host, err)
	}
	if got != code {
		b.t.Fatalf("the editor of %s holds %q after typing %q", host, got, code)
	}
}

// TestUIInBrowser walks the management UI in a real Chromium against a
// real Caddy whose site has basic_auth in front of endpoint_ui: create,
// save, sync, a refused save with a compile error, history, diff and
// rollback, checking the live route at each publication.
func TestUIInBrowser(t *testing.T) {
	p := startCaddy(t, config{App: uiApp + `
		define declared-hello {
			route /declared
			auth public
			exec_as bot
			code ` + "`result = {\"payload\": \"declared\"}`" + `
		}`, Site: uiSite(t, "ops", "ops-pw")})
	b := newBrowser(t, "ops", "ops-pw")
	ui := p.HTTP + "/ops/"

	// the address typed in the browser; basic_auth prompts, the browser answers
	b.do("opening the UI", chromedp.Navigate(ui), chromedp.WaitVisible("#list-table"))
	if got := b.text("#list-table"); !strings.Contains(got, "declared-hello") {
		t.Fatalf("the list does not show the declared endpoint: %q", got)
	}

	// create an endpoint in the form
	b.do("opening the new-endpoint form", chromedp.Click("#new-endpoint"), chromedp.WaitVisible("#f-name"))
	b.do("filling the fields",
		chromedp.SendKeys("#f-name", "ui-hello"),
		chromedp.SendKeys("#f-routes", "/ui-hello"),
		chromedp.SetValue("#f-auth_type", "public"),
		chromedp.SendKeys("#f-exec_as_user", "bot"),
		chromedp.Click("#tab-code"), chromedp.WaitVisible("#code-editor .cm-content"))
	b.typeCode("#code-editor", `result = {"payload": {"v": 1}}`)
	b.do("saving the new endpoint", chromedp.Click("#save"))
	b.waitJS("the form shows the saved record", `location.hash.startsWith("#/e/ui-hello") && !!document.querySelector("#form-state")`)
	b.waitJS("the banner shows one pending change", `(document.querySelector("#pending-count") || {}).textContent === "1 pending change"`)
	if got := b.text("#banner"); !strings.Contains(got, "Registry out of sync") {
		t.Fatalf("banner: %q", got)
	}
	b.screenshot("form")

	// the To sync filter lists it, and only it
	b.do("opening the list", chromedp.Click(`nav a[href="#/"]`), chromedp.WaitVisible("#list-table"))
	b.do("filtering To sync", chromedp.Click("#filter-to-sync"))
	b.waitJS("the To sync filter applies", `location.hash.includes("to_sync=1") && !!document.querySelector('#list-table tr[data-name="ui-hello"]') && !document.querySelector('#list-table tr[data-name="declared-hello"]')`)
	b.screenshot("list")

	// sync with a message; the route answers
	b.do("opening the sync dialog", chromedp.Click("#sync-open"), chromedp.WaitVisible("#sync-message"))
	if got := b.text("#dialog"); !strings.Contains(got, "ui-hello") || !strings.Contains(got, "added") {
		t.Fatalf("the sync dialog does not show the pending change: %q", got)
	}
	b.do("syncing", chromedp.SendKeys("#sync-message", "first version"), chromedp.Click("#sync-confirm"))
	b.waitJS("the banner is gone", `document.querySelector("#banner").hidden`)
	if a := p.get("/ui-hello"); a.Status != http.StatusOK || !strings.Contains(string(a.Body), `"v":1`) {
		t.Fatalf("GET /ui-hello after the first sync: %s", a)
	}

	// a syntax error is marked at its line and nothing is saved
	before := expect(t, p.admin("GET", "/endpoint/endpoints/ui-hello", nil), http.StatusOK).JSON(t)
	b.do("opening the record", chromedp.Navigate(ui+"#/e/ui-hello"), chromedp.WaitVisible("#tab-code"), chromedp.Click("#tab-code"),
		chromedp.WaitVisible("#code-editor .cm-content"))

	// the record changes elsewhere while the form is open: the save is
	// refused with 412 and the form offers the difference
	expect(t, p.admin("PATCH", "/endpoint/endpoints/ui-hello", map[string]any{"route_group": "elsewhere"}), http.StatusOK)
	b.do("saving over a change made elsewhere", chromedp.Click("#tab-fields"), chromedp.WaitVisible("#f-route_group"),
		chromedp.SendKeys("#f-route_group", "mine"), chromedp.Click("#save"), chromedp.WaitVisible("#conflict"))
	if got := b.text("#conflict"); !strings.Contains(got, "changed elsewhere") {
		t.Fatalf("the 412 answer: %q", got)
	}
	b.do("showing the difference", chromedp.Click("#conflict-show"), chromedp.WaitVisible("#conflict-diff"))
	if got := b.text("#conflict-diff"); !strings.Contains(got, `-route_group: "elsewhere"`) || !strings.Contains(got, `+route_group: "mine"`) {
		t.Fatalf("the difference offered on 412: %q", got)
	}
	b.screenshot("form-conflict")
	b.do("loading their version", chromedp.Click("#conflict-theirs"))
	b.waitJS("their version is loaded", `document.querySelector("#f-route_group") && document.querySelector("#f-route_group").value === "elsewhere"`)
	before = expect(t, p.admin("GET", "/endpoint/endpoints/ui-hello", nil), http.StatusOK).JSON(t)
	b.do("opening the code", chromedp.Click("#tab-code"), chromedp.WaitVisible("#code-editor .cm-content"))
	b.typeCode("#code-editor", "x = 1\ny = = 2\nresult = {\"payload\": x}")
	b.do("saving the broken code", chromedp.Click("#save"))
	b.waitJS("the error is marked at line 2", `!!document.querySelector('#code-errors li[data-line="2"]') && !!document.querySelector("#code-editor .cm-lintRange-error") && !!document.querySelector("#code-editor .cm-lint-marker-error")`)
	if got := b.text("#form-status"); !strings.Contains(got, "Not saved") {
		t.Fatalf("form status after a refused save: %q", got)
	}
	b.screenshot("form-code-error")
	after := expect(t, p.admin("GET", "/endpoint/endpoints/ui-hello", nil), http.StatusOK).JSON(t)
	if after["version"] != before["version"] || after["code_snippet"] != before["code_snippet"] {
		t.Fatalf("the refused save changed the record: %v -> %v", before, after)
	}

	// fix, save, sync
	b.typeCode("#code-editor", `result = {"payload": {"v": 2}}`)
	b.do("saving the fixed code", chromedp.Click("#save"))
	b.waitJS("the fixed code is saved", `document.querySelector("#form-status").textContent.startsWith("Saved version") && !document.querySelector("#code-errors li")`)
	b.waitJS("the banner shows the change", `(document.querySelector("#pending-count") || {}).textContent === "1 pending change"`)

	// a dry run of the saved draft answers the new code while the live
	// route still answers the old one
	b.do("a dry run", chromedp.Click("#tab-examples"), chromedp.WaitVisible("#run-dry"), chromedp.Click("#run-dry"),
		chromedp.WaitVisible("#dry-status"))
	if st, body := b.text("#dry-status"), b.text("#dry-body-out"); st != "200" || !strings.Contains(body, `"v":2`) {
		t.Fatalf("dry run: %s %s", st, body)
	}
	if a := p.get("/ui-hello"); !strings.Contains(string(a.Body), `"v":1`) {
		t.Fatalf("GET /ui-hello before the second sync: %s", a)
	}
	b.do("syncing again", chromedp.Click("#sync-open"), chromedp.WaitVisible("#sync-message"),
		chromedp.SendKeys("#sync-message", "second version"), chromedp.Click("#sync-confirm"))
	b.waitJS("the banner is gone", `document.querySelector("#banner").hidden`)
	if a := p.get("/ui-hello"); !strings.Contains(string(a.Body), `"v":2`) {
		t.Fatalf("GET /ui-hello after the second sync: %s", a)
	}

	// Code Help lists the snippet API from /endpoint/help
	b.do("opening Code Help", chromedp.Click("#tab-codehelp"), chromedp.WaitVisible("#help-list dt"))
	if got := b.text("#help-list"); !strings.Contains(got, "request") || !strings.Contains(got, "Response") {
		t.Fatalf("Code Help: %q", got)
	}

	// History: both revisions with message and source, and their diff
	b.do("opening History", chromedp.Click("#tab-history"), chromedp.WaitVisible(`#rev-table tr[data-rev="2"]`))
	hist := b.text("#rev-table")
	for _, want := range []string{"first version", "second version", "ui:ops"} {
		if !strings.Contains(hist, want) {
			t.Fatalf("History lacks %q: %q", want, hist)
		}
	}
	b.do("showing the diff", chromedp.Click("#show-diff"), chromedp.WaitVisible("#diff-out .unified"))
	diff := b.text("#diff-out")
	if !strings.Contains(diff, "ui-hello") || !strings.Contains(diff, `-result = {"payload": {"v": 1}}`) || !strings.Contains(diff, `+result = {"payload": {"v": 2}}`) {
		t.Fatalf("the diff of revisions 1 and 2: %q", diff)
	}
	b.screenshot("form-history")

	// rollback to revision 1: the route answers the old code
	b.do("rolling back", chromedp.Click(`button.rollback[data-rev="1"]`), chromedp.WaitVisible("#rollback-message"),
		chromedp.SendKeys("#rollback-message", "back to v1"), chromedp.Click("#rollback-confirm"),
		chromedp.WaitVisible(`#rev-table tr[data-rev="3"]`))
	if a := p.get("/ui-hello"); !strings.Contains(string(a.Body), `"v":1`) {
		t.Fatalf("GET /ui-hello after the rollback: %s", a)
	}
	var revs []map[string]any
	if err := json.Unmarshal(expect(t, p.admin("GET", "/endpoint/revisions", nil), http.StatusOK).Body, &revs); err != nil {
		t.Fatal(err)
	}
	if len(revs) != 3 || revs[0]["kind"] != "rollback" || revs[0]["source"] != "ui:ops" || revs[0]["message"] != "back to v1" {
		t.Fatalf("revisions after the rollback: %v", revs)
	}

	// narrow window: the list still reads (cards instead of a wide table)
	b.do("narrow list", chromedp.EmulateViewport(420, 800), chromedp.Navigate(ui+"#/"), chromedp.WaitVisible("#list-table"))
	b.waitJS("the list fits a narrow window", `document.documentElement.scrollWidth <= 420`)
	b.screenshot("list-narrow")
	if probs := b.consoleProblems(); len(probs) > 0 {
		t.Fatalf("the page reported errors:\n%s", strings.Join(probs, "\n"))
	}
	fmt.Fprintln(os.Stderr, "endpoint_ui screenshots:", b.shots)
}
