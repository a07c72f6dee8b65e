// Package demo runs simulated peers for `xinling --demo`: four accounts
// built on the SDK. For its first ticks they give a short tour — a few
// lines in #lobby and #dev, a message each from alice and carol, a build
// status, a topic, one call from bob — then go quiet: now and then a line
// or an attribute change, and they answer you (alice picks up your calls,
// bob is busy, dave lets them ring). Timings scale with Config.Tick so
// tests can run the whole script in moments.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"

	"github.com/xinling/xinling/sdk"
)

// Config configures the simulated peers.
type Config struct {
	Server string // the server's URL
	App    string // app id (default "xinling")
	You    string // the human's account: who the peers message and call

	// Tick is the pace: peers act every Tick or so (default 3 s). Every
	// delay of the script is a number of ticks.
	Tick time.Duration
	// CallAfter is how many ticks pass before bob calls you (default 6);
	// negative: never.
	CallAfter int
	// Quiet is how rare the peers are after the tour: each acts on about
	// one tick in Quiet (default 40); negative: never.
	Quiet int
	Seed  int64 // for the jitter and the script's choices; 0 = time
	// Peers limits the peers started (default all of alice, bob, carol, dave).
	Peers []string
	// Logf, when set, receives a line for what each peer does.
	Logf func(format string, args ...any)
}

// Channels are the demo's two channels.
var Channels = []string{"lobby", "dev"}

// Demo is a running set of simulated peers.
type Demo struct {
	cfg    Config
	cancel context.CancelFunc
	wg     sync.WaitGroup
	peers  []*peer
}

// Start logs the peers in and starts their scripts. Stop ends them.
func Start(cfg Config) *Demo {
	if cfg.App == "" {
		cfg.App = "xinling"
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 3 * time.Second
	}
	if cfg.CallAfter == 0 {
		cfg.CallAfter = 6
	}
	if cfg.Quiet == 0 {
		cfg.Quiet = 40
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Demo{cfg: cfg, cancel: cancel}
	all := []*peer{
		{name: "alice", channel: "lobby", lines: aliceLines, tour: aliceTour, acceptCalls: true},
		{name: "bob", channel: "lobby", lines: bobLines, tour: bobTour, callsYou: true},
		{name: "carol", channel: "dev", lines: carolLines, tour: carolTour, attrs: true},
		{name: "dave", channel: "dev", lines: daveLines, tour: daveTour, topic: true, silentCalls: true},
	}
	for i, p := range all {
		if len(cfg.Peers) > 0 && !contains(cfg.Peers, p.name) {
			continue
		}
		p.d = d
		p.rnd = rand.New(rand.NewSource(cfg.Seed + int64(i)))
		p.ev = make(chan func(), 256)
		p.c = sdk.NewInstance(cfg.App, sdk.WithServer(cfg.Server))
		p.c.CallbackSet(&peerCB{p: p})
		d.peers = append(d.peers, p)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			p.run(ctx)
		}()
	}
	return d
}

// Stop logs every peer out, destroys their SDK instances and waits for
// their goroutines.
func (d *Demo) Stop() {
	d.cancel()
	d.wg.Wait()
}

// Names lists the running peers.
func (d *Demo) Names() []string {
	var out []string
	for _, p := range d.peers {
		out = append(out, p.name)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// peer is one simulated account.
type peer struct {
	d       *Demo
	name    string
	channel string
	lines   []string            // what it says now and then after the tour, in turn
	tour    map[int]func(*peer) // its part of the tour, by tick
	c       *sdk.Client
	rnd     *rand.Rand
	ev      chan func() // work for the peer's goroutine (from callbacks and timers)
	ctx     context.Context

	acceptCalls bool // answers your calls
	callsYou    bool // calls you once
	attrs       bool // updates "build" in its channel
	topic       bool // updates "topic" in #lobby, rarely
	silentCalls bool // lets your calls ring out

	step     int
	said     int
	inCall   map[string]bool // channel → live call with you
	calledMe bool
}

func (p *peer) logf(format string, args ...any) {
	p.d.cfg.Logf(p.name+": "+format, args...)
}

// do queues work for the peer's goroutine; it never blocks a callback.
func (p *peer) do(fn func()) {
	select {
	case p.ev <- fn:
	default:
	}
}

// after runs fn on the peer's goroutine after n ticks. It is called only
// on the peer's goroutine, which holds a count of the WaitGroup, so Stop
// waits for these timers too.
func (p *peer) after(n float64, fn func()) {
	d := time.Duration(n * float64(p.d.cfg.Tick))
	ctx := p.ctx
	p.d.wg.Add(1)
	go func() {
		defer p.d.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			p.do(fn)
		case <-ctx.Done():
		}
	}()
}

func (p *peer) run(ctx context.Context) {
	defer func() {
		p.c.Logout()
		p.c.Destroy()
	}()
	p.ctx = ctx
	p.inCall = map[string]bool{}
	p.c.Login(p.d.cfg.App, p.name, "_no_need_token", 0, "")
	tick := p.d.cfg.Tick
	// stagger the peers so they do not all speak at once
	jitter := time.Duration(p.rnd.Int63n(int64(tick)/2 + 1))
	timer := time.NewTimer(tick + jitter)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case fn := <-p.ev:
			fn()
		case <-timer.C:
			p.step++
			p.act()
			j := time.Duration(p.rnd.Int63n(int64(tick)/2+1)) - tick/4
			timer.Reset(tick + j)
		}
	}
}

