package main

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

	"github.com/chromedp/chromedp"

	"github.com/xinling/xinling/sdk"
)

// chromiumPath finds the browser for the browser tests: $XINLING_CHROMIUM,
// else Debian's chromium.
func chromiumPath() string {
	if p := os.Getenv("XINLING_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium with one tab, driven over the DevTools
// protocol; it is killed when the test ends.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("browser test skipped: no Chromium found (apt-get install chromium, or set XINLING_CHROMIUM to a Chromium binary)")
	}
	// This machine's closed network refuses Chromium's background
	// connections: turn them all off, and start from a fresh profile.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // kills Chromium and waits for it
	})
	if err := chromedp.Do(ctx); err != nil { // the first run starts the browser: no timeout on it
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return &browser{t: t, ctx: ctx}
}

// run runs actions with a deadline, failing the test with the page's state.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v\n%s", what, err, b.pageState())
	}
}

// waitJS waits until the JavaScript expression is true in the page.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	b.run("wait for "+what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(15*time.Second)))
}

// fill replaces an input's text by typing it.
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	b.setValue(sel, "")
	if text != "" {
		b.run("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
	}
}

// setValue sets an input's text at once, as a paste would. (Not with
// chromedp.SetValue, which fails to set "" in v0.23.1.)
func (b *browser) setValue(sel, text string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	v, _ := json.Marshal(text)
	b.eval(fmt.Sprintf(`(el => { el.value = %s; el.dispatchEvent(new Event("input", {bubbles: true})); return true; })(document.querySelector(%s))`, v, q))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.run("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// eval runs JavaScript in the page for its effect.
func (b *browser) eval(expr string) {
	b.t.Helper()
	b.run("evaluate "+expr, chromedp.Evaluate[chromedp.Void](expr))
}

// evalString evaluates a JavaScript expression whose value is a non-empty
// string (chromedp v0.23.1 reads "" as undefined).
func (b *browser) evalString(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v\n%s", expr, err, b.pageState())
	}
	return s
}

// screenshot saves the page as NAME.png under $XINLING_WEB_SCREENSHOTS, if set.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("XINLING_WEB_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// pageState describes the page for a failure message: status, error, log.
func (b *browser) pageState() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[
		"status: " + document.getElementById("status").textContent,
		"error: " + document.getElementById("error").textContent,
		"messages: " + [...document.querySelectorAll("#messages li")].map(li => li.textContent).join(" | "),
		"calls: " + [...document.querySelectorAll("#calls li")].map(li => li.dataset.ch + "/" + li.dataset.peer + "=" + li.dataset.state).join(" | "),
		"attrs: " + [...document.querySelectorAll("#attrs tr")].map(tr => tr.textContent).join(" | "),
		"log:", ...[...document.querySelectorAll("#log li")].slice(-30).map(li => "  " + li.textContent)].join("\n")`))
	if err != nil {
		return fmt.Sprintf("(page state unavailable: %v)", err)
	}
	return s
}

// sdkPeer records what the Go SDK user of the browser tests is told.
type sdkPeer struct {
	sdk.BaseCallback
	mu  sync.Mutex
	got []string
}

func (p *sdkPeer) add(format string, args ...any) {
	p.mu.Lock()
	p.got = append(p.got, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

func (p *sdkPeer) OnLoginSuccess(uint32, int)             { p.add("login") }
func (p *sdkPeer) OnChannelJoined(ch string)              { p.add("joined %s", ch) }
func (p *sdkPeer) OnChannelUserJoined(a string, _ uint32) { p.add("user joined %s", a) }
func (p *sdkPeer) OnChannelUserLeaved(a string, _ uint32) { p.add("user left %s", a) }
func (p *sdkPeer) OnMessageChannelReceive(ch, from string, _ uint32, msg string) {
	p.add("channel %s %s: %s", ch, from, msg)
}
func (p *sdkPeer) OnMessageInstantReceive(from string, _ uint32, msg string) {
	p.add("peer %s: %s", from, msg)
}
func (p *sdkPeer) OnChannelAttrUpdated(ch, name, value, typ string) {
	p.add("attr %s %s %s=%s", ch, typ, name, value)
}
func (p *sdkPeer) OnInviteReceived(ch, from string, _ uint32, _ string) {
	p.add("invite from %s on %s", from, ch)
}
func (p *sdkPeer) OnInviteEndByPeer(ch, peer string, _ uint32, _ string) {
	p.add("ended by %s on %s", peer, ch)
}
func (p *sdkPeer) OnInviteEndByMyself(ch, peer string, _ uint32) {
	p.add("ended by me with %s on %s", peer, ch)
}
func (p *sdkPeer) OnInviteAcceptedByPeer(ch, peer string, _ uint32, _ string) {
	p.add("accepted by %s on %s", peer, ch)
}
func (p *sdkPeer) OnInviteRefusedByPeer(ch, peer string, _ uint32, _ string) {
	p.add("refused by %s on %s", peer, ch)
}
func (p *sdkPeer) OnInviteReceivedByPeer(ch, peer string, _ uint32) {
	p.add("ringing at %s on %s", peer, ch)
}
func (p *sdkPeer) OnError(name string, code int, desc string) {
	p.add("error %s %d %s", name, code, desc)
}

// waitFor waits until the SDK user was told want (15 s at most).
func (p *sdkPeer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		p.mu.Lock()
		got := append([]string(nil), p.got...)
		p.mu.Unlock()
		for _, g := range got {
			if g == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SDK user was never told %q; it got:\n  %s", want, strings.Join(got, "\n  "))
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
}

func (p *sdkPeer) count(want string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, g := range p.got {
		if g == want {
			n++
		}
	}
	return n
}

// TestWebAppWithSDKUser drives the /app page of a real `xinling serve` in
// headless Chromium as alice, beside bob on the Go SDK: they chat in a
// channel and peer to peer, call each other (accept, refuse, end from both
// sides), see each other's channel attribute changes, survive a dropped
// connection of the page, and the page refuses bad input without losing it.
func TestWebAppWithSDKUser(t *testing.T) {
	b := startBrowser(t)
	s := startServe(t, "--listen", "127.0.0.1:0")
	base := "http://" + s.addr

	// The page and its files are served; everything else is still the node's.
	for path, want := range map[string]string{"/app/": "text/html", "/app/xinling.js": "text/javascript", "/healthz": "text/plain"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
			t.Fatalf("GET %s: %s %q, want 200 %s", path, resp.Status, resp.Header.Get("Content-Type"), want)
		}
	}

	b.run("open the page", chromedp.Navigate(base+"/app"))
	b.waitJS("the login form", `document.getElementById("server").value === "ws://`+s.addr+`/ws"`)
	b.screenshot("1-login")

	// Bad input is refused with a reason and stays in its field.
	b.fill("#app", "app")
	b.fill("#account", "al ice")
	b.click("#login-btn")
	b.waitJS("the bad account refused", `document.getElementById("error").textContent.includes("account has whitespace or a control character at byte 2")`)
	b.fill("#account", "alice")
	b.click("#login-btn")
	b.waitJS("alice online", `document.getElementById("status").dataset.status === "2"`)

	bob := sdk.NewInstance("app", sdk.WithServer("ws://"+s.addr), sdk.WithReconnectWindow(time.Minute))
	peer := &sdkPeer{}
	bob.CallbackSet(peer)
	t.Cleanup(bob.Destroy)
	bob.Login("app", "bob", "", 0, "")
	peer.waitFor(t, "login")

	// Chat in a channel, both ways.
	b.fill("#channel", "lobby")
	b.click("#join")
	b.waitJS("alice in lobby", `document.getElementById("current-channel").textContent.startsWith("lobby")`)
	bob.ChannelJoin("lobby")
	peer.waitFor(t, "joined lobby")
	b.waitJS("bob listed", `document.querySelector('#members li[data-account="bob"]') !== null`)

	b.fill("#text", "hello from the browser 你好")
	b.click("#send")
	peer.waitFor(t, "channel lobby alice: hello from the browser 你好")
	b.waitJS("the sent draft cleared", `document.getElementById("text").value === ""`)
	bob.MessageChannelSend("lobby", "hi from Go <b>not bold</b>", "")
	b.waitJS("bob's channel message", `[...document.querySelectorAll('#messages li[data-kind="channel"]')].some(li =>
		li.querySelector(".from").textContent === "bob" && li.textContent.endsWith("hi from Go <b>not bold</b>"))`)

	// Peer messages, both ways.
	bob.MessageInstantSend("alice", 0, "psst", "")
	b.waitJS("bob's peer message", `[...document.querySelectorAll('#messages li[data-kind="peer"]')].some(li => li.textContent === "bob → youpsst")`)
	b.fill("#to", "bob")
	b.fill("#text", "private reply")
	b.click("#send")
	peer.waitFor(t, "peer alice: private reply")
	b.waitJS("alice's own peer message shown", `[...document.querySelectorAll('#messages li[data-kind="peer"]')].some(li => li.textContent === "you → bobprivate reply")`)
	b.fill("#to", "")

	// A message the server refuses stays in the box, with the reason.
	long := strings.Repeat("x", 9000)
	b.setValue("#text", long)
	b.click("#send")
	b.waitJS("the long message refused", `document.getElementById("error").textContent.includes("message is 9000 bytes, the limit is 8192")`)
	b.waitJS("the long message kept", `document.getElementById("text").value.length === 9000`)
	b.screenshot("2a-refused-message")
	b.fill("#text", "")

	// Channel attributes: each side sees the other's changes live.
	bob.ChannelSetAttr("lobby", "topic", "go")
	b.waitJS("bob's attribute", `(() => { const tr = document.querySelector('#attrs tr[data-name="topic"]');
		return tr && tr.querySelector(".value").textContent === "go" && tr.querySelector(".by").textContent === "bob"; })()`)
	b.fill("#attr-name", "color")
	b.fill("#attr-value", "red")
	b.click("#attr-set")
	peer.waitFor(t, "attr lobby update color=red")
	b.waitJS("alice's attribute", `document.querySelector('#attrs tr[data-name="color"] .value')?.textContent === "red"`)
	b.screenshot("2-chat-attrs")
	b.click("#attr-del")
	peer.waitFor(t, "attr lobby del color=")
	bob.ChannelDelAttr("lobby", "topic")
	b.waitJS("topic deleted", `document.querySelector('#attrs tr[data-name="topic"]') === null && document.querySelector('#attrs tr[data-name="color"]') === null`)
	b.fill("#attr-name", "bad name")
	b.click("#attr-set")
	b.waitJS("the bad attribute name refused", `document.getElementById("error").textContent.includes("attribute name has whitespace")
		&& document.getElementById("attr-name").value === "bad name"`)

	// alice calls bob; bob accepts; alice hangs up.
	b.fill("#invite-to", "bob")
	b.fill("#invite-ch", "call-1")
	b.click("#invite")
	peer.waitFor(t, "invite from alice on call-1")
	b.waitJS("call-1 ringing", `document.querySelector('#calls li[data-ch="call-1"]')?.dataset.state === "ringing"`)
	bob.ChannelInviteAccept("call-1", "alice", 0, "")
	b.waitJS("call-1 accepted", `document.querySelector('#calls li[data-ch="call-1"]')?.dataset.state === "accepted"`)
	b.click(`#calls li[data-ch="call-1"] button.end`)
	peer.waitFor(t, "ended by alice on call-1")
	b.waitJS("call-1 ended", `document.querySelector('#calls li[data-ch="call-1"]')?.dataset.state === "ended"`)

	// bob calls alice; she refuses.
	bob.ChannelInviteUser("call-2", "alice", 0)
	b.waitJS("call-2 incoming", `document.querySelector('#calls li[data-ch="call-2"]')?.dataset.state === "incoming"`)
	peer.waitFor(t, "ringing at alice on call-2")
	b.screenshot("3-incoming-call")
	b.click(`#calls li[data-ch="call-2"] button.refuse`)
	peer.waitFor(t, "refused by alice on call-2")

	// bob calls alice; she accepts; bob hangs up.
	bob.ChannelInviteUser("call-3", "alice", 0)
	b.waitJS("call-3 incoming", `document.querySelector('#calls li[data-ch="call-3"]')?.dataset.state === "incoming"`)
	b.click(`#calls li[data-ch="call-3"] button.accept`)
	peer.waitFor(t, "accepted by alice on call-3")
	bob.ChannelInviteEnd("call-3", "alice", 0)
	peer.waitFor(t, "ended by me with alice on call-3")
	b.waitJS("call-3 ended by bob", `(() => { const li = document.querySelector('#calls li[data-ch="call-3"]');
		return li?.dataset.state === "ended" && li.textContent.includes("by bob"); })()`)

	// The page's connection drops: the session resumes, nothing is lost or doubled.
	b.eval(`xinling.client._ws.close(), true`)
	bob.MessageInstantSend("alice", 0, "sent across the drop", "")
	b.waitJS("the session resumed", `[...document.querySelectorAll("#log li")].some(li => li.textContent.includes("session resumed"))
		&& document.getElementById("status").dataset.status === "2"`)
	bob.MessageChannelSend("lobby", "after the drop", "")
	b.waitJS("bob's channel message after the drop", `[...document.querySelectorAll("#messages li")].some(li => li.textContent.endsWith("after the drop"))`)
	b.waitJS("the message sent across the drop, once", `[...document.querySelectorAll("#messages li")].filter(li => li.textContent.endsWith("sent across the drop")).length === 1`)
	b.fill("#text", "still here")
	b.click("#send")
	peer.waitFor(t, "channel lobby alice: still here")
	if n := peer.count("user left alice"); n != 0 {
		t.Fatalf("bob saw alice leave %d times across a resumed drop", n)
	}
	b.screenshot("4-after-drop")

	// Logging out leaves the channel for good.
	b.click("#logout")
	peer.waitFor(t, "user left alice")
	b.waitJS("the login form again", `!document.getElementById("login").hidden && document.getElementById("status").dataset.status === "0"`)

	// The page acknowledged its peer messages: a new login (a new client in
	// the page, which remembers no message ids) gets none of them again.
	b.click("#login-btn")
	b.waitJS("alice online again", `document.getElementById("status").dataset.status === "2"`)
	bob.MessageInstantSend("alice", 0, "after the new login", "")
	b.waitJS("bob's message after the new login", `[...document.querySelectorAll("#messages li")].some(li => li.textContent.endsWith("after the new login"))`)
	if got := b.evalString(`["psst", "sent across the drop"].map(m =>
		[...document.querySelectorAll('#messages li[data-kind="peer"]')].filter(li => li.textContent.endsWith(m)).length).join(",")`); got != "1,1" {
		t.Fatalf("peer messages shown (psst, sent across the drop) = %s times, want once each:\n%s", got, b.pageState())
	}
}
