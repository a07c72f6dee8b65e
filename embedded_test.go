package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/ui"
)

func TestEmbeddedServer(t *testing.T) {
	e, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !listening(e.Addr) {
		t.Fatal("embedded server not listening")
	}
	e.Stop()
	if listening(e.Addr) {
		t.Fatal("still listening after Stop")
	}
}

func TestHostPort(t *testing.T) {
	if hostPort("ws://127.0.0.1:9470/ws") != "127.0.0.1:9470" || hostPort("10.0.0.1:5") != "10.0.0.1:5" {
		t.Fatal("hostPort")
	}
}

// The client's build step: a server is embedded only for the default server
// (or the demo) when nothing listens there; the demo's peers run on it.
func TestBuildClientEmbedsOnlyWhenAskedFor(t *testing.T) {
	c, err := buildClient(ui.Settings{Server: "ws://127.0.0.1:1", App: "x", Account: "a"})
	if err != nil || c.emb != nil || c.demo != nil {
		t.Fatalf("a named server: emb %v demo %v err %v", c.emb, c.demo, err)
	}
	c.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err = buildClient(ui.Settings{Server: "ws://" + addr, ServerSet: true, App: "x", Account: "a", Demo: true, DemoTick: time.Hour})
	if err != nil || c.emb == nil || c.emb.Addr != addr || c.demo == nil || c.Options.Server != "ws://"+addr ||
		!strings.Contains(c.Options.Embedded, "embedded server on ws://"+addr) {
		t.Fatalf("demo: emb %+v opts %+v err %v", c.emb, c.Options, err)
	}
	c.Close()
	if listening(addr) {
		t.Fatal("the embedded server outlived Close")
	}
}