// tourTicks is how long the tour lasts; the peers are quiet after it.
const tourTicks = 10

// act is one tick of the peer's script: its part of the tour while it
// lasts, then now and then a line or a change; bob's call comes once.
func (p *peer) act() {
	if p.c.GetStatus() != sdk.StatusLoggedIn {
		return
	}
	if p.step <= tourTicks {
		if fn := p.tour[p.step]; fn != nil {
			fn(p)
		}
	} else if q := p.d.cfg.Quiet; q > 0 && p.rnd.Intn(q) == 0 {
		p.ambient()
	}
	you := p.d.cfg.You
	if p.callsYou && you != "" && p.d.cfg.CallAfter > 0 && !p.calledMe && p.step >= p.d.cfg.CallAfter {
		p.calledMe = true
		p.logf("calling %s", you)
		p.c.ChannelInviteUser2("call-"+p.name+"-"+you, you, `{"_timeout":30,"topic":"quick sync"}`)
	}
}

// ambient is one quiet-time act: the next of its lines, or for carol and
// dave sometimes an attribute change instead.
func (p *peer) ambient() {
	switch {
	case p.attrs && p.rnd.Intn(3) == 0:
		p.setBuild()
	case p.topic && p.rnd.Intn(4) == 0:
		topics := []string{"welcome to xinling 信令", "release 1.4 this week", "try /attr set topic …", "calls work: /invite alice"}
		p.c.ChannelSetAttr("lobby", "topic", topics[p.rnd.Intn(len(topics))])
	case len(p.lines) > 0:
		p.say(p.lines[p.said%len(p.lines)])
		p.said++
	}
}

func (p *peer) say(line string) {
	p.c.MessageChannelSend(p.channel, strings.ReplaceAll(line, "{you}", p.d.cfg.You), "")
}

func (p *peer) tell(text string) {
	if you := p.d.cfg.You; you != "" {
		p.c.MessageInstantSend(you, 0, strings.ReplaceAll(text, "{you}", you), "")
	}
}

func (p *peer) setBuild() {
	status := []string{"green", "green", "red", "building"}[p.rnd.Intn(4)]
	v, _ := json.Marshal(map[string]any{"status": status, "build": 100 + p.step, "by": p.name})
	p.c.ChannelSetAttr(p.channel, "build", string(v))
}

// The tour: each peer's acts by tick. One line names you, once.
var (
	aliceTour = map[int]func(*peer){
		1: func(p *peer) { p.say("morning everyone ☀") },
		2: func(p *peer) {
			p.tell("hi {you} 👋 I'm alice, one of the simulated peers. Call me with /invite alice, or write to me here.")
		},
		7: func(p *peer) { p.say("{you}, welcome to #lobby! the topic on the right is a channel attribute") },
	}
	bobTour = map[int]func(*peer){
		3: func(p *peer) { p.say("the server here is embedded in the client, neat") },
	}
	carolTour = map[int]func(*peer){
		2: func(p *peer) { p.say("build is running") },
		4: func(p *peer) {
			p.tell("hey, carol here — #dev is where the build status lives; look at its attributes (ctrl+k → #dev).")
		},
		5: (*peer).setBuild,
	}
	daveTour = map[int]func(*peer){
		3: func(p *peer) { p.say("LGTM") },
		8: func(p *peer) {
			p.c.ChannelSetAttr("lobby", "topic", "welcome to xinling 信令 — try /attr set topic …")
		},
	}
)

