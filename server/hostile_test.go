package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xinling/xinling/sdk/wire"
)

// Hostile clients: each test has one client do what a careless or hostile
// one might, and checks that it costs only that client.

// reader reads every frame of a raw connection on its own goroutine and
// hands over the channel messages, so it never falls behind.
type reader struct {
	msgs chan string
	done chan struct{}
}

func startReader(t *testing.T, c *raw) *reader {
	rd := &reader{msgs: make(chan string, 1<<16), done: make(chan struct{})}
	go func() {
		defer close(rd.done)
		for {
			_, b, err := c.ws.ReadMessage()
			if err != nil {
				return
			}
			frames, _ := wire.Split(b)
			for _, f := range frames {
				if f.Op == wire.PushChannelMsg {
					var m wire.ChannelMsg
					if f.Decode(&m) == nil {
						rd.msgs <- m.Msg
					}
				}
			}
		}
	}()
	t.Cleanup(func() { c.ws.Close(); <-rd.done })
	return rd
}

// TestMemberThatNeverReadsIsDropped: while its channel floods, a member that
// never reads fills its socket and then its outbound queue, and is dropped
// (xinling_slow_client_drops_total counts it); the members that read get
// every message, in order, each batch within a generous deadline, and none
// of them is dropped.
func TestMemberThatNeverReadsIsDropped(t *testing.T) {
	// An hour's heartbeat: the readers send nothing after their join, and a
	// loaded machine can make the flood outlast 3 × the default's 5 s, after
	// which the server would close them as silent.
	n, url := testNode(t, Config{UserRate: 1 << 20, ChannelRate: 1 << 20, RequestRate: 1 << 20, OutboundBytes: 256 << 10, Heartbeat: time.Hour})
	stuck := dialRaw(t, url)
	stuck.login("app", "stuck")
	if f := stuck.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "flood"}); f.Err != nil {
		t.Fatal(f.Err)
	}
	var readers []*reader
	for i := range 3 {
		c := dialRaw(t, url)
		c.login("app", fmt.Sprint("reader", i))
		if f := c.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "flood"}); f.Err != nil {
			t.Fatal(f.Err)
		}
		readers = append(readers, startReader(t, c))
	}
	sender := dialRaw(t, url) // not a member: it sends with force, and reads only its answers
	sender.login("app", "sender")
	body := strings.Repeat("x", 4000)
	const batch, maxMsgs = 25, 20000 // 80 MB at most: well past socket buffers and the queue
	sent := 0
	for n.Stats().SlowDrops == 0 || sent%(batch*8) != 0 { // a few batches more after the drop
		if sent >= maxMsgs {
			t.Fatalf("%d messages sent and the member that never reads is still connected: %+v", sent, n.Stats())
		}
		var msg []byte
		first := sender.nextID + 1
		for range batch {
			sender.nextID++
			if len(msg) > 0 {
				msg = append(msg, '\n')
			}
			msg = append(msg, wire.MustEncode(sender.nextID, wire.OpChannelSend, wire.ChannelSendReq{Channel: "flood", Msg: fmt.Sprint(sent, " ", body), Force: true})...)
			sent++
		}
		sender.write(msg)
		for id := first; id <= sender.nextID; id++ {
			if f := sender.waitFor(func(f wire.Frame) bool { return f.ID == id }); f.Err != nil {
				t.Fatalf("send %d: %v", id, f.Err)
			}
		}
		// Every reader has the whole batch, in order, before the next.
		for i, rd := range readers {
			for k := sent - batch; k < sent; k++ {
				select {
				case m := <-rd.msgs:
					if want := fmt.Sprint(k, " "); !strings.HasPrefix(m, want) {
						t.Fatalf("reader %d: got %.12q…, want message %d", i, m, k)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("reader %d: message %d not received within 10 s; stats %+v", i, k, n.Stats())
				}
			}
		}
	}
	if st := n.Stats(); st.SlowDrops != 1 {
		t.Fatalf("slow drops %d, want 1 (the member that never reads, nobody else); %d messages sent", st.SlowDrops, sent)
	}
	// Its connection is closed: what the socket still holds, then EOF.
	_ = stuck.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := stuck.ws.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("the dropped member's socket was not closed")
			}
			break
		}
	}
	t.Logf("dropped after %d messages of 4 KB", sent)
}

