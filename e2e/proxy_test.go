package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy sits between SDKs and a server so a test can cut connections or
// refuse new ones, the way a bad network would.
type proxy struct {
	l       net.Listener
	target  func() string
	mu      sync.Mutex
	refuse  bool
	pairs   map[net.Conn]net.Conn
	wg      sync.WaitGroup
	accepts int
}

func startProxy(t testing.TB, target func() string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target, pairs: make(map[net.Conn]net.Conn)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "ws://" + p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepts++
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target())
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.pairs[c] = up
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// cut closes every open connection; refuse decides whether new ones are let through.
func (p *proxy) cut(refuse bool) {
	p.mu.Lock()
	p.refuse = refuse
	pairs := p.pairs
	p.pairs = make(map[net.Conn]net.Conn)
	p.mu.Unlock()
	for a, b := range pairs {
		a.Close()
		b.Close()
	}
}

func (p *proxy) allow() {
	p.mu.Lock()
	p.refuse = false
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.l.Close()
	p.cut(true)
	p.wg.Wait()
}
