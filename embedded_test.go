package main

import "testing"

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