// TestJoinLeaveChurnAtTheRequestLimit: a client that joins and leaves as
// fast as it may, and faster, gets an answer to every request (1001 past
// the rate, with the reason), and the channel's other member sees every
// join and leave that happened, in order, while a third client's requests
// are answered throughout.
func TestJoinLeaveChurnAtTheRequestLimit(t *testing.T) {
	const rate = 200
	_, url := testNode(t, Config{RequestRate: rate})
	watcher := dialRaw(t, url)
	watcher.login("app", "watcher")
	if f := watcher.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "room"}); f.Err != nil {
		t.Fatal(f.Err)
	}
	watcher.queue = nil // its own ch.joined
	bystander := dialRaw(t, url)
	bystander.login("app", "bystander")
	churn := dialRaw(t, url)
	churn.login("app", "churn")

	var wg sync.WaitGroup
	stop := make(chan struct{})
	bystanderErr := make(chan error, 1)
	wg.Add(1)
	go func() { // the bystander's requests keep being answered
		defer wg.Done()
		for {
			select {
			case <-stop:
				bystanderErr <- nil
				return
			default:
			}
			bystander.nextID++
			id := bystander.nextID
			if err := bystander.ws.WriteMessage(websocket.TextMessage, wire.MustEncode(id, wire.OpChannelCount, wire.ChannelReq{Channel: "room"})); err != nil {
				bystanderErr <- err
				return
			}
			_ = bystander.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, b, err := bystander.ws.ReadMessage()
			if err != nil {
				bystanderErr <- fmt.Errorf("bystander's ch.count %d unanswered within 5 s: %w", id, err)
				return
			}
			if fs, _ := wire.Split(b); len(fs) != 1 || fs[0].ID != id || fs[0].Err != nil {
				bystanderErr <- fmt.Errorf("bystander's ch.count %d: %s", id, b)
				return
			}
			time.Sleep(5 * time.Millisecond) // a person's pace, not a flood
		}
	}()

	// Two seconds at the limit (50 every 250 ms: all pass), then three times
	// the burst allowance as fast as the answers come (most are refused).
	const paced, bursts = 8, 12
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	ok, limited, pacedLimited, sent := 0, 0, 0, 0
	joined := false
	var want []string // what the watcher must see, in order
	for round := range paced + bursts {
		if round < paced {
			<-tick.C
		}
		var msg []byte
		first := churn.nextID + 1
		ops := make(map[uint64]string)
		for range 50 {
			churn.nextID++
			op := wire.OpChannelJoin
			if sent%2 == 1 {
				op = wire.OpChannelLeave
			}
			ops[churn.nextID] = op
			if len(msg) > 0 {
				msg = append(msg, '\n')
			}
			msg = append(msg, wire.MustEncode(churn.nextID, op, wire.ChannelReq{Channel: "room"})...)
			sent++
		}
		churn.write(msg)
		for id := first; id <= churn.nextID; id++ {
			f := churn.waitFor(func(f wire.Frame) bool { return f.Op == wire.OpResult && f.ID == id })
			switch {
			case f.Err == nil:
				ok++
				if ops[id] == wire.OpChannelJoin {
					if !joined { // a join while in: the state again, no push
						want = append(want, wire.PushUserJoined)
					}
					joined = true
				} else {
					joined = false
					want = append(want, wire.PushUserLeft)
				}
			case f.Err.Code == wire.GeneralFailed && strings.Contains(f.Err.Msg, "too many requests"):
				limited++
				if round < paced {
					pacedLimited++
				}
			case f.Err.Code == wire.GeneralFailed && ops[id] == wire.OpChannelLeave && !joined:
				ok++ // a leave whose join was refused: "not in channel room"
			default:
				t.Fatalf("churn request %d (%s): %v", id, ops[id], f.Err)
			}
		}
		churn.queue = nil
	}
	close(stop)
	wg.Wait()
	if err := <-bystanderErr; err != nil {
		t.Fatal(err)
	}
	if pacedLimited != 0 || limited == 0 {
		t.Fatalf("%d refused by the rate at the limit, %d in all: want none at the limit, some past it", pacedLimited, limited)
	}
	// The watcher saw every join and leave that happened, in order.
	for i, op := range want {
		f := watcher.waitFor(func(f wire.Frame) bool { return f.Op == wire.PushUserJoined || f.Op == wire.PushUserLeft })
		if f.Op != op {
			t.Fatalf("watcher's push %d: %s, want %s", i, f.Op, op)
		}
	}
	wantNum := 1
	if joined {
		wantNum = 2
	}
	var res wire.CountRes
	mustDecode(t, watcher.call(wire.OpChannelCount, wire.ChannelReq{Channel: "room"}), &res)
	if res.Num != wantNum {
		t.Fatalf("room has %d members after the churn, want %d", res.Num, wantNum)
	}
	t.Logf("%d requests: %d done, %d refused by the rate", sent, ok, limited)
}

