package bench

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xinling/xinling/sdk/wire"
)

// rawClient speaks sdk/wire directly over a gorilla WebSocket: no SDK
// engine, no callback goroutine, so that many of them cost little.
type rawClient struct {
	ws     *websocket.Conn
	wmu    sync.Mutex // one writer at a time: the owner and the heartbeat
	nextID uint64
}

// write sends one WebSocket message.
func (c *rawClient) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

var pingFrame = wire.MustEncode(0, wire.OpPing, wire.PingReq{})

// heartbeat pings every client every interval until stop is closed, as the
// SDK does: the server closes a logged-in connection silent for 3 × its
// heartbeat (15 s by default). Pongs come back to the readers.
func heartbeat(clients func() []*rawClient, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for _, c := range clients() {
				_ = c.write(pingFrame)
			}
		}
	}
}

var rawDialer = websocket.Dialer{
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   4096,
	WriteBufferSize:  4096,
}

func dialRaw(url string) (*rawClient, error) {
	ws, _, err := rawDialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	return &rawClient{ws: ws}, nil
}

// send writes one request frame and returns its id.
func (c *rawClient) send(op string, d any) (uint64, error) {
	c.nextID++
	b, err := wire.Encode(c.nextID, op, d)
	if err != nil {
		return 0, err
	}
	return c.nextID, c.write(b)
}

// call sends a request and reads until its answer, skipping pushes. Only
// for use while no other goroutine reads the socket.
func (c *rawClient) call(op string, d any) (*wire.Frame, error) {
	id, err := c.send(op, d)
	if err != nil {
		return nil, err
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer c.ws.SetReadDeadline(time.Time{})
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		frames, err := wire.Split(msg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		for i := range frames {
			f := &frames[i]
			if f.Op == wire.OpResult && f.ID == id {
				if f.Err != nil {
					return nil, fmt.Errorf("%s: %w", op, f.Err)
				}
				return f, nil
			}
		}
	}
}

func (c *rawClient) login(app, account string) error {
	_, err := c.call(wire.OpLogin, wire.LoginReq{Proto: wire.Version, App: app, Account: account, Token: "_no_need_token"})
	return err
}

func (c *rawClient) close() { _ = c.ws.Close() }

// chMsg is what the fan-out readers need of a ch.msg push.
type chMsg struct {
	off uint64
	n   uint64 // the message text, a decimal number
}

// Fast parsing of the frames the server writes for a channel message:
//
//	{"op":"ch.msg","off":N,"d":{"ch":"C","from":"A","uid":U,"msg":"M"}}
//
// parseLine recognises exactly that shape (the one encoding/json produces
// for wire.Frame and wire.ChannelMsg) with a numeric message, and reports
// false for anything else, which the caller then hands to wire.Split.
var (
	fastPrefix = []byte(`{"op":"ch.msg","off":`)
	fastMsg    = []byte(`,"msg":"`)
	fastSuffix = []byte(`"}}`)
)

func parseLine(line []byte) (chMsg, bool) {
	var m chMsg
	if !bytes.HasPrefix(line, fastPrefix) || !bytes.HasSuffix(line, fastSuffix) {
		return m, false
	}
	rest := line[len(fastPrefix):]
	i := bytes.IndexByte(rest, ',')
	if i <= 0 {
		return m, false
	}
	off, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	if err != nil {
		return m, false
	}
	j := bytes.LastIndex(rest, fastMsg)
	if j < 0 {
		return m, false
	}
	num := rest[j+len(fastMsg) : len(rest)-len(fastSuffix)]
	n, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil {
		return m, false
	}
	m.off, m.n = off, n
	return m, true
}

// parseFrame extracts a ch.msg push from a frame decoded by wire.Split.
func parseFrame(f *wire.Frame) (chMsg, error) {
	var d wire.ChannelMsg
	if err := f.Decode(&d); err != nil {
		return chMsg{}, err
	}
	n, err := strconv.ParseUint(d.Msg, 10, 64)
	if err != nil {
		return chMsg{}, fmt.Errorf("ch.msg %q is not a benchmark message", d.Msg)
	}
	return chMsg{off: f.Off, n: n}, nil
}
