package sdk

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xinling/xinling/sdk/wire"
)

// wsPair is a client WebSocket and the server's end of it.
func wsPair(t *testing.T) (client, server *websocket.Conn) {
	t.Helper()
	got := make(chan *websocket.Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- ws
	}))
	t.Cleanup(hs.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	server = <-got
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestWriterPacksQueuedFrames: frames queued while the writer is busy go
// out in one message, up to wire.MaxFrameBytes; then a close.
func TestWriterPacksQueuedFrames(t *testing.T) {
	cws, sws := wsPair(t)
	cn := &conn{ws: cws, out: newQueue[[]byte](), done: make(chan struct{})}
	big := bytes.Repeat([]byte("x"), wire.MaxFrameBytes-4) // too big to join the three before it
	for _, f := range [][]byte{[]byte("a"), []byte("b"), []byte("c"), big, []byte("dddd"), nil} {
		cn.out.push(f)
	}
	done := make(chan struct{})
	go func() { defer close(done); cn.writeLoop() }()
	defer func() { <-done }()
	_ = sws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"a\nb\nc", string(big), "dddd"} {
		_, msg, err := sws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(msg) != want {
			t.Fatalf("got a message of %d bytes (%.20q…), want %d (%.20q…)", len(msg), msg, len(want), want)
		}
	}
	if _, _, err := sws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("after the frames: %v, want a normal close", err)
	}
}