// TestThousandsOfAttributeChanges: thousands of changes to one channel's
// attributes reach every member once each, in order; new names stop at the
// cap with 1001; what a joiner is sent stays bounded; and an account's
// attributes stop at the same cap.
func TestThousandsOfAttributeChanges(t *testing.T) {
	n, url := testNode(t, Config{RequestRate: 1 << 20})
	member := dialRaw(t, url)
	member.login("app", "member")
	if f := member.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "attrs"}); f.Err != nil {
		t.Fatal(f.Err)
	}
	rd := startAttrReader(t, member)
	setter := dialRaw(t, url)
	setter.login("app", "setter")

	const changes = 5000
	capped := 0
	var want []string
	for i := range changes {
		name := "topic" // most changes hit one attribute, the rest add names until the cap
		if i%5 == 0 {
			name = fmt.Sprint("n", i)
		}
		f := setter.call(wire.OpChannelSetAttr, wire.ChannelAttrReq{Channel: "attrs", Name: name, Value: fmt.Sprint(i)})
		switch {
		case f.Err == nil:
			want = append(want, name+"="+fmt.Sprint(i))
		case f.Err.Code == wire.GeneralFailed && strings.Contains(f.Err.Msg, "at most 256 attributes"):
			capped++
		default:
			t.Fatalf("change %d: %v", i, f.Err)
		}
		setter.queue = nil
	}
	for i, w := range want {
		select {
		case got := <-rd:
			if got != w {
				t.Fatalf("member's update %d: %s, want %s", i, got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("member's update %d (%s) not received within 10 s", i, w)
		}
	}
	if capped != changes/5-(wire.MaxAttrs-1) {
		t.Fatalf("%d new names refused at the cap, want %d", capped, changes/5-(wire.MaxAttrs-1))
	}
	// A joiner gets the 256 attributes (and _member_num), nothing more.
	joiner := dialRaw(t, url)
	joiner.login("app", "joiner")
	var res wire.JoinRes
	mustDecode(t, joiner.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "attrs"}), &res)
	if len(res.Attrs) != wire.MaxAttrs+1 {
		t.Fatalf("join answer has %d attributes, want %d", len(res.Attrs), wire.MaxAttrs+1)
	}
	ch, _ := n.channels.get(key{"app", "attrs"})
	ch.mu.Lock()
	hist := len(ch.hist)
	ch.mu.Unlock()
	if hist > n.cfg.ChannelHistory {
		t.Fatalf("channel history holds %d pushes, the bound is %d", hist, n.cfg.ChannelHistory)
	}
	// An account's attributes: the same cap.
	userCapped := 0
	for i := range 2 * wire.MaxAttrs {
		f := setter.call(wire.OpUserSetAttr, wire.UserAttrReq{Name: fmt.Sprint("u", i), Value: "v"})
		if f.Err != nil {
			if f.Err.Code != wire.GeneralFailed {
				t.Fatalf("user attribute %d: %v", i, f.Err)
			}
			userCapped++
		}
	}
	var all wire.UserAttrAllRes
	mustDecode(t, setter.call(wire.OpUserGetAttrAll, wire.UserAttrReq{Account: "setter"}), &all)
	if len(all.Attrs) != wire.MaxAttrs || userCapped != wire.MaxAttrs {
		t.Fatalf("account holds %d attributes, %d refused; want %d and %d", len(all.Attrs), userCapped, wire.MaxAttrs, wire.MaxAttrs)
	}
}

// startAttrReader hands over a member's attribute updates as "name=value".
func startAttrReader(t *testing.T, c *raw) <-chan string {
	out := make(chan string, 1<<14)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, b, err := c.ws.ReadMessage()
			if err != nil {
				return
			}
			frames, _ := wire.Split(b)
			for _, f := range frames {
				var u wire.AttrUpdate
				if f.Op == wire.PushAttrUpdated && f.Decode(&u) == nil && u.By != "" {
					out <- u.Name + "=" + u.Value
				}
			}
		}
	}()
	t.Cleanup(func() { c.ws.Close(); <-done })
	return out
}