// What the peers say now and then after the tour; none of it names you.
var (
	aliceLines = []string{"has anyone tried the new attribute editor?", "I'm heading to #dev later", "brb, coffee"}
	bobLines   = []string{"anyone up for a call?", "ha, nice one", "ok back to work"}
	carolLines = []string{"tests pass on my machine 🤷", "who broke the linter?", "pushed a fix", "reviewing the invite code now"}
	daveLines  = []string{"can someone look at issue 5?", "the TUI renders 100k messages without breaking a sweat"}
)

// peerCB turns the peer's SDK callbacks into work for its goroutine.
type peerCB struct {
	sdk.BaseCallback
	p *peer
}

func (cb *peerCB) OnLoginSuccess(uid uint32, fd int) {
	p := cb.p
	p.do(func() {
		p.logf("logged in")
		p.c.ChannelJoin(p.channel)
	})
}

func (cb *peerCB) OnLoginFailed(code int) {
	cb.p.logf("login failed %d", code)
}

func (cb *peerCB) OnMessageInstantReceive(account string, uid uint32, msg string) {
	p := cb.p
	p.do(func() {
		reply := fmt.Sprintf("you said %q — I'm a simulated peer, but I read everything 🙂", trim(msg, 60))
		switch {
		case strings.Contains(strings.ToLower(msg), "call"):
			reply = "call me with /invite " + p.name
		case hasWord(msg, "hello", "hi", "hey", "你好"):
			reply = "hello " + account + "!"
		}
		p.after(0.5, func() { p.c.MessageInstantSend(account, 0, reply, "") })
	})
}

func (cb *peerCB) OnInviteReceived(ch, account string, uid uint32, extra string) {
	p := cb.p
	p.do(func() {
		switch {
		case p.acceptCalls:
			p.logf("accepting %s", account)
			p.after(1, func() {
				p.c.ChannelInviteAccept(ch, account, 0, `{"answer":"hi from `+p.name+`"}`)
				p.inCall[ch] = true
				p.c.MessageInstantSend(account, 0, "picked up! send me DTMF with /dtmf 123 or the keypad (p in the calls pane)", "")
			})
		case p.silentCalls:
			p.logf("letting %s ring", account)
		default:
			p.after(1, func() {
				p.c.ChannelInviteRefuse(ch, account, 0, `{"reason":"busy"}`)
				p.c.MessageInstantSend(account, 0, "sorry, busy right now — try alice", "")
			})
		}
	})
}

func (cb *peerCB) OnInviteAcceptedByPeer(ch, account string, uid uint32, extra string) {
	p := cb.p
	p.do(func() {
		p.inCall[ch] = true
		p.c.MessageInstantSend(account, 0, "great, you picked up! I'll send you some DTMF, then hang up in a bit (or /end it yourself).", "")
		p.after(1, func() {
			if p.inCall[ch] {
				p.c.ChannelInviteDTMF(ch, account, "42#")
			}
		})
		p.after(6, func() {
			if p.inCall[ch] {
				p.c.ChannelInviteEnd(ch, account, 0)
			}
		})
	})
}

// OnInviteFailed: bob's call to you went unanswered.
func (cb *peerCB) OnInviteFailed(ch, account string, uid uint32, code int, extra string) {
	p := cb.p
	p.do(func() {
		if p.callsYou && account == p.d.cfg.You {
			p.tell("you missed my call — no worries. alice picks up if you call her: /invite alice")
		}
	})
}

func (cb *peerCB) OnInviteRefusedByPeer(ch, account string, uid uint32, extra string) {
	p := cb.p
	p.do(func() { p.c.MessageInstantSend(account, 0, "no worries, another time", "") })
}

func (cb *peerCB) OnInviteEndByPeer(ch, account string, uid uint32, extra string) {
	p := cb.p
	p.do(func() {
		if p.inCall[ch] {
			delete(p.inCall, ch)
			p.c.MessageInstantSend(account, 0, "bye! 👋", "")
		}
	})
}

func (cb *peerCB) OnInviteEndByMyself(ch, account string, uid uint32) {
	p := cb.p
	p.do(func() { delete(p.inCall, ch) })
}

func (cb *peerCB) OnInviteMsg(ch, account string, uid uint32, typ, data, extra string) {
	p := cb.p
	p.do(func() {
		if typ == "DTMF" {
			p.c.MessageInstantSend(account, 0, "got your DTMF: "+data, "")
		}
	})
}

func trim(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func hasWord(s string, words ...string) bool {
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r == ' ' || r == ',' || r == '!' || r == '.' || r == '?'
	}) {
		if contains(words, f) {
			return true
		}
	}
	return false
}
