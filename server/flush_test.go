package server

import (
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// TestBehindConnectionPacksWhatComesMeanwhile: a flusher whose first frame
// already waited long to be written (the node is behind) waits as long
// again, and the frames queued meanwhile go out in the same message.
func TestBehindConnectionPacksWhatComesMeanwhile(t *testing.T) {
	n, url := testNode(t, Config{FlushDelay: 5 * time.Second})
	r := dialRaw(t, url)
	r.login("app", "a")
	var c *Conn
	n.conns.Range(func(k, _ any) bool { c = k.(*Conn); return false })

	frames := [][]byte{
		wire.MustEncode(0, wire.OpPong, nil),
		wire.MustEncode(0, wire.PushChannelMsg, wire.ChannelMsg{Channel: "x", Msg: "2"}),
		wire.MustEncode(0, wire.PushChannelMsg, wire.ChannelMsg{Channel: "x", Msg: "3"}),
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		if len(c.queue) == 0 && !c.flushing {
			break // c.mu held
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the login's answer is still being written")
		}
		time.Sleep(time.Millisecond) // the flusher ends just after the write; polled with a deadline
	}
	c.queue = append(c.queue, frames[0])
	c.queued += len(frames[0])
	c.queuedAt.Store(time.Now().Add(-500 * time.Millisecond).UnixNano()) // it waited half a second
	c.startFlushLocked()
	c.mu.Unlock()
	c.send(frames[1])
	c.send(frames[2])

	_ = r.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := r.ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.Split(msg)
	if err != nil || len(got) != 3 {
		t.Fatalf("one message with %d frames (%v), want all 3: %s", len(got), err, msg)
	}
}