// TestResumePastABigHistory: anyone may flood a channel (a forced send needs
// no membership) with 8 KB messages until its history holds 8 MiB. A member
// that then resumes gets a ch.snap, not the replay: queued at once, the
// replay passed the connection's outbound bound and had the member dropped
// as a slow client, at every attempt, so it could never resume.
func TestResumePastABigHistory(t *testing.T) {
	n, url := testNode(t, Config{RequestRate: 1 << 20, UserRate: 1 << 20, ChannelRate: 1 << 20})
	m := dialRaw(t, url)
	lr := m.login("app", "member")
	var jr wire.JoinRes
	mustDecode(t, m.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "big"}), &jr)
	m.ws.Close() // detached: it stays a member and waits for a resume
	flood := dialRaw(t, url)
	flood.login("app", "flood")
	body := strings.Repeat("x", 8000)
	for i := range n.cfg.ChannelHistory {
		if f := flood.call(wire.OpChannelSend, wire.ChannelSendReq{Channel: "big", Msg: fmt.Sprint(i, body), Force: true}); f.Err != nil {
			t.Fatalf("send %d: %v", i, f.Err)
		}
	}
	r := dialRaw(t, url)
	f := r.call(wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: "app", Account: "member",
		Resume: &wire.Resume{Session: lr.Session, Channel: "big", Off: jr.Off}})
	var res wire.LoginRes
	mustDecode(t, f, &res)
	if !res.Resumed {
		t.Fatalf("not resumed: %+v", res)
	}
	var snap wire.JoinRes
	mustDecode(t, r.push(wire.PushChannelSnap), &snap)
	if snap.Channel != "big" || snap.Off <= jr.Off {
		t.Fatalf("snapshot %+v after joining at %d", snap, jr.Off)
	}
	// And the resumed connection carries on.
	if f := flood.call(wire.OpChannelSend, wire.ChannelSendReq{Channel: "big", Msg: "after", Force: true}); f.Err != nil {
		t.Fatal(f.Err)
	}
	var msg wire.ChannelMsg
	mustDecode(t, r.push(wire.PushChannelMsg), &msg)
	if msg.Msg != "after" {
		t.Fatalf("first message after the snapshot: %.20q", msg.Msg)
	}
	if st := n.Stats(); st.SlowDrops != 0 {
		t.Fatalf("dropped as slow: %+v", st)
	}
}

// TestResumePastABigBacklog: while a session waits for its resume, anyone
// may send it 600 peer messages of 8 KB (10 s at the default 60/s, within
// the 30 s grace). The resume must deliver them, at the pace the client
// acknowledges: written all at once they passed the 4 MiB outbound bound
// and the client was dropped as slow at every attempt.
func TestResumePastABigBacklog(t *testing.T) {
	n, url := testNode(t, Config{RequestRate: 1 << 20, UserRate: 1 << 20})
	v := dialRaw(t, url)
	lr := v.login("app", "victim")
	v.ws.Close()
	a := dialRaw(t, url)
	a.login("app", "sender")
	body := strings.Repeat("x", 8000)
	const msgs = 600
	for i := range msgs {
		if f := a.call(wire.OpPeerSend, wire.PeerSendReq{To: "victim", Msg: fmt.Sprint(i, body)}); f.Err != nil {
			t.Fatalf("send %d: %v", i, f.Err)
		}
	}
	r := dialRaw(t, url)
	var res wire.LoginRes
	mustDecode(t, r.call(wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: "app", Account: "victim", Resume: &wire.Resume{Session: lr.Session}}), &res)
	if !res.Resumed {
		t.Fatalf("not resumed: %+v", res)
	}
	for i := range msgs {
		var m wire.PeerMsg
		f := r.push(wire.PushPeerMsg)
		mustDecode(t, f, &m)
		if !strings.HasPrefix(m.Msg, fmt.Sprint(i, "x")) {
			t.Fatalf("push %d: %.12q…", i, m.Msg)
		}
		if f.Seq%50 == 0 {
			r.write(wire.MustEncode(0, wire.OpPing, wire.PingReq{Ack: f.Seq}))
		}
	}
	if st := n.Stats(); st.SlowDrops != 0 {
		t.Fatalf("dropped as slow: %+v", st)
	}
}
